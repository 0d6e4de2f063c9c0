package main

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/machine-cli/machine/drivers/generic"
)

// TestDockerMachineEnvVars: each environment variable that docker-machine
// read for create and its global flags (commands/create.go,
// cmd/docker-machine/machine.go and the generic driver's flags in
// docker/machine) sets the same flag here. List variables are split on
// commas, as docker-machine's.
func TestDockerMachineEnvVars(t *testing.T) {
	genericFlags, err := generic.New().GetCreateFlags(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		env, value, flag string
		want             any
	}{
		{"MACHINE_STORAGE_PATH", "/srv/machines", "storage-path", "/srv/machines"},
		{"MACHINE_DEBUG", "1", "debug", true},
		{"MACHINE_NATIVE_SSH", "1", "native-ssh", true},
		{"MACHINE_GITHUB_API_TOKEN", "gh-token", "github-api-token", "gh-token"},
		{"MACHINE_BUGSNAG_API_TOKEN", "bs-token", "bugsnag-api-token", "bs-token"},
		{"MACHINE_DRIVER", "generic", "driver", "generic"},
		{"MACHINE_DOCKER_INSTALL_URL", "https://get.example.test", "engine-install-url", "https://get.example.test"},
		{"ENGINE_REGISTRY_MIRROR", "https://a.example.test, https://b.example.test", "engine-registry-mirror", []string{"https://a.example.test", "https://b.example.test"}},
		{"GENERIC_IP_ADDRESS", "10.0.0.5", "generic-ip-address", "10.0.0.5"},
		{"GENERIC_SSH_USER", "ubuntu", "generic-ssh-user", "ubuntu"},
		{"GENERIC_SSH_KEY", "/keys/id_ed25519", "generic-ssh-key", "/keys/id_ed25519"},
		{"GENERIC_SSH_PORT", "2222", "generic-ssh-port", 2222},
		{"GENERIC_ENGINE_PORT", "2377", "generic-engine-port", 2377},
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(tc.env, tc.value)
			var got any
			app := appWithCreate(&cliEnv{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}, genericFlags, func(c *cli.Context) error {
				opts := driverOptions(c, genericFlags)
				switch {
				case tc.flag == "engine-registry-mirror":
					got = listFlag(c, tc.flag, envRegistryMirror)
				case tc.flag == "debug" || tc.flag == "native-ssh":
					got = c.Bool(tc.flag)
				case opts[tc.flag] != nil:
					got = opts[tc.flag]
				default:
					got = c.String(tc.flag)
				}
				return nil
			})
			if err := app.Run([]string{"machine", "create", "n1"}); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("with %s=%q, --%s = %#v, want %#v", tc.env, tc.value, tc.flag, got, tc.want)
			}
		})
	}
}

// TestSwarmImageVariableIgnored: docker-machine's MACHINE_SWARM_IMAGE only
// mattered with its standalone-swarm flags; left in an environment it does
// not turn a create into the answer those flags get.
func TestSwarmImageVariableIgnored(t *testing.T) {
	t.Setenv("MACHINE_SWARM_IMAGE", "swarm:latest")
	var err error
	ran := false
	app := appWithCreate(&cliEnv{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}, nil, func(c *cli.Context) error {
		ran, err = true, checkLegacySwarm(c)
		return nil
	})
	if runErr := app.Run([]string{"machine", "create", "n1"}); runErr != nil || !ran {
		t.Fatalf("create did not run: %v", runErr)
	}
	if err != nil {
		t.Errorf("create with MACHINE_SWARM_IMAGE set: %v", err)
	}
}

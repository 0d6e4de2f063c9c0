package main

import (
	"bytes"
	"slices"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/machine-cli/machine/drivers"
)

func TestScanDriver(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  string
		want string
		ok   bool
	}{
		{"short flag", []string{"machine", "create", "-d", "generic", "n1"}, "", "generic", true},
		{"long flag with =", []string{"machine", "-s", "/x", "create", "--driver=azure", "n1"}, "", "azure", true},
		{"short flag with =", []string{"machine", "create", "-d=generic", "n1"}, "", "generic", true},
		{"from environment", []string{"machine", "create", "n1"}, "generic", "generic", true},
		{"flag wins over environment", []string{"machine", "create", "-d", "azure", "n1"}, "generic", "azure", true},
		{"not create", []string{"machine", "ls", "-d", "generic"}, "", "", false},
		{"no driver", []string{"machine", "create", "n1"}, "", "", false},
		{"after --", []string{"machine", "create", "--", "-d", "generic"}, "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("MACHINE_DRIVER", tc.env)
			got, ok := scanDriver(tc.args)
			if got != tc.want || ok != tc.ok {
				t.Errorf("scanDriver(%q) = %q, %v; want %q, %v", tc.args, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestGlobalArgs(t *testing.T) {
	got := globalArgs([]string{"machine", "-s", "/x", "--debug", "create", "-d", "generic", "n1"})
	want := []string{"machine", "-s", "/x", "--debug"}
	if !slices.Equal(got, want) {
		t.Errorf("globalArgs = %q, want %q", got, want)
	}
}

func TestReadHostKey(t *testing.T) {
	if got, err := readHostKey("ssh-ed25519 AAAA"); err != nil || got != "ssh-ed25519 AAAA" {
		t.Errorf("inline key: %q, %v", got, err)
	}
	if _, err := readHostKey("/nonexistent/hostkey.pub"); err == nil {
		t.Error("missing file: no error")
	}
}

// TestListFlags: a repeatable flag takes each value whole (commas and all),
// as docker-machine's; a driver's list flag given by its environment
// variable is split on commas.
func TestListFlags(t *testing.T) {
	flags := []drivers.Flag{{Name: "fake-list", Kind: drivers.FlagStringSlice, EnvVar: "FAKE_LIST", DefaultSlice: []string{"a", "b"}}}
	tests := []struct {
		name      string
		args      []string
		env       string
		engineEnv []string
		list      []string
	}{
		{"defaults", nil, "", nil, []string{"a", "b"}},
		{"commas kept", []string{"--engine-env", "NO_PROXY=localhost,127.0.0.1", "--fake-list", "x,y"}, "", []string{"NO_PROXY=localhost,127.0.0.1"}, []string{"x,y"}},
		{"repeated", []string{"--engine-env", "A=1", "--engine-env", "B=2", "--fake-list", "x", "--fake-list", "y"}, "", []string{"A=1", "B=2"}, []string{"x", "y"}},
		{"environment split", nil, "p, q", nil, []string{"p", "q"}},
		{"flag over environment", []string{"--fake-list", "x"}, "p,q", nil, []string{"x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("FAKE_LIST", tc.env)
			var stdout, stderr bytes.Buffer
			var engineEnv []string
			var opts drivers.Options
			app := appWithCreate(&cliEnv{stdout: &stdout, stderr: &stderr}, flags, func(c *cli.Context) error {
				engineEnv = c.StringSlice("engine-env")
				opts = driverOptions(c, flags)
				return nil
			})
			if err := app.Run(append(append([]string{"machine", "create"}, tc.args...), "n1")); err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			if !slices.Equal(engineEnv, tc.engineEnv) {
				t.Errorf("engine-env = %q, want %q", engineEnv, tc.engineEnv)
			}
			if got, _ := opts["fake-list"].([]string); !slices.Equal(got, tc.list) {
				t.Errorf("fake-list = %q, want %q", opts["fake-list"], tc.list)
			}
		})
	}
}

// appWithCreate is the app with flags added to create, as a driver's
// flags are, and create's action replaced by action.
func appWithCreate(env *cliEnv, flags []drivers.Flag, action cli.ActionFunc) *cli.App {
	app := newApp(env)
	for _, cmd := range app.Commands {
		if cmd.Name != "create" {
			continue
		}
		for _, f := range flags {
			cmd.Flags = append(cmd.Flags, cliFlag(f))
		}
		cmd.Action = action
	}
	return app
}

package provision

import (
	"strings"
	"testing"

	"github.com/machine-cli/machine/libmachine/host"
)

// TestRenderBoot2DockerProfile pins /var/lib/boot2docker/profile, the
// variables boot2docker's init script reads, one golden file per case.
func TestRenderBoot2DockerProfile(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{name: "default", opts: Options{MachineName: "b1", DriverName: "virtualbox"}},
		{name: "all-options", opts: Options{
			MachineName: "b1", DriverName: "virtualbox", EnginePort: 3376,
			Engine: &host.EngineOptions{
				Labels:           []string{"env=prod", "team=a"},
				StorageDriver:    "overlay2",
				InsecureRegistry: []string{"10.0.0.5:5000"},
				RegistryMirror:   []string{"https://mirror.example"},
				Dns:              []string{"1.1.1.1"},
				GraphDir:         "/mnt/sda1/docker",
				LogLevel:         "debug",
				Ipv6:             true,
				ArbitraryFlags:   []string{"log-opt=max-size=10m", "--experimental"},
				Env:              []string{"HTTP_PROXY=http://proxy:3128", "GREETING=it's a b"},
			},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RenderBoot2DockerProfile(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "boot2docker-profile-"+tc.name, got)
		})
	}
}

// TestRenderBoot2DockerProfileRefuses: what boot2docker's init script
// would split or expand is refused, naming the option.
func TestRenderBoot2DockerProfileRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		engine host.EngineOptions
		want   string
	}{
		{"label with a blank", host.EngineOptions{Labels: []string{"team=a b"}}, `engine option "team=a b": boot2docker splits its options on blanks`},
		{"quote in a flag", host.EngineOptions{ArbitraryFlags: []string{"x='y'"}}, `engine option "--x='y'"`},
		{"dollar", host.EngineOptions{InsecureRegistry: []string{"$HOME"}}, `engine option "$HOME"`},
		{"empty flag", host.EngineOptions{ArbitraryFlags: []string{"--"}}, "an engine option (--engine-opt) is empty"},
		{"bad env", host.EngineOptions{Env: []string{"NOEQUALS"}}, `engine env "NOEQUALS": want KEY=VALUE`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := RenderBoot2DockerProfile(Options{MachineName: "b1", Engine: &tc.engine})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestCheckBoot2DockerInstall: only the ISO's Docker is accepted.
func TestCheckBoot2DockerInstall(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"", true}, {"none", true}, {DefaultInstallURL, true},
		{"distro", false}, {"https://get.example.test", false},
	} {
		err := checkBoot2DockerInstall(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("checkBoot2DockerInstall(%q) = %v, want ok %v", tc.url, err, tc.ok)
		}
	}
}

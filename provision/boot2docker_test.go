package provision_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/machine-cli/machine/libmachine/host"
	"github.com/machine-cli/machine/provision"
	"github.com/machine-cli/machine/provision/provisiontest"
)

// boot2dockerHost is boot2docker 19.03.12 as its user docker sees it: no
// systemd units, the ISO's dockerd.
func boot2dockerHost(t *testing.T) fakeHost {
	rel, err := os.ReadFile(filepath.Join("testdata", "os-release", "boot2docker-19.03.12"))
	if err != nil {
		t.Fatal(err)
	}
	return fakeHost{uid: "1000", hostname: "boot2docker", osRelease: string(rel), hosts: "127.0.0.1 localhost\n", dockerd: "/usr/local/bin/dockerd"}
}

// boot2dockerStep names a call, with boot2docker's restart.
func boot2dockerStep(c provisiontest.Call) string {
	if strings.Contains(c.Cmd, "/etc/init.d/docker restart") {
		return "restart docker (init.d)"
	}
	return step(c)
}

// TestProvisionBoot2Docker: on boot2docker, provisioning writes the
// certificates and profile under /var/lib/boot2docker (no drop-in) and
// restarts dockerd through its init script, with no install and no
// systemd; an install method other than the ISO's is refused before
// anything changes.
func TestProvisionBoot2Docker(t *testing.T) {
	for _, tc := range []struct {
		name, installURL string
		want             []string
		wantErr          string
	}{
		{name: "default install URL", installURL: provision.DefaultInstallURL, want: []string{"probe host", "back up", "set hostname",
			"write " + provision.Boot2DockerCACertPath, "write " + provision.Boot2DockerServerCertPath, "write " + provision.Boot2DockerServerKeyPath,
			"write " + provision.Boot2DockerProfilePath, "restart docker (init.d)"}},
		{name: "none", installURL: "none", want: []string{"probe host", "back up", "set hostname",
			"write " + provision.Boot2DockerCACertPath, "write " + provision.Boot2DockerServerCertPath, "write " + provision.Boot2DockerServerKeyPath,
			"write " + provision.Boot2DockerProfilePath, "restart docker (init.d)"}},
		{name: "distro", installURL: "distro", want: []string{"probe host"},
			wantErr: `provision n1: detect os: install URL "distro": boot2docker comes with Docker in its ISO and has no package manager`},
		{name: "a script", installURL: "https://get.example.test", want: []string{"probe host"},
			wantErr: `install URL "https://get.example.test": boot2docker comes with Docker in its ISO`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRunner(boot2dockerHost(t))
			opts, _ := options(func(context.Context) error { return nil })
			opts.Engine = &host.EngineOptions{InstallURL: tc.installURL, Labels: []string{"env=test"}}
			err := provision.Provision(t.Context(), r, opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range r.Calls() {
				got = append(got, boot2dockerStep(c))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			for _, c := range r.Calls() {
				if c.Method == "WriteFile" && c.Path == provision.Boot2DockerProfilePath {
					want, _ := provision.RenderBoot2DockerProfile(opts)
					if string(c.Data) != want {
						t.Errorf("profile written:\n%s\nwant:\n%s", c.Data, want)
					}
				}
				if strings.Contains(c.Cmd, "set hostname") || strings.Contains(c.Cmd, "sethostname") {
					if !strings.Contains(c.Cmd, "/var/lib/boot2docker/etc/hostname") {
						t.Errorf("the hostname is not kept for the next boot: %s", c.Cmd)
					}
				}
			}
		})
	}
}

// TestUpgradeBoot2Docker: upgrade is refused in one line, after only the
// host probe.
func TestUpgradeBoot2Docker(t *testing.T) {
	r := newRunner(boot2dockerHost(t))
	opts, _ := options(func(context.Context) error { return nil })
	opts.Engine = &host.EngineOptions{InstallURL: provision.DefaultInstallURL}
	_, err := provision.Upgrade(t.Context(), r, opts)
	if !errors.Is(err, provision.ErrBoot2DockerUpgrade) || err.Error() != provision.ErrBoot2DockerUpgrade.Error() {
		t.Fatalf("err = %v, want ErrBoot2DockerUpgrade alone", err)
	}
	if n := len(r.Calls()); n != 1 {
		t.Errorf("%d calls, want the probe only", n)
	}
}

package provision_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/machine-cli/machine/provision"
	"github.com/machine-cli/machine/provision/provisiontest"
)

// TestProvisionFamilies provisions a fresh host of each family with the
// install URL "distro": the family's package manager installs Docker and
// the engine port is opened in the family's firewall; the RHEL family
// refuses "distro" before anything runs on the host.
func TestProvisionFamilies(t *testing.T) {
	for _, tc := range []struct {
		os        string
		install   string // in the install command
		firewall  string // in the start command
		installed bool   // Docker is preinstalled
		wantErr   string
	}{
		{os: "debian-13", install: "apt-get install -y -q -o DPkg::Lock::Timeout=120 $pkgs", firewall: "ufw status"},
		{os: "ubuntu-22.04", install: "apt-get install -y -q -o DPkg::Lock::Timeout=120 $pkgs", firewall: "firewall-cmd --state"},
		{os: "fedora-42", install: "dnf install -y moby-engine", firewall: "firewall-cmd --state"},
		{os: "opensuse-tumbleweed", install: "zypper --non-interactive install docker", firewall: "SuSEfirewall2"},
		{os: "sles-15-sp6", install: "zypper --non-interactive install docker", firewall: "firewall-cmd --state"},
		{os: "rocky-9.5", wantErr: `provision n1: detect os: Rocky Linux 9.5 (Blue Onyx) has no Docker in its own repositories (podman-docker is Podman, not Docker), so the install URL "distro" cannot install it: use Docker's install script`},
		{os: "centos-stream-9", installed: true, wantErr: `provision n1: detect os: CentOS Stream 9 has no Docker in its own repositories`},
	} {
		t.Run(tc.os, func(t *testing.T) {
			rel, err := os.ReadFile(filepath.Join("testdata", "os-release", tc.os))
			if err != nil {
				t.Fatal(err)
			}
			h := fakeHost{uid: "0", hostname: "n1", osRelease: string(rel), hosts: "127.0.1.1 n1\n"}
			if tc.installed {
				h.dockerd, h.units = "/usr/bin/dockerd", allUnits
			}
			r := newRunner(h)
			h.dockerd, h.units = "/usr/bin/dockerd", allUnits
			r.On("@@machine:dockerd", provisiontest.Response{Stdout: h.dockerProbe()})
			opts, _ := options(func(context.Context) error { return nil })
			err = provision.Provision(t.Context(), r, opts)
			calls := r.Calls()
			if tc.wantErr != "" {
				var se *provision.StepError
				if !errors.As(err, &se) || se.BackedUp || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want a StepError %q", err, tc.wantErr)
				}
				if len(calls) != 1 {
					t.Errorf("%d calls after the probe, want none: %q", len(calls)-1, steps(r)[1:])
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(script(calls[1].Cmd), tc.install) {
				t.Errorf("install command:\n%s\nwant it to contain %q", script(calls[1].Cmd), tc.install)
			}
			start := calls[len(calls)-1].Cmd
			if !strings.Contains(start, "systemctl") || !strings.Contains(start, tc.firewall) {
				t.Errorf("start command:\n%s\nwant it to contain %q", start, tc.firewall)
			}
		})
	}
}

// TestProvisionPackageMissing: when the family's package manager finds no
// Docker package, the error leads with why (the script's last line of
// stderr), as it does on SLES without the Containers module.
func TestProvisionPackageMissing(t *testing.T) {
	rel, err := os.ReadFile(filepath.Join("testdata", "os-release", "sles-15-sp6"))
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(fakeHost{uid: "0", hostname: "n1", osRelease: string(rel), hosts: "127.0.1.1 n1\n"})
	zypperErr, err := os.ReadFile(filepath.Join("testdata", "recorded", "zypper-install-docker-missing.stderr"))
	if err != nil {
		t.Fatal(err)
	}
	last := "the docker package is in none of the host's repositories: add SLES's Containers module first (SUSEConnect -p sle-module-containers/15.6/x86_64)"
	r.On("zypper --non-interactive install docker", provisiontest.Response{Status: 104, Stderr: string(zypperErr) + last + "\n"})
	opts, _ := options(func(context.Context) error { return nil })
	err = provision.Provision(t.Context(), r, opts)
	want := "provision n1: install docker: installing Docker from the OS's packages (zypper) failed (exit status 104): " + last + "\n  No provider of 'docker' found."
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}

// TestProvisionUnsupportedFirewall: an active SuSEfirewall2 fails the start
// with what to do, not as a failed dockerd.
func TestProvisionUnsupportedFirewall(t *testing.T) {
	rel, err := os.ReadFile(filepath.Join("testdata", "os-release", "opensuse-leap-15.6"))
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(fakeHost{uid: "0", hostname: "n1", osRelease: string(rel), hosts: "127.0.1.1 n1\n", dockerd: "/usr/bin/dockerd", units: allUnits})
	r.On("systemctl restart docker", provisiontest.Response{Status: 3, Stdout: "SuSEfirewall2\n"})
	opts, _ := options(func(context.Context) error { return nil })
	err = provision.Provision(t.Context(), r, opts)
	var se *provision.StepError
	want := "provision n1: start docker: the host's firewall is SuSEfirewall2, which machine cannot open ports in (it opens 2376/tcp in ufw or firewalld): switch the host to firewalld or stop SuSEfirewall2"
	if !errors.As(err, &se) || !se.BackedUp || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}

// TestOpenSwarmPorts: swarm ports are opened in the firewall of the host's
// family, which OpenSwarmPorts reads from its os-release first.
func TestOpenSwarmPorts(t *testing.T) {
	for _, tc := range []struct {
		os       string
		answer   provisiontest.Response // to the firewall script
		want     string
		notIn    string // a firewall the script must not look for
		wantErr  string
		noScript bool // the firewall script must not run
	}{
		{os: "debian-13", answer: provisiontest.Response{Stdout: "ufw\n"}, want: "ufw"},
		{os: "fedora-42", answer: provisiontest.Response{Stdout: "firewalld\n"}, want: "firewalld", notIn: "ufw"},
		{os: "rocky-9.5", answer: provisiontest.Response{}, want: "", notIn: "ufw"},
		{os: "sles-15-sp6", answer: provisiontest.Response{Stdout: "SuSEfirewall2\n", Status: 3},
			wantErr: "open swarm ports: the host's firewall is SuSEfirewall2, which machine cannot open ports in (it opens 2377/tcp, 7946/tcp, 7946/udp, 4789/udp in ufw or firewalld): switch the host to firewalld or stop SuSEfirewall2"},
		{os: "arch", noScript: true, wantErr: "open swarm ports: unsupported OS Arch Linux (ID=arch); supported: debian"},
	} {
		t.Run(tc.os, func(t *testing.T) {
			rel, err := os.ReadFile(filepath.Join("testdata", "os-release", tc.os))
			if err != nil {
				t.Fatal(err)
			}
			r := &provisiontest.Runner{}
			r.On("os-release", provisiontest.Response{Stdout: string(rel)})
			r.On("2377/tcp", tc.answer)
			fw, err := provision.OpenSwarmPorts(t.Context(), r)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil || fw != tc.want {
				t.Fatalf("OpenSwarmPorts = %q, %v; want %q", fw, err, tc.want)
			}
			calls := r.Calls()
			if tc.noScript {
				if len(calls) != 1 {
					t.Errorf("%d calls, want only the os-release read", len(calls))
				}
				return
			}
			if len(calls) != 2 || !strings.Contains(calls[1].Cmd, "for p in 2377/tcp 7946/tcp 7946/udp 4789/udp") {
				t.Fatalf("calls: %q", calls)
			}
			if tc.notIn != "" && strings.Contains(calls[1].Cmd, tc.notIn) {
				t.Errorf("the %s firewall script looks for %s:\n%s", tc.os, tc.notIn, calls[1].Cmd)
			}
		})
	}
}

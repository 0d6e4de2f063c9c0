package provision

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// familyOf selects the family of testdata/os-release/NAME.
func familyOf(t *testing.T, name string) OSProvisioner {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "os-release", name))
	if err != nil {
		t.Fatal(err)
	}
	rel, err := ParseOSRelease(b)
	if err != nil {
		t.Fatal(err)
	}
	f, err := SelectOS(rel)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestFamilyScripts pins the exact commands each family runs: its install
// and upgrade scripts for "distro" and its firewall script for the engine
// port, one golden file per OS.
func TestFamilyScripts(t *testing.T) {
	for _, name := range []string{"debian-13", "rocky-9.5", "fedora-42", "opensuse-leap-15.6", "sles-15-sp6", "boot2docker-19.03.12"} {
		t.Run(name, func(t *testing.T) {
			f := familyOf(t, name)
			got := fmt.Sprintf("# family %s; package manager %s; Docker packages %s; firewalls %s\n## install\n%s\n## upgrade\n%s\n## firewall 2376/tcp\n%s\n",
				f.Family(), f.PackageManager(), strings.Join(f.DockerPackages(), " "), strings.Join(f.Firewalls(), " "),
				f.PackageInstallScript(), f.PackageUpgradeScript(), firewallScript(f.Firewalls(), []string{"2376/tcp"}))
			golden(t, "scripts-"+name, got)
		})
	}
}

// TestFamilyFirewallsKnown: every firewall a family names is one
// firewallScript knows.
func TestFamilyFirewallsKnown(t *testing.T) {
	for _, f := range families {
		for _, name := range f.Firewalls() {
			if _, ok := firewalls[name]; !ok {
				t.Errorf("family %s names firewall %q, which firewalls does not define", f.Family(), name)
			}
		}
	}
}

// TestPackageScripts runs each family's install and upgrade scripts under
// stand-ins of their package managers that answer as the real ones did
// (testdata/recorded).
func TestPackageScripts(t *testing.T) {
	uname := standIn{"-m": "echo x86_64"}
	tests := []struct {
		name    string
		os      string
		upgrade bool
		cmds    map[string]standIn
		status  int
		calls   []string
		last    string // the last line of stderr, when the script fails
	}{
		{
			name: "debian 13 installs docker.io and docker-cli", os: "debian-13",
			cmds: map[string]standIn{"apt-get": {}, "apt-cache": {"show docker-cli": replay(t, "apt-cache-show-docker-cli-trixie")}},
			calls: []string{"apt-get update -q", "apt-cache show docker-cli",
				"apt-get install -y -q -o DPkg::Lock::Timeout=120 docker.io docker-cli"},
		},
		{
			name: "debian 12 has no docker-cli package", os: "debian-12",
			cmds:  map[string]standIn{"apt-get": {}, "apt-cache": {"show docker-cli": replay(t, "apt-cache-show-docker-cli-bookworm")}},
			calls: []string{"apt-get update -q", "apt-cache show docker-cli", "apt-get install -y -q -o DPkg::Lock::Timeout=120 docker.io"},
		},
		{
			name: "debian 13 upgrade", os: "debian-13", upgrade: true,
			cmds: map[string]standIn{"apt-get": {}, "apt-cache": {"show docker-cli": replay(t, "apt-cache-show-docker-cli-trixie")}},
			calls: []string{"apt-get update -q", "apt-cache show docker-cli",
				"apt-get install -y -q -o DPkg::Lock::Timeout=120 --only-upgrade docker.io docker-cli"},
		},
		{
			name: "debian 12 upgrade", os: "debian-12", upgrade: true,
			cmds:  map[string]standIn{"apt-get": {}, "apt-cache": {"show docker-cli": replay(t, "apt-cache-show-docker-cli-bookworm")}},
			calls: []string{"apt-get update -q", "apt-cache show docker-cli", "apt-get install -y -q -o DPkg::Lock::Timeout=120 --only-upgrade docker.io"},
		},
		{
			name: "fedora installs moby-engine", os: "fedora-42",
			cmds:  map[string]standIn{"dnf": {}},
			calls: []string{"dnf install -y moby-engine"},
		},
		{
			name: "fedora without moby-engine in its repositories", os: "fedora-41-container",
			cmds:   map[string]standIn{"dnf": {"install*": replay(t, "dnf-install-moby-engine-missing")}},
			calls:  []string{"dnf install -y moby-engine"},
			status: 1, last: "Error: Unable to find a match: moby-engine",
		},
		{
			name: "fedora upgrade", os: "fedora-42", upgrade: true,
			cmds:  map[string]standIn{"dnf": {}},
			calls: []string{"dnf upgrade -y --refresh moby-engine"},
		},
		{
			name: "fedora upgrade without moby-engine", os: "fedora-42", upgrade: true,
			cmds:   map[string]standIn{"dnf": {"upgrade*": replay(t, "dnf-upgrade-moby-engine-missing")}},
			calls:  []string{"dnf upgrade -y --refresh moby-engine"},
			status: 1, last: "Error: No packages marked for upgrade.",
		},
		{
			name: "rhel refuses before running anything", os: "rocky-9.5",
			cmds:   map[string]standIn{"dnf": {}},
			status: 1, last: `Rocky Linux 9.5 (Blue Onyx) has no Docker in its own repositories (podman-docker is Podman, not Docker), so the install URL "distro" cannot install it: use Docker's install script, the default install URL (https://get.docker.com), which adds Docker's repository`,
		},
		{
			name: "rhel upgrade refuses too", os: "almalinux-9.6", upgrade: true,
			cmds:   map[string]standIn{"dnf": {}},
			status: 1, last: `AlmaLinux 9.6 (Sage Margay) has no Docker in its own repositories (podman-docker is Podman, not Docker), so the install URL "distro" cannot install it: install docker-ce from Docker's repository first (dnf install -y dnf-plugins-core && dnf config-manager --add-repo https://download.docker.com/linux/rhel/docker-ce.repo && dnf install -y docker-ce docker-ce-cli containerd.io), then create the machine again; Docker's install script does not support almalinux`,
		},
		{
			name: "opensuse installs docker, waiting for zypper's lock", os: "opensuse-leap-15.6",
			cmds:  map[string]standIn{"zypper": {"*": `echo "lock timeout $ZYPP_LOCK_TIMEOUT" >> "$LOG"`}},
			calls: []string{"zypper --non-interactive install docker", "lock timeout 120"},
		},
		{
			name: "opensuse without docker in its repositories", os: "opensuse-tumbleweed",
			cmds:   map[string]standIn{"zypper": {"*": replay(t, "zypper-install-docker-missing")}},
			calls:  []string{"zypper --non-interactive install docker"},
			status: 104, last: "the docker package is in none of the host's repositories (zypper repos lists them)",
		},
		{
			name: "sles without the Containers module", os: "sles-15-sp6",
			cmds:   map[string]standIn{"zypper": {"*": replay(t, "zypper-install-docker-missing")}, "uname": uname},
			calls:  []string{"zypper --non-interactive install docker", "uname -m"},
			status: 104, last: "the docker package is in none of the host's repositories: add SLES's Containers module first (SUSEConnect -p sle-module-containers/15.6/x86_64)",
		},
		{
			name: "sles upgrade", os: "sles-15-sp6", upgrade: true,
			cmds:  map[string]standIn{"zypper": {}, "uname": uname},
			calls: []string{"zypper --non-interactive update docker"},
		},
		{
			name: "sles upgrade without the Containers module", os: "sles-15-sp6", upgrade: true,
			cmds:   map[string]standIn{"zypper": {"*": replay(t, "zypper-update-docker-missing")}, "uname": uname},
			calls:  []string{"zypper --non-interactive update docker", "uname -m"},
			status: 104, last: "the docker package is in none of the host's repositories: add SLES's Containers module first (SUSEConnect -p sle-module-containers/15.6/x86_64)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := familyOf(t, tc.os)
			script := f.PackageInstallScript()
			if tc.upgrade {
				script = f.PackageUpgradeScript()
			}
			r := runScript(t, script, tc.cmds)
			if r.status != tc.status {
				t.Errorf("exit status %d, want %d\nstderr:\n%s", r.status, tc.status, r.stderr)
			}
			if !slices.Equal(r.calls, tc.calls) {
				t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(r.calls, "\n"), strings.Join(tc.calls, "\n"))
			}
			if tc.status != 0 {
				if got := lastLine(r.stderr); got != tc.last {
					t.Errorf("last line of stderr:\n%s\nwant:\n%s", got, tc.last)
				}
			}
		})
	}
}

package provision_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/machine-cli/machine/provision"
)

// readRelease parses testdata/os-release/NAME, a distribution's own
// os-release file (see testdata/os-release/SOURCES).
func readRelease(t *testing.T, name string) provision.OSRelease {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "os-release", name))
	if err != nil {
		t.Fatal(err)
	}
	rel, err := provision.ParseOSRelease(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return rel
}

const supported = "supported: debian, ubuntu, rhel, centos, rocky, almalinux, ol, fedora, opensuse-leap, opensuse-tumbleweed, sles, boot2docker, and OSes whose ID_LIKE names debian, rhel, fedora, suse, boot2docker"

// TestSelectOSReleases selects the family of each distribution from its
// real os-release file.
func TestSelectOSReleases(t *testing.T) {
	for _, tc := range []struct {
		file    string
		family  string
		pm      string
		wantErr string
	}{
		{file: "debian-12", family: "debian", pm: "apt-get"},
		{file: "debian-13", family: "debian", pm: "apt-get"},
		{file: "ubuntu-22.04", family: "debian", pm: "apt-get"},
		{file: "ubuntu-24.04", family: "debian", pm: "apt-get"},
		{file: "linuxmint-22", family: "debian", pm: "apt-get"}, // by ID_LIKE="ubuntu debian"
		{file: "raspbian-12", family: "debian", pm: "apt-get"},  // by ID_LIKE=debian
		{file: "rhel-9.6", family: "rhel", pm: "dnf"},
		{file: "centos-stream-9", family: "rhel", pm: "dnf"},
		{file: "rocky-9.5", family: "rhel", pm: "dnf"},
		{file: "almalinux-9.6", family: "rhel", pm: "dnf"},
		{file: "oraclelinux-9.5", family: "rhel", pm: "dnf"}, // ID_LIKE=fedora, but an EL rebuild
		{file: "fedora-41-container", family: "fedora", pm: "dnf"},
		{file: "fedora-42", family: "fedora", pm: "dnf"},
		{file: "opensuse-leap-15.6", family: "suse", pm: "zypper"},
		{file: "opensuse-tumbleweed", family: "suse", pm: "zypper"},
		{file: "sles-15-sp6", family: "suse", pm: "zypper"},
		{file: "boot2docker-19.03.12", family: "boot2docker", pm: ""}, // ID_LIKE=tcl: by ID alone
		{file: "arch", wantErr: "unsupported OS Arch Linux (ID=arch); " + supported},
		{file: "alpine-3.22", wantErr: "unsupported OS Alpine Linux v3.22 (ID=alpine); " + supported},
	} {
		t.Run(tc.file, func(t *testing.T) {
			p, err := provision.SelectOS(readRelease(t, tc.file))
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v\nwant %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Family() != tc.family || p.PackageManager() != tc.pm {
				t.Errorf("family %q with %s, want %q with %s", p.Family(), p.PackageManager(), tc.family, tc.pm)
			}
		})
	}
}

// TestSelectOSByIDLike covers what the real files do not: case, and
// ID_LIKE read closest first.
func TestSelectOSByIDLike(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rel    provision.OSRelease
		family string
	}{
		{"upper case ID", provision.OSRelease{ID: "Debian"}, "debian"},
		{"pop via ID_LIKE ubuntu debian", provision.OSRelease{ID: "pop", IDLike: []string{"ubuntu", "debian"}}, "debian"},
		{"an EL rebuild by its closest ID_LIKE", provision.OSRelease{ID: "navy", IDLike: []string{"rhel", "centos", "fedora"}}, "rhel"},
		{"a Fedora remix", provision.OSRelease{ID: "nobara", IDLike: []string{"fedora"}}, "fedora"},
		{"a SUSE derivative", provision.OSRelease{ID: "opensuse-slowroll", IDLike: []string{"opensuse", "suse"}}, "suse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := provision.SelectOS(tc.rel)
			if err != nil {
				t.Fatal(err)
			}
			if p.Family() != tc.family {
				t.Errorf("family = %q, want %q", p.Family(), tc.family)
			}
		})
	}
}

// TestDistroDocker: which families have Docker in their own repositories,
// and what the RHEL family says instead.
func TestDistroDocker(t *testing.T) {
	for _, tc := range []struct {
		file     string
		packages []string
		wantErr  string
	}{
		{file: "debian-13", packages: []string{"docker.io", "docker-cli"}},
		{file: "ubuntu-24.04", packages: []string{"docker.io", "docker-cli"}},
		{file: "fedora-42", packages: []string{"moby-engine"}},
		{file: "sles-15-sp6", packages: []string{"docker"}},
		{file: "opensuse-tumbleweed", packages: []string{"docker"}},
		{file: "rocky-9.5", wantErr: `Rocky Linux 9.5 (Blue Onyx) has no Docker in its own repositories (podman-docker is Podman, not Docker), so the install URL "distro" cannot install it: use Docker's install script, the default install URL (https://get.docker.com), which adds Docker's repository`},
		{file: "rhel-9.6", wantErr: `Red Hat Enterprise Linux 9.6 (Plow) has no Docker in its own repositories`},
		{file: "centos-stream-9", wantErr: `CentOS Stream 9 has no Docker in its own repositories`},
		{file: "almalinux-9.6", wantErr: `AlmaLinux 9.6 (Sage Margay) has no Docker in its own repositories (podman-docker is Podman, not Docker), so the install URL "distro" cannot install it: install docker-ce from Docker's repository first (dnf install -y dnf-plugins-core && dnf config-manager --add-repo https://download.docker.com/linux/rhel/docker-ce.repo && dnf install -y docker-ce docker-ce-cli containerd.io), then create the machine again; Docker's install script does not support almalinux`},
		{file: "oraclelinux-9.5", wantErr: `Oracle Linux Server 9.5 has no Docker in its own repositories (podman-docker is Podman, not Docker), so the install URL "distro" cannot install it: install docker-ce from Docker's repository first`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			p, err := provision.SelectOS(readRelease(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			err = p.DistroDocker()
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("DistroDocker() = %v, want %q", err, tc.wantErr)
				}
				if p.DockerPackages() != nil {
					t.Errorf("DockerPackages() = %q without Docker in the repositories", p.DockerPackages())
				}
				return
			}
			if err != nil {
				t.Fatalf("DistroDocker() = %v", err)
			}
			if !slices.Equal(p.DockerPackages(), tc.packages) {
				t.Errorf("DockerPackages() = %q, want %q", p.DockerPackages(), tc.packages)
			}
		})
	}
}

func TestSupportedIDs(t *testing.T) {
	want := []string{"debian", "ubuntu", "rhel", "centos", "rocky", "almalinux", "ol", "fedora", "opensuse-leap", "opensuse-tumbleweed", "sles", "boot2docker"}
	if got := provision.SupportedIDs(); !slices.Equal(got, want) {
		t.Errorf("SupportedIDs() = %q, want %q", got, want)
	}
}

package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Debian 13 (trixie) test-host images, built by testhost/build.sh on first
// use and cached by tag (`make images` builds them too).
const (
	trixieBaseImage   = "machine-testhost:trixie-base-v1"
	trixieDockerImage = "machine-testhost:trixie-docker-v1"
)

var trixieImages struct {
	once sync.Once
	err  error
	log  string
}

// needTrixie builds the Debian 13 images once per run.
func needTrixie(t *testing.T) {
	t.Helper()
	trixieImages.once.Do(func() {
		var out bytes.Buffer
		build := exec.Command("bash", filepath.Join(env.root, "integration/testhost/build.sh"), trixieBaseImage, trixieDockerImage, "trixie")
		build.Stdout, build.Stderr = &out, &out
		trixieImages.err = build.Run()
		trixieImages.log = out.String()
	})
	if trixieImages.err != nil {
		t.Fatalf("build the Debian 13 test-host images: %v\n%s", trixieImages.err, trixieImages.log)
	}
}

// TestDebianReleases creates a machine on Debian 12 (bookworm) and Debian
// 13 (trixie) hosts with Docker preinstalled, and on a Debian 13 host
// installing Debian's own packages (--engine-install-url distro, from the
// Debian mirror; TestGenericDistroInstall does that on Debian 12), and
// drives each engine through env with the docker client. The docker CLI
// must be on the host too (swarm joins run it there): Debian 13 packages it
// apart from docker.io, as docker-cli. The hosts run in parallel.
func TestDebianReleases(t *testing.T) {
	needTrixie(t)
	for _, tc := range []struct {
		name, image, detected string
		extra                 []string
	}{
		{"debian 12 preinstalled", dockerImage, "Debian GNU/Linux 12 (bookworm)", nil},
		{"debian 13 preinstalled", trixieDockerImage, "Debian GNU/Linux 13 (trixie)", nil},
		{"debian 13 distro", trixieBaseImage, "Debian GNU/Linux 13 (trixie)", []string{"--engine-install-url", "distro"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := startHost(t, tc.image)
			m := newCLI(t)
			r := m.createGeneric(t, h, "deb", tc.extra...)
			if !strings.Contains(r.Stderr, "Detected "+tc.detected) {
				t.Errorf("create did not detect %s:\n%s", tc.detected, r.Stderr)
			}
			if len(tc.extra) > 0 && !strings.Contains(r.Stderr, "Installing Docker from the OS's packages (apt-get)...") {
				t.Errorf("create did not install Debian's packages:\n%s", r.Stderr)
			}
			vars := parseEnv(t, m.ok(t, "env", "--shell", "bash", "deb").Stdout)
			v, err := dockerVersion(t, vars)
			if err != nil || v == "" {
				t.Fatalf("docker version through env: %v: %s", err, v)
			}
			if got := strings.TrimSpace(m.ok(t, "ssh", "deb", "docker", "version", "--format", "{{.Server.Version}}").Stdout); got != v {
				t.Errorf("the docker CLI on the host says server %q, the client through env %q", got, v)
			}
			if got := strings.TrimSpace(h.exec(t, "command -v dockerd")); got != "/usr/sbin/dockerd" {
				t.Errorf("dockerd at %q, want Debian's /usr/sbin/dockerd", got)
			}
		})
	}
}

// TestOSRefused: a host whose OS machine does not support, and a RHEL-family
// host asked for --engine-install-url distro (RHEL's repositories have no
// Docker), are refused with one line saying why, before anything changes:
// no machine in the store, no Docker installed.
func TestOSRefused(t *testing.T) {
	h := startHost(t, baseImage)
	m := newCLI(t)
	for _, tc := range []struct {
		name, osRelease, want string
		extra                 []string
	}{
		{
			name:      "arch",
			osRelease: "provision/testdata/os-release/arch",
			want:      "unsupported OS Arch Linux (ID=arch); supported: debian, ubuntu, rhel, centos, rocky, almalinux, ol, fedora, opensuse-leap, opensuse-tumbleweed, sles",
		},
		{
			name:      "rocky distro",
			osRelease: "provision/testdata/os-release/rocky-9.5",
			want:      `Rocky Linux 9.5 (Blue Onyx) has no Docker in its own repositories (podman-docker is Podman, not Docker), so the install URL "distro" cannot install it: use Docker's install script`,
			extra:     []string{"--engine-install-url", "distro"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rel, err := os.ReadFile(filepath.Join(env.root, tc.osRelease))
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("docker", "exec", "-i", h.Name, "sh", "-c", "cat > /etc/os-release")
			cmd.Stdin = bytes.NewReader(rel)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("write the host's os-release: %v\n%s", err, out)
			}
			args := append([]string{"create", "-d", "generic", "--generic-ip-address", h.IP, "--generic-ssh-key", env.keyPath}, tc.extra...)
			m.fails(t, tc.want, append(args, "r1")...)
			if got := m.ok(t, "ls", "-q").Stdout; got != "" {
				t.Errorf("ls -q after the refused create = %q", got)
			}
			if out := h.exec(t, "command -v dockerd || echo none"); strings.TrimSpace(out) != "none" {
				t.Errorf("dockerd on the host after the refused create: %s", out)
			}
		})
	}
}

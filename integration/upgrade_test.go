package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/machine-cli/machine/internal/standin"
)

// TestProvisionUpgrade drives `provision` and `upgrade` against real test
// hosts, with a local apt repository holding Debian's own docker.io
// repacked with a higher version, served to the hosts over the test
// network:
//   - n1 (fresh base host, --engine-install-url distro): provisioning twice
//     changes nothing; upgrade with the engine stopped moves docker.io to
//     the repository's version through apt; upgrade again says it is the
//     newest; a failing apt is one line and leaves the engine running.
//   - n2 (Docker preinstalled, install URL a script on the local server,
//     swarm manager): provision repairs an edited drop-in and the node
//     stays in its swarm; a provisioning that fails puts the host back and
//     keeps the machine; upgrade runs the install script again.
//   - n3 (Docker preinstalled, the default install URL): get.docker.com
//     cannot be reached, upgrade fails on one line, dockerd untouched.
//
// Errors without hosts (unknown machine, unreachable host, install URL
// "none") are in TestProvisionUpgradeErrors.
func TestProvisionUpgrade(t *testing.T) {
	mux := http.NewServeMux()
	srv := serveOnTestNetwork(t, mux)
	hA := startHost(t, baseImage)
	hB := startHost(t, dockerImage)
	hC := startHost(t, dockerImage)
	m := newCLI(t)

	mux.HandleFunc("/install.sh", func(w http.ResponseWriter, _ *http.Request) {
		// A real install script: it installs docker.io from the local
		// repository (and nothing else: only that repository is read).
		fmt.Fprintf(w, `#!/bin/sh
set -e
echo 'deb [trusted=yes] %s/repo/ ./' > /etc/apt/sources.list.d/machinetest.list
export DEBIAN_FRONTEND=noninteractive
o="-o Dir::Etc::SourceList=/etc/apt/sources.list.d/machinetest.list -o Dir::Etc::SourceParts=-"
apt-get update -q $o
apt-get install -y -q $o docker.io
`, srv)
	})
	// get.docker.com, the real default, is pinned to a loopback port where
	// nothing listens on n3's host: the test never sends traffic outside.
	hC.exec(t, "echo '127.0.0.9 get.docker.com' >> /etc/hosts")

	// The three creates run at once; n1 installs docker.io from Debian.
	creates := []struct {
		h    *testHost
		name string
		args []string
	}{
		{hA, "n1", []string{"--engine-install-url", "distro"}},
		{hB, "n2", []string{"--engine-install-url", srv + "/install.sh", "--swarm-init"}},
		{hC, "n3", nil},
	}
	results := make([]result, len(creates))
	done := make(chan int)
	for i, c := range creates {
		go func() {
			defer func() { done <- i }() // also when m.run ends the goroutine
			args := append([]string{"create", "-d", "generic", "--generic-ip-address", c.h.IP, "--generic-ssh-key", env.keyPath}, c.args...)
			results[i] = m.run(t, append(args, c.name)...)
		}()
	}
	for range creates {
		<-done
	}
	for i, r := range results {
		if r.Code != 0 {
			t.Fatalf("create %s: exit %d\n%s", creates[i].name, r.Code, r.Stderr)
		}
	}

	repo, orig, bumped := buildAptRepo(t, hA)
	mux.Handle("/repo/", http.StripPrefix("/repo/", http.FileServer(http.Dir(repo))))

	t.Run("distro", func(t *testing.T) {
		t.Parallel()
		t.Run("provision twice changes nothing", func(t *testing.T) {
			before, cert := unchangedState(t, hA), storeFile(t, m, "n1", "server.pem")
			r := m.ok(t, "provision", "n1")
			if r.Stdout != "" {
				t.Errorf("provision printed on stdout: %q", r.Stdout)
			}
			r = m.ok(t, "provision", "n1")
			if !strings.Contains(r.Stderr, "dockerd keeps running") {
				t.Errorf("second provision does not say dockerd keeps running:\n%s", r.Stderr)
			}
			if after := unchangedState(t, hA); after != before {
				t.Errorf("provisioning changed the host:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if storeFile(t, m, "n1", "server.pem") != cert {
				t.Error("provision regenerated the server certificate")
			}
		})
		t.Run("upgrade with the engine stopped", func(t *testing.T) {
			hA.exec(t, "echo 'deb [trusted=yes] "+srv+"/repo/ ./' > /etc/apt/sources.list.d/machinetest.list && systemctl stop docker.service docker.socket")
			r := m.ok(t, "upgrade", "n1")
			if want := "n1: docker.io " + orig + " -> " + bumped + "\n"; r.Stdout != want {
				t.Errorf("upgrade printed %q, want %q\nstderr:\n%s", r.Stdout, want, r.Stderr)
			}
			if got := strings.TrimSpace(m.ok(t, "ssh", "n1", "dpkg-query", "-W", "-f", "'${Version}'", "docker.io").Stdout); got != bumped {
				t.Errorf("dpkg-query -W docker.io over ssh = %q, want %q", got, bumped)
			}
			if got := strings.TrimSpace(hA.exec(t, "systemctl is-active docker.service")); got != "active" {
				t.Errorf("docker.service is %s after the upgrade", got)
			}
			if v, err := dockerVersion(t, parseEnv(t, m.ok(t, "env", "--shell", "bash", "n1").Stdout)); err != nil || v == "" {
				t.Errorf("docker version through env after the upgrade: %v: %s", err, v)
			}
		})
		t.Run("upgrade again", func(t *testing.T) {
			pid := dockerdRun(t, hA)
			r := m.ok(t, "upgrade", "n1")
			if want := "n1: docker.io " + bumped + " is already the newest available\n"; r.Stdout != want {
				t.Errorf("upgrade printed %q, want %q", r.Stdout, want)
			}
			if got := dockerdRun(t, hA); got != pid {
				t.Errorf("dockerd restarted though nothing changed: %s, then %s", pid, got)
			}
		})
		t.Run("package manager fails", func(t *testing.T) {
			pid := dockerdRun(t, hA)
			hA.exec(t, "echo 'deb [trusted=yes] "+srv+"/missing/ ./' > /etc/apt/sources.list.d/machinetest-missing.list")
			defer hA.exec(t, "rm -f /etc/apt/sources.list.d/machinetest-missing.list")
			r := m.fails(t, "upgrading from the debian packages failed (exit status 100): ", "upgrade", "n1")
			if !strings.Contains(r.Stderr, "/missing/Packages  404  Not Found") {
				t.Errorf("the error does not carry apt's output:\n%s", r.Stderr)
			}
			if got := dockerdRun(t, hA); got != pid {
				t.Errorf("dockerd changed: %s, then %s", pid, got)
			}
			if r.Stdout != "" {
				t.Errorf("stdout: %q", r.Stdout)
			}
		})
	})

	t.Run("script", func(t *testing.T) {
		t.Parallel()
		dropIn := "/etc/systemd/system/docker.service.d/10-machine.conf"
		swarm := func() string {
			return strings.TrimSpace(hB.exec(t, "docker info --format '{{.Swarm.NodeID}} {{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'"))
		}
		node := swarm()
		if !strings.HasSuffix(node, " active true") {
			t.Fatalf("n2 is not a swarm manager: %q", node)
		}
		t.Run("provision repairs and keeps the swarm", func(t *testing.T) {
			want := hB.exec(t, "sha256sum "+dropIn)
			pid := dockerdRun(t, hB)
			hB.exec(t, "echo '# edited' >> "+dropIn)
			m.ok(t, "provision", "n2")
			if got := hB.exec(t, "sha256sum "+dropIn); got != want {
				t.Errorf("the drop-in was not put right: %s, want %s", got, want)
			}
			if dockerdRun(t, hB) == pid {
				t.Error("dockerd was not restarted on the repaired drop-in")
			}
			if got := swarm(); got != node {
				t.Errorf("swarm membership after provision: %q, want %q", got, node)
			}
		})
		t.Run("failed provision puts the host back and keeps the machine", func(t *testing.T) {
			state := hostState(t, hB)
			setEngineFlags(t, m, "n2", []string{"bogus-flag-for-test"})
			r := m.fails(t, "provision n2: start docker: dockerd did not start", "provision", "n2")
			setEngineFlags(t, m, "n2", []string{})
			if !strings.Contains(r.Stderr, "Putting back the configuration n2 had before") {
				t.Errorf("no rollback reported:\n%s", r.Stderr)
			}
			if got := hostState(t, hB); got != state {
				t.Errorf("the host was not put back:\nbefore:\n%s\nafter:\n%s", state, got)
			}
			if got := strings.TrimSpace(hB.exec(t, "systemctl is-active docker.service")); got != "active" {
				t.Errorf("docker.service is %s after the rollback", got)
			}
			if names := m.ok(t, "ls", "-q").Stdout; !strings.Contains(names, "n2\n") {
				t.Errorf("the machine left the store:\n%s", names)
			}
			if got := swarm(); got != node {
				t.Errorf("swarm membership after the rollback: %q, want %q", got, node)
			}
		})
		t.Run("upgrade runs the install script again", func(t *testing.T) {
			before := strings.TrimSpace(hB.exec(t, "dpkg-query -W -f '${Version}' docker.io"))
			r := m.ok(t, "upgrade", "n2")
			if want := "n2: docker.io " + before + " -> " + bumped + "\n"; r.Stdout != want {
				t.Errorf("upgrade printed %q, want %q\nstderr:\n%s", r.Stdout, want, r.Stderr)
			}
			if !strings.Contains(r.Stderr, "from "+srv+"/install.sh") {
				t.Errorf("upgrade does not say it ran the install script:\n%s", r.Stderr)
			}
			if got := strings.TrimSpace(m.ok(t, "ssh", "n2", "dpkg-query", "-W", "-f", "'${Version}'", "docker.io").Stdout); got != bumped {
				t.Errorf("docker.io on n2 = %q, want %q", got, bumped)
			}
			if v, err := dockerVersion(t, parseEnv(t, m.ok(t, "env", "--shell", "bash", "n2").Stdout)); err != nil || v == "" {
				t.Errorf("docker version through env after the upgrade: %v: %s", err, v)
			}
			if got := swarm(); got != node {
				t.Errorf("swarm membership after the upgrade: %q, want %q", got, node)
			}
		})
	})

	t.Run("default install script unreachable", func(t *testing.T) {
		t.Parallel()
		pid := dockerdRun(t, hC)
		r := m.fails(t, "upgrade n3: upgrade docker: upgrading from https://get.docker.com failed (exit status 7): ", "upgrade", "n3")
		if !strings.Contains(r.Stderr, "curl: (7)") {
			t.Errorf("the error does not carry curl's message:\n%s", r.Stderr)
		}
		if got := dockerdRun(t, hC); got != pid {
			t.Errorf("dockerd changed: %s, then %s", pid, got)
		}
		if v, err := dockerVersion(t, parseEnv(t, m.ok(t, "env", "--shell", "bash", "n3").Stdout)); err != nil || v == "" {
			t.Errorf("docker through env after the failed upgrade: %v: %s", err, v)
		}
	})
}

// TestProvisionUpgradeErrors: unknown machines, unreachable hosts, a
// machine whose Docker machine did not install and one whose create did
// not finish end on one line.
func TestProvisionUpgradeErrors(t *testing.T) {
	m := newCLI(t)
	port := standin.ClosedPort(t)
	writeMachine(t, m, "gone", port, "distro")
	writeMachine(t, m, "own", port, "none")
	// A machine whose create was killed while it provisioned.
	writeMachine(t, m, "half", port, "distro")
	if err := os.WriteFile(filepath.Join(m.store, "machines", "half", ".provisioning"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"provision unknown machine", []string{"provision", "ghost"}, `"ghost" does not exist`},
		{"upgrade unknown machine", []string{"upgrade", "ghost"}, `"ghost" does not exist`},
		{"provision unreachable host", []string{"provision", "gone"}, "provision gone: "},
		{"upgrade unreachable host", []string{"upgrade", "gone"}, "upgrade gone: "},
		{"upgrade without an install method", []string{"upgrade", "own"}, `upgrade own: machine did not install Docker there (install URL "none")`},
		{"provision a half-made machine", []string{"provision", "half"}, "provision half: its create did not finish; remove it with `machine rm half`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := m.fails(t, tc.want, tc.args...)
			if r.Stdout != "" {
				t.Errorf("stdout: %q", r.Stdout)
			}
			if n := strings.Count(strings.TrimSpace(r.Stderr), "\n"); n > 1 {
				t.Errorf("stderr has %d lines, want a progress line and the error:\n%s", n+1, r.Stderr)
			}
			if strings.Contains(tc.name, "unreachable") && !strings.Contains(r.Stderr, fmt.Sprintf("127.0.0.1:%d", port)) {
				t.Errorf("the error does not name the address:\n%s", r.Stderr)
			}
		})
	}
}

// writeMachine stores a generic machine at 127.0.0.1:port (where nothing
// listens) with the given install URL, as create would have saved it.
func writeMachine(t *testing.T, m *machineCLI, name string, port int, installURL string) {
	t.Helper()
	dir := filepath.Join(m.store, "machines", name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{
		"ConfigVersion": 3,
		"DriverName":    "generic",
		"Name":          name,
		"Driver": map[string]any{
			"IPAddress": "127.0.0.1", "MachineName": name, "SSHUser": "root", "SSHPort": port,
			"SSHKeyPath": env.keyPath, "StorePath": m.store, "EnginePort": 2376,
		},
		"HostOptions": map[string]any{
			"EngineOptions": map[string]any{"InstallURL": installURL, "TlsVerify": true},
			"AuthOptions":   map[string]any{"StorePath": dir},
		},
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// setEngineFlags rewrites the --engine-opt flags in a machine's stored
// config (the test's side door: no command changes them).
func setEngineFlags(t *testing.T, m *machineCLI, name string, flags []string) {
	t.Helper()
	path := filepath.Join(m.store, "machines", name, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["HostOptions"].(map[string]any)["EngineOptions"].(map[string]any)["ArbitraryFlags"] = flags
	if b, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// storeFile reads a file of a machine's directory in the store.
func storeFile(t *testing.T, m *machineCLI, name, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(m.store, "machines", name, file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// unchangedState is hostState with the inodes of the files provisioning
// writes whole (a rewrite with the same bytes makes a new inode) and the
// running dockerd.
func unchangedState(t *testing.T, h *testHost) string {
	t.Helper()
	return hostState(t, h) + h.exec(t, "stat -c '%n %i' /etc/docker/*.pem /etc/systemd/system/docker.service.d/10-machine.conf") + dockerdRun(t, h)
}

// dockerdRun identifies the running dockerd: its PID and start time.
func dockerdRun(t *testing.T, h *testHost) string {
	t.Helper()
	return "dockerd " + strings.Join(strings.Fields(h.exec(t, "systemctl show -p MainPID -p ExecMainStartTimestampMonotonic --value docker.service")), " ")
}

// serveOnTestNetwork serves mux over HTTP on the test network's gateway
// address (this machine's address on that network, which only the test
// hosts reach) until the test ends, and returns its base URL.
func serveOnTestNetwork(t *testing.T, mux http.Handler) string {
	t.Helper()
	out, err := exec.Command("docker", "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}|{{.Subnet}}{{end}}", env.network).Output()
	if err != nil {
		t.Fatalf("docker network inspect %s: %v", env.network, err)
	}
	gw, subnet, _ := strings.Cut(strings.TrimSpace(string(out)), "|")
	if gw == "" {
		// Docker names no gateway for a network made with --subnet only:
		// it is the subnet's first address.
		_, n, err := net.ParseCIDR(subnet)
		if err != nil {
			t.Fatalf("subnet of %s: %q: %v", env.network, subnet, err)
		}
		ip := n.IP.To4()
		ip[3]++
		gw = ip.String()
	}
	l, err := net.Listen("tcp", net.JoinHostPort(gw, "0"))
	if err != nil {
		t.Fatalf("listen on the test network's gateway: %v", err)
	}
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String()
}

// buildAptRepo makes a flat apt repository holding the docker.io package h
// installed, repacked with "+machinetest1" appended to its version. It is
// built once per docker.io version and kept in the user's cache directory.
// It returns the repository's directory and the versions.
func buildAptRepo(t *testing.T, h *testHost) (dir, orig, bumped string) {
	t.Helper()
	orig = strings.TrimSpace(h.exec(t, "dpkg-query -W -f '${Version}' docker.io"))
	bumped = orig + "+machinetest1"
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir = filepath.Join(cache, "machine-integration", "aptrepo-"+regexp.MustCompile(`[^A-Za-z0-9.+-]`).ReplaceAllString(bumped, "_"))
	if _, err := os.Stat(filepath.Join(dir, "Packages")); err == nil {
		return dir, orig, bumped
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "build-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	// The .deb apt kept when create installed docker.io on h.
	deb := strings.TrimSpace(h.exec(t, "ls /var/cache/apt/archives/docker.io_*.deb"))
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = tmp
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	run("docker", "cp", h.Name+":"+deb, filepath.Join(tmp, "orig.deb"))
	run("dpkg-deb", "-R", "orig.deb", "pkg")
	control := filepath.Join(tmp, "pkg", "DEBIAN", "control")
	b, err := os.ReadFile(control)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^Version: .*$`)
	if !re.Match(b) {
		t.Fatalf("no Version field in docker.io's control file:\n%s", b)
	}
	if err := os.WriteFile(control, re.ReplaceAll(b, []byte("Version: "+bumped)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(tmp, "repo"), 0o755); err != nil {
		t.Fatal(err)
	}
	// gzip -1: a fast build; the package only crosses the test network.
	run("dpkg-deb", "-Zgzip", "-z1", "-b", "pkg", "repo/docker.io_machinetest1_amd64.deb")
	cmd := exec.Command("dpkg-scanpackages", "-m", ".", "/dev/null")
	cmd.Dir = filepath.Join(tmp, "repo")
	packages, err := cmd.Output()
	if err != nil {
		t.Fatalf("dpkg-scanpackages (dpkg-dev; run scripts/ensure-deps.sh): %v", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "repo", "Packages"), packages, 0o644); err != nil {
		t.Fatal(err)
	}
	// A concurrent run may have made it first; either is whole.
	if err := os.Rename(filepath.Join(tmp, "repo"), dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "Packages")); serr != nil {
			t.Fatal(err)
		}
	}
	return dir, orig, bumped
}

package integration

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// busyboxRootfs writes a tar of a root filesystem holding Debian's static
// busybox and the links the workloads use; `docker import` makes an image
// of it on each node, as no registry can be reached.
func busyboxRootfs(t *testing.T) string {
	t.Helper()
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("static busybox (package busybox-static, installed by scripts/ensure-deps.sh): %v", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, data []byte) {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	add(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	add(&tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777}, nil)
	add(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))}, bin)
	for _, l := range []string{"sh", "nc", "sleep", "echo", "hostname", "cat"} {
		add(&tar.Header{Name: "bin/" + l, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}, nil)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "busybox.tar")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// docker runs the real docker CLI with the variables `machine env` gave.
func docker(t *testing.T, vars map[string]string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("docker", args...)
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func mustDocker(t *testing.T, vars map[string]string, args ...string) string {
	t.Helper()
	out, err := docker(t, vars, args...)
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// eventually polls check every half second until it returns "" or the
// bound passes, then fails with the last complaint.
func eventually(t *testing.T, bound time.Duration, check func() string) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", bound, msg)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestSwarm builds a three-node swarm with create (init, manager join,
// worker join), runs a replicated service across nodes that reaches a second
// service by name over an overlay network, and removes nodes cleanly.
func TestSwarm(t *testing.T) {
	h1, h2, h3, h4 := startHost(t, dockerImage), startHost(t, dockerImage), startHost(t, dockerImage), startHost(t, dockerImage)
	m := newCLI(t)
	m.createGeneric(t, h1, "swarm01", "--swarm-init")

	t.Run("join while the manager is unreachable", func(t *testing.T) {
		if out, err := exec.Command("docker", "pause", h1.Name).CombinedOutput(); err != nil {
			t.Fatalf("pause: %v %s", err, out)
		}
		r := m.fails(t, "swarm01", "create", "-d", "generic", "--generic-ip-address", h2.IP, "--generic-ssh-key", env.keyPath,
			"--swarm-join", "swarm01", "--swarm-manager", "swarm02")
		if out, err := exec.Command("docker", "unpause", h1.Name).CombinedOutput(); err != nil {
			t.Fatalf("unpause: %v %s", err, out)
		}
		if !strings.Contains(r.Stderr, "cannot reach docker") {
			t.Errorf("error does not say the manager is unreachable:\n%s", r.Stderr)
		}
		if _, err := os.Stat(filepath.Join(m.store, "machines", "swarm02")); !os.IsNotExist(err) {
			t.Errorf("failed create left swarm02 in the store: %v", err)
		}
	})

	m.createGeneric(t, h2, "swarm02", "--swarm-join", "swarm01", "--swarm-manager")
	// With --debug: remote commands are logged, the join token never is.
	r := m.ok(t, "--debug", "create", "-d", "generic", "--generic-ip-address", h3.IP, "--generic-ssh-key", env.keyPath,
		"--swarm-join", "swarm01", "--swarm-label", "tier=web", "swarm03")
	if !strings.Contains(r.Stderr, "[swarm01] ssh ") || !strings.Contains(r.Stderr, "join-token") {
		t.Errorf("--debug does not log the remote commands:\n%s", r.Stderr)
	}
	if strings.Contains(r.Stderr+r.Stdout, "SWMTKN") {
		t.Errorf("the join token reached the output:\n%s", r.Stderr)
	}
	vars := parseEnv(t, m.ok(t, "env", "--shell", "bash", "swarm01").Stdout)

	t.Run("nodes", func(t *testing.T) {
		out := mustDocker(t, vars, "node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.ManagerStatus}}")
		lines := strings.Split(out, "\n")
		managers := 0
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) < 2 || f[1] != "Ready" {
				t.Errorf("node not Ready: %q", l)
			}
			if len(f) == 3 {
				managers++
			}
		}
		if len(lines) != 3 || managers != 2 {
			t.Errorf("docker node ls: want 3 nodes, 2 managers:\n%s", out)
		}
		if got := mustDocker(t, vars, "node", "inspect", "swarm03", "--format", "{{index .Spec.Labels \"tier\"}}"); got != "web" {
			t.Errorf("label tier of swarm03 = %q, want web", got)
		}
	})
	t.Run("ls swarm column", func(t *testing.T) {
		out := m.ok(t, "ls", "-f", "{{.Name}}={{.Swarm}}").Stdout
		for _, want := range []string{"swarm01=swarm01: manager (leader)", "swarm02=swarm01: manager", "swarm03=swarm01: worker"} {
			if !strings.Contains(out, want+"\n") {
				t.Errorf("ls lacks %q:\n%s", want, out)
			}
		}
		if got := m.ok(t, "ls", "-q", "--filter", "swarm=swarm01").Stdout; got != "swarm01\nswarm02\nswarm03\n" {
			t.Errorf("ls --filter swarm=swarm01 = %q", got)
		}
		if n := len(strings.Split(strings.TrimSpace(m.ok(t, "swarm", "ls", "swarm03").Stdout), "\n")); n != 4 {
			t.Errorf("swarm ls: %d lines, want a header and 3 nodes", n)
		}
	})
	t.Run("env --swarm points at a manager", func(t *testing.T) {
		sv := parseEnv(t, m.ok(t, "env", "--shell", "bash", "--swarm", "swarm03").Stdout)
		if n := sv["DOCKER_MACHINE_NAME"]; n != "swarm01" && n != "swarm02" {
			t.Errorf("env --swarm swarm03 points at %q, want a manager", n)
		}
		if out := m.ok(t, "config", "--swarm", "swarm03").Stdout; !strings.Contains(out, ":2376") {
			t.Errorf("config --swarm:\n%s", out)
		}
	})
	t.Run("already in a swarm", func(t *testing.T) {
		m.fails(t, "already in a swarm", "swarm", "join", "swarm01", "swarm03")
	})
	t.Run("service over an overlay network", func(t *testing.T) {
		rootfs := busyboxRootfs(t)
		for _, n := range []string{"swarm01", "swarm02", "swarm03"} {
			nv := parseEnv(t, m.ok(t, "env", "--shell", "bash", n).Stdout)
			mustDocker(t, nv, "import", rootfs, "machine-test/busybox:1")
		}
		mustDocker(t, vars, "network", "create", "-d", "overlay", "--attachable", "ov")
		mustDocker(t, vars, "service", "create", "-d", "--name", "web", "--replicas", "3", "--network", "ov",
			"--endpoint-mode", "dnsrr", "machine-test/busybox:1",
			"sh", "-c", "while true; do echo hello-from-$(hostname) | nc -l -p 8080; done")
		eventually(t, 2*time.Minute, func() string {
			out, _ := docker(t, vars, "service", "ps", "web", "--filter", "desired-state=running", "--format", "{{.Node}} {{.CurrentState}}")
			nodes := map[string]bool{}
			running := 0
			for _, l := range strings.Split(out, "\n") {
				if f := strings.Fields(l); len(f) >= 2 && f[1] == "Running" {
					nodes[f[0]] = true
					running++
				}
			}
			if running < 3 || len(nodes) < 2 {
				return "web tasks not running on two or more nodes:\n" + out
			}
			return ""
		})
		probeReaches(t, vars, "swarm03", 2*time.Minute)
	})
	t.Run("swarm join of an existing machine", func(t *testing.T) {
		m.createGeneric(t, h4, "swarm04")
		m.ok(t, "swarm", "join", "swarm01", "swarm04")
		if out := mustDocker(t, vars, "node", "ls", "-q"); len(strings.Fields(out)) != 4 {
			t.Fatalf("docker node ls after swarm join:\n%s", out)
		}
	})
	t.Run("rm of a machine whose host is gone", func(t *testing.T) {
		if out, err := exec.Command("docker", "stop", "-t", "1", h4.Name).CombinedOutput(); err != nil {
			t.Fatalf("stop: %v %s", err, out)
		}
		m.ok(t, "rm", "-y", "swarm04")
		if out := mustDocker(t, vars, "node", "ls", "-q"); len(strings.Fields(out)) != 3 {
			t.Errorf("docker node ls after removing the gone host:\n%s", out)
		}
	})
	t.Run("rm worker leaves two nodes", func(t *testing.T) {
		m.ok(t, "rm", "-y", "swarm03")
		eventually(t, time.Minute, func() string {
			if out := mustDocker(t, vars, "node", "ls", "-q"); len(strings.Fields(out)) != 2 {
				return "docker node ls:\n" + out
			}
			return ""
		})
	})
	t.Run("rm of the last manager refuses without -f", func(t *testing.T) {
		mustDocker(t, vars, "node", "demote", "swarm02")
		m.fails(t, "last manager", "rm", "-y", "swarm01")
		if _, err := os.Stat(filepath.Join(m.store, "machines", "swarm01")); err != nil {
			t.Fatalf("refused rm removed swarm01: %v", err)
		}
		m.ok(t, "rm", "-y", "swarm02")
		m.ok(t, "rm", "-y", "swarm01")
	})
}

// TestFirewall: on a host whose ufw lets in nothing but SSH, create opens
// dockerd's TLS port and the swarm ports, so that the docker client and a
// joining node get through; a create that fails closes what it opened.
func TestFirewall(t *testing.T) {
	h1, h2 := startHost(t, dockerImage), startHost(t, dockerImage)
	h1.exec(t, `apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ufw >/dev/null 2>&1 &&
ufw allow 22/tcp >/dev/null && ufw --force enable >/dev/null && ufw status | grep -q 'Status: active'`)
	m := newCLI(t)
	// A create that fails after opening the engine port closes it again.
	rules := "sha256sum /etc/ufw/user.rules /etc/ufw/user6.rules; ufw status"
	before := h1.exec(t, rules)
	r := m.fails(t, "start docker", "create", "-d", "generic", "--generic-ip-address", h1.IP, "--generic-ssh-key", env.keyPath,
		"--engine-opt", "no-such-dockerd-flag=1", "fw0")
	if !strings.Contains(r.Stderr, "Opened port 2376/tcp in ufw") {
		t.Errorf("the failed create did not get as far as opening the port:\n%s", r.Stderr)
	}
	if after := h1.exec(t, rules); after != before {
		t.Errorf("ufw after the failed create:\n%s\nwas:\n%s", after, before)
	}
	r = m.createGeneric(t, h1, "fw1", "--swarm-init")
	for _, want := range []string{"Opened port 2376/tcp in ufw", "Opened the swarm ports in ufw"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("create did not say %q:\n%s", want, r.Stderr)
		}
	}
	status := h1.exec(t, "ufw status")
	for _, port := range []string{"2376/tcp", "2377/tcp", "7946/tcp", "7946/udp", "4789/udp"} {
		if !strings.Contains(status, port) {
			t.Errorf("ufw does not allow %s:\n%s", port, status)
		}
	}
	m.createGeneric(t, h2, "fw2", "--swarm-join", "fw1")
	vars := parseEnv(t, m.ok(t, "env", "--shell", "bash", "fw1").Stdout)
	if out := mustDocker(t, vars, "node", "ls", "-q"); len(strings.Fields(out)) != 2 {
		t.Errorf("docker node ls:\n%s", out)
	}
}

// probeReaches runs a task on node, on the overlay network "ov", that
// reads a line from the service "web" on port 8080 (the task tries for
// a minute), and fails the test unless it got web's hello within bound.
func probeReaches(t *testing.T, vars map[string]string, node string, bound time.Duration) {
	t.Helper()
	mustDocker(t, vars, "service", "create", "-d", "--name", "probe", "--network", "ov", "--restart-condition", "none",
		"--constraint", "node.hostname=="+node, "machine-test/busybox:1",
		"sh", "-c", "for i in $(seq 1 60); do out=$(nc web 8080 </dev/null) && [ -n \"$out\" ] && echo \"got $out\" && exit 0; sleep 1; done; exit 1")
	eventually(t, bound, func() string {
		out, _ := docker(t, vars, "service", "ps", "probe", "--format", "{{.CurrentState}}")
		if strings.HasPrefix(out, "Complete") {
			return ""
		}
		if strings.HasPrefix(out, "Failed") {
			logs, _ := docker(t, vars, "service", "logs", "probe")
			t.Fatalf("probe on %s failed: %s\n%s", node, out, logs)
		}
		return "probe still " + out
	})
	if logs := mustDocker(t, vars, "service", "logs", "--raw", "probe"); !strings.Contains(logs, "got hello-from-") {
		t.Errorf("probe on %s did not reach web: %q", node, logs)
	}
}

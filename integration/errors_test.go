package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/machine-cli/machine/internal/standin"
)

// TestUserErrors: mistakes a user can make end with a non-zero exit, one
// clear line on stderr, and no state left behind.
func TestUserErrors(t *testing.T) {
	m := newCLI(t)
	port := strconv.Itoa(standin.ClosedPort(t))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad name", []string{"create", "-d", "generic", "--generic-ip-address", "127.0.0.1", "bad_name"}, "invalid machine name"},
		{"name starting with a dash-like dot", []string{"create", "-d", "generic", "--generic-ip-address", "127.0.0.1", ".n1"}, "invalid machine name"},
		{"no driver", []string{"create", "n1"}, "no driver given"},
		{"unknown driver", []string{"create", "-d", "nosuch", "n1"}, "machine-driver-nosuch"},
		{"missing ip", []string{"create", "-d", "generic", "n1"}, "--generic-ip-address"},
		{"missing ssh key file", []string{"create", "-d", "generic", "--generic-ip-address", "127.0.0.1", "--generic-ssh-key", "/nonexistent/key", "n1"}, "/nonexistent/key"},
		{"unreachable host", []string{"create", "-d", "generic", "--generic-ip-address", "127.0.0.1", "--generic-ssh-port", port, "--generic-ssh-key", env.keyPath, "n1"}, "127.0.0.1:" + port},
		{"bad flag", []string{"ls", "--bogus"}, "bogus"},
		{"unknown command", []string{"frobnicate"}, "frobnicate"},
		{"missing machine", []string{"ip", "ghost"}, `"ghost" does not exist`},
		{"missing machine ssh", []string{"ssh", "ghost", "true"}, `"ghost" does not exist`},
		{"rm without name", []string{"rm", "-y"}, "at least one machine name"},
		{"bad shell", []string{"env", "--shell", "tcshx", "ghost"}, "tcshx"},
		{"bad template", []string{"ls", "-f", "{{.Nope"}, "--format"},
		{"standalone swarm flag", []string{"create", "-d", "generic", "--generic-ip-address", "127.0.0.1", "--swarm-master", "n1"}, "--swarm-init"},
		{"swarm discovery flag", []string{"create", "-d", "generic", "--generic-ip-address", "127.0.0.1", "--swarm-discovery", "token://x", "n1"}, "standalone swarm"},
		{"swarm manager without join", []string{"create", "-d", "generic", "--generic-ip-address", "127.0.0.1", "--swarm-manager", "n1"}, "--swarm-join"},
		{"join own swarm", []string{"create", "-d", "generic", "--generic-ip-address", "127.0.0.1", "--swarm-join", "n1", "n1"}, "own swarm"},
		{"join a missing machine", []string{"swarm", "join", "ghost", "n1"}, "does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := m.fails(t, tc.want, tc.args...)
			if r.Stdout != "" {
				t.Errorf("stdout not empty: %q", r.Stdout)
			}
			if n := strings.Count(strings.TrimSpace(r.Stderr), "\n"); n > 0 && tc.args[0] != "create" {
				t.Errorf("stderr has %d lines, want one:\n%s", n+1, r.Stderr)
			}
			if names := m.ok(t, "ls", "-q").Stdout; names != "" {
				t.Errorf("store not empty after failure: %q", names)
			}
		})
	}
}

// TestCorruptConfig: a machine whose config.json is corrupt shows in ls
// with its error, fails commands clearly, and `rm -f` removes it.
func TestCorruptConfig(t *testing.T) {
	m := newCLI(t)
	dir := filepath.Join(m.store, "machines", "broken")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"ConfigVersion": 3, "Driver": {`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := m.ok(t, "ls").Stdout
	if !strings.Contains(out, "broken") || !strings.Contains(out, "Error") {
		t.Errorf("ls does not show the broken machine with an error:\n%s", out)
	}
	m.fails(t, "rm -f", "ip", "broken")
	m.fails(t, "-f", "rm", "-y", "broken")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("rm without -f removed the machine: %v", err)
	}
	m.ok(t, "rm", "-y", "-f", "broken")
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("rm -f left %s: %v", dir, err)
	}
}

// TestExternalDriver: an executable machine-driver-NAME on PATH adds a
// driver whose flags `create` takes; its stdout never reaches ours.
func TestExternalDriver(t *testing.T) {
	m := newCLI(t)
	r := m.ok(t, "create", "-d", "fake", "--help")
	for _, flag := range []string{"--fake-string", "--fake-int", "--fake-list"} {
		if !strings.Contains(r.Stdout, flag) {
			t.Errorf("create -d fake --help lacks %s:\n%s", flag, r.Stdout)
		}
	}
	if strings.Contains(r.Stdout, "chatter on stdout") || strings.Contains(r.Stderr, "chatter on stdout") {
		t.Errorf("the plugin's stdout leaked without --debug:\n%s\n%s", r.Stdout, r.Stderr)
	}
	d := m.ok(t, "--debug", "create", "-d", "fake", "--help")
	if !strings.Contains(d.Stderr, "chatter on stdout") || strings.Contains(d.Stdout, "chatter on stdout") {
		t.Errorf("with --debug the plugin's output belongs on stderr only:\nstdout:\n%s\nstderr:\n%s", d.Stdout, d.Stderr)
	}
	m.fails(t, "fake-int", "create", "-d", "fake", "--fake-int", "notanumber", "x1")
}

// TestMissingDriver: a machine of a driver that is not installed (a
// docker-machine store with a hyperv machine) shows in ls with the
// reason, and rm says how to remove it anyway.
func TestMissingDriver(t *testing.T) {
	m := newCLI(t)
	dir := filepath.Join(m.store, "machines", "hv1")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := `{"ConfigVersion": 3, "Driver": {"IPAddress": "192.168.99.100", "MachineName": "hv1", "SSHUser": "docker", "SSHPort": 22}, "DriverName": "hyperv", "HostOptions": {}, "Name": "hv1"}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out := m.ok(t, "ls").Stdout
	if !strings.Contains(out, "hyperv") || !strings.Contains(out, "machine-driver-hyperv") {
		t.Errorf("ls does not show the missing driver:\n%s", out)
	}
	m.fails(t, "use -f", "rm", "-y", "hv1")
	m.ok(t, "rm", "-y", "-f", "hv1")
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("rm -f left %s", dir)
	}
}

package integration

import (
	"strings"
	"testing"
)

// TestGuideDriverEndToEnd: the driver of drivers/README.md
// (drivers/plugin/example, built as machine-driver-example) creates a
// machine on a real host through the CLI; its flags of every kind show in
// create's help, with their defaults; the machine is usable through env,
// ls, ssh; what it cannot do fails in one line; it is removed.
func TestGuideDriverEndToEnd(t *testing.T) {
	h := startHost(t, dockerImage)
	m := newCLI(t)
	help := m.ok(t, "create", "-d", "example", "--help").Stdout
	for _, want := range []string{"--example-address", "$EXAMPLE_ADDRESS", "--example-ssh-port", `(default: 22)`, "--example-tag", "--example-skip-check"} {
		if !strings.Contains(help, want) {
			t.Errorf("create -d example --help lacks %q:\n%s", want, help)
		}
	}
	m.fails(t, `--example-address "not-an-ip" is not an IP address`,
		"create", "-d", "example", "--example-address", "not-an-ip", "--example-ssh-key", env.keyPath, "bad")

	m.ok(t, "create", "-d", "example", "--example-address", h.IP, "--example-ssh-key", env.keyPath,
		"--example-tag", "a", "--example-tag", "b", "g1")
	vars := parseEnv(t, m.ok(t, "env", "--shell", "bash", "g1").Stdout)
	if v, err := dockerVersion(t, vars); err != nil || v == "" {
		t.Fatalf("docker version through env: %v: %s", err, v)
	}
	if ls := m.ok(t, "ls", "--format", "{{.Name}} {{.DriverName}} {{.State}}").Stdout; ls != "g1 example Running\n" {
		t.Errorf("ls = %q, want g1 with driver example, Running", ls)
	}
	if got := strings.TrimSpace(m.ok(t, "ssh", "g1", "hostname").Stdout); got != "g1" {
		t.Errorf("ssh g1 hostname = %q", got)
	}
	if ip := strings.TrimSpace(m.ok(t, "ip", "g1").Stdout); ip != h.IP {
		t.Errorf("ip g1 = %q, want %s", ip, h.IP)
	}
	m.fails(t, "example driver: stop: not supported by this driver", "stop", "g1")
	m.ok(t, "rm", "-y", "g1")
	if names := m.ok(t, "ls", "-q").Stdout; names != "" {
		t.Errorf("store after rm: %q", names)
	}
}

// TestPluginProtocolMismatch: a driver built for a plugin protocol this
// machine does not speak is refused in one line naming both versions.
func TestPluginProtocolMismatch(t *testing.T) {
	m := newCLI(t)
	r := m.fails(t, "speaks driver plugin protocol 2; this machine speaks 1: install a build of the driver for protocol 1",
		"create", "-d", "v2", "x1")
	if !strings.Contains(r.Stderr, "machine-driver-v2") {
		t.Errorf("the error does not name the driver's file:\n%s", r.Stderr)
	}
	if names := m.ok(t, "ls", "-q").Stdout; names != "" {
		t.Errorf("store after the failed create: %q", names)
	}
}

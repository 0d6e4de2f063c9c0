package integration

import (
	"strings"
	"testing"
)

// TestExternalDriverEndToEnd: a machine is created, used through env,
// listed and removed through a third-party driver executable on PATH
// (machine-driver-ext, which reaches real hosts over SSH), as through a
// built-in one.
func TestExternalDriverEndToEnd(t *testing.T) {
	h := startHost(t, dockerImage)
	m := newCLI(t)
	help := m.ok(t, "create", "-d", "ext", "--help").Stdout
	if !strings.Contains(help, "--generic-ip-address") {
		t.Errorf("create -d ext --help does not list the driver's flags:\n%s", help)
	}
	m.ok(t, "create", "-d", "ext", "--generic-ip-address", h.IP, "--generic-ssh-key", env.keyPath, "e1")
	vars := parseEnv(t, m.ok(t, "env", "--shell", "bash", "e1").Stdout)
	if v, err := dockerVersion(t, vars); err != nil || v == "" {
		t.Fatalf("docker version through env: %v: %s", err, v)
	}
	ls := m.ok(t, "ls", "--format", "{{.Name}} {{.DriverName}} {{.State}}").Stdout
	if ls != "e1 ext Running\n" {
		t.Errorf("ls = %q, want e1 with driver ext, Running", ls)
	}
	if got := strings.TrimSpace(m.ok(t, "ssh", "e1", "hostname").Stdout); got != "e1" {
		t.Errorf("ssh e1 hostname = %q", got)
	}
	m.ok(t, "rm", "-y", "e1")
	if names := m.ok(t, "ls", "-q").Stdout; names != "" {
		t.Errorf("store after rm: %q", names)
	}
}

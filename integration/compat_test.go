package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDockerMachineStore: a machine as docker-machine 0.16 wrote it (its
// config.json fixture, with this host's address and paths, and no
// known_hosts) works with env, ip, ssh, ls, inspect, status, config, scp,
// use, provision, regenerate-certs and rm.
func TestDockerMachineStore(t *testing.T) {
	h := startHost(t, dockerImage)
	m := newCLI(t)
	// Let machine provision the host and make the certificates, then put
	// docker-machine's own config.json in place of ours.
	m.createGeneric(t, h, "n1")
	dir := filepath.Join(m.store, "machines", "n1")
	fixture, err := os.ReadFile(filepath.Join(env.root, "libmachine/store/testdata/docker-machine-0.16-generic.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer(
		`"10.0.0.5"`, `"`+h.IP+`"`,
		`"ubuntu"`, `"root"`,
		"/root/.docker/machine/machines/n1/id_rsa", filepath.Join(dir, "id_ed25519"),
		"/root/.docker/machine", m.store,
	).Replace(string(fixture))
	if strings.Contains(cfg, "10.0.0.5") {
		t.Fatalf("fixture still names 10.0.0.5:\n%s", cfg)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "known_hosts")); err != nil {
		t.Fatal(err)
	}

	vars := parseEnv(t, m.ok(t, "env", "--shell", "bash", "n1").Stdout)
	if vars["DOCKER_HOST"] != "tcp://"+h.IP+":2376" {
		t.Errorf("DOCKER_HOST = %q", vars["DOCKER_HOST"])
	}
	if v, err := dockerVersion(t, vars); err != nil || v == "" {
		t.Fatalf("docker version: %v: %s", err, v)
	}
	if got := m.ok(t, "ip", "n1").Stdout; got != h.IP+"\n" {
		t.Errorf("ip = %q", got)
	}
	if got := strings.TrimSpace(m.ok(t, "ssh", "n1", "hostname").Stdout); got != "n1" {
		t.Errorf("ssh hostname = %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "known_hosts")); err != nil {
		t.Errorf("first ssh to an imported machine did not record its host key: %v", err)
	}
	if out := m.ok(t, "ls").Stdout; !strings.Contains(out, "Running") {
		t.Errorf("ls:\n%s", out)
	}
	if got := m.ok(t, "inspect", "-f", "{{.HostOptions.EngineOptions.InstallURL}}", "n1").Stdout; got != "https://get.docker.com\n" {
		t.Errorf("inspect InstallURL = %q", got)
	}
	if got := m.ok(t, "status", "n1").Stdout; got != "Running\n" {
		t.Errorf("status = %q", got)
	}
	if got := m.ok(t, "config", "n1").Stdout; !strings.Contains(got, "-H=tcp://"+h.IP+":2376") {
		t.Errorf("config:\n%s", got)
	}
	local := filepath.Join(t.TempDir(), "note.txt")
	if err := os.WriteFile(local, []byte("from the runner\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m.ok(t, "scp", "-q", local, "n1:/tmp/note.txt")
	if got := m.ok(t, "ssh", "n1", "cat /tmp/note.txt").Stdout; got != "from the runner\n" {
		t.Errorf("scp'd file reads %q", got)
	}
	m.ok(t, "use", "n1")
	if out, err := dockerCLI(t, m.dockerConfig(), "version", "--format", "{{.Server.Version}}"); err != nil || out == "" {
		t.Errorf("docker version in the context use made: %v: %s", err, out)
	}
	m.ok(t, "use", "-u")
	// Docker is there, so provision installs nothing from get.docker.com.
	m.ok(t, "provision", "n1")
	m.ok(t, "regenerate-certs", "-f", "n1")
	vars = parseEnv(t, m.ok(t, "env", "--shell", "bash", "n1").Stdout)
	if v, err := dockerVersion(t, vars); err != nil || v == "" {
		t.Fatalf("docker version after provision and regenerate-certs: %v: %s", err, v)
	}
	m.ok(t, "rm", "-y", "n1")
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("rm left %s", dir)
	}
}

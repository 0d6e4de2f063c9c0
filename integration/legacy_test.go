package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLegacyDriverEndToEnd: a docker-machine driver plugin, unchanged
// (docker-machine-driver-legacytest, speaking docker-machine's net/rpc
// protocol and reaching a real host as docker-machine's generic driver
// does), works through every command as a built-in driver does, and its
// config is stored exactly as the plugin writes it.
func TestLegacyDriverEndToEnd(t *testing.T) {
	h := startHost(t, dockerImage)
	m := newCLI(t)
	plugin := filepath.Join(env.binDir, "docker-machine-driver-legacytest")

	help := m.ok(t, "create", "-d", "legacytest", "--help").Stdout
	for _, f := range []string{"--legacytest-ip-address", "--legacytest-ssh-port", "--legacytest-tag", "--legacytest-verbose", "LEGACYTEST_SSH_USER"} {
		if !strings.Contains(help, f) {
			t.Errorf("create -d legacytest --help lacks %s:\n%s", f, help)
		}
	}

	r := m.ok(t, "--debug", "create", "-d", "legacytest", "--legacytest-ip-address", h.IP, "--legacytest-ssh-key", env.keyPath,
		"--legacytest-tag", "a", "--legacytest-tag", "b", "l1")
	if strings.Contains(r.Stdout, "legacytest") {
		t.Errorf("the plugin's output reached stdout:\n%s", r.Stdout)
	}
	for _, want := range []string{"docker-machine-driver-legacytest.stderr: legacytest: creating l1", "docker-machine-driver-legacytest.stdout: legacytest: serving"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("--debug output lacks %q:\n%s", want, r.Stderr)
		}
	}

	t.Run("config", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(m.store, "machines", "l1", "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			DriverName string
			Driver     json.RawMessage
		}
		if err := json.Unmarshal(b, &cfg); err != nil {
			t.Fatal(err)
		}
		want := []byte(`{"IPAddress":"` + h.IP + `","MachineName":"l1","SSHUser":"root","SSHPort":22,"SSHKeyPath":"` +
			filepath.Join(m.store, "machines", "l1", "id_rsa") + `","StorePath":"` + m.store +
			`","SwarmMaster":false,"SwarmHost":"","SwarmDiscovery":"","EnginePort":2376,"SSHKey":"` + env.keyPath +
			`","Tags":["a","b"],"Verbose":false}`)
		var got bytes.Buffer
		if err := json.Compact(&got, cfg.Driver); err != nil {
			t.Fatal(err)
		}
		if cfg.DriverName != "legacytest" || got.String() != string(want) {
			t.Errorf("config.json: DriverName %q, Driver\n%s\nwant the plugin's JSON\n%s", cfg.DriverName, got.String(), want)
		}
	})

	t.Run("use", func(t *testing.T) {
		vars := parseEnv(t, m.ok(t, "env", "--shell", "bash", "l1").Stdout)
		if v, err := dockerVersion(t, vars); err != nil || v == "" {
			t.Fatalf("docker version through env: %v: %s", err, v)
		}
		if got := strings.TrimSpace(m.ok(t, "ssh", "l1", "hostname").Stdout); got != "l1" {
			t.Errorf("ssh l1 hostname = %q", got)
		}
		if ls := m.ok(t, "ls", "--format", "{{.Name}} {{.DriverName}} {{.State}}").Stdout; ls != "l1 legacytest Running\n" {
			t.Errorf("ls = %q, want l1 with driver legacytest, Running", ls)
		}
		if ip := m.ok(t, "ip", "l1").Stdout; ip != h.IP+"\n" {
			t.Errorf("ip l1 = %q, want %s", ip, h.IP)
		}
		if url := m.ok(t, "url", "l1").Stdout; url != "tcp://"+h.IP+":2376\n" {
			t.Errorf("url l1 = %q", url)
		}
		if st := m.ok(t, "status", "l1").Stdout; st != "Running\n" {
			t.Errorf("status l1 = %q", st)
		}
	})

	// The machine as docker-machine 0.16 would have stored it with this
	// plugin (its generic fixture, whose driver JSON has the same fields),
	// in place of ours.
	t.Run("docker-machine store", func(t *testing.T) {
		dir := filepath.Join(m.store, "machines", "l1")
		fixture, err := os.ReadFile(filepath.Join(env.root, "libmachine/store/testdata/docker-machine-0.16-generic.json"))
		if err != nil {
			t.Fatal(err)
		}
		cfg := strings.NewReplacer(
			`"generic"`, `"legacytest"`,
			`"10.0.0.5"`, `"`+h.IP+`"`,
			`"ubuntu"`, `"root"`,
			`"n1"`, `"l1"`,
			"/root/.ssh/id_rsa", env.keyPath,
			"/root/.docker/machine/machines/n1", dir,
			"/root/.docker/machine", m.store,
		).Replace(string(fixture))
		if strings.Contains(cfg, "n1") || !strings.Contains(cfg, `"DriverName": "legacytest"`) {
			t.Fatalf("fixture not adapted:\n%s", cfg)
		}
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := m.ok(t, "ip", "l1").Stdout; got != h.IP+"\n" {
			t.Errorf("ip = %q", got)
		}
		if got := strings.TrimSpace(m.ok(t, "ssh", "l1", "hostname").Stdout); got != "l1" {
			t.Errorf("ssh hostname = %q", got)
		}
		vars := parseEnv(t, m.ok(t, "env", "--shell", "bash", "l1").Stdout)
		if v, err := dockerVersion(t, vars); err != nil || v == "" {
			t.Fatalf("docker version: %v: %s", err, v)
		}
		if ls := m.ok(t, "ls", "--format", "{{.Name}} {{.DriverName}} {{.State}}").Stdout; ls != "l1 legacytest Running\n" {
			t.Errorf("ls = %q", ls)
		}
	})

	t.Run("lifecycle not supported", func(t *testing.T) {
		for _, op := range []string{"start", "stop", "restart", "kill"} {
			m.fails(t, "legacytest driver does not support "+op, op, "l1")
		}
	})

	m.ok(t, "rm", "-y", "l1")
	if names := m.ok(t, "ls", "-q").Stdout; names != "" {
		t.Errorf("store after rm: %q", names)
	}
	// Every command ended its plugin processes.
	if out, err := exec.Command("pgrep", "-f", plugin).Output(); err == nil {
		t.Errorf("plugin processes left running: %s", out)
	}
}

// TestLegacyDriverStartFailures: an executable that speaks neither
// protocol, or dies while starting, is one error line naming the file,
// found under either name.
func TestLegacyDriverStartFailures(t *testing.T) {
	dir := t.TempDir()
	m := newCLI(t)
	m.env = append(m.env, "PATH="+dir+string(os.PathListSeparator)+env.binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	for _, tc := range []struct{ file, script, want string }{
		{"docker-machine-driver-garbage", "echo 'Usage: garbage [options]'\nexec sleep 60", "speaks neither machine's driver protocol nor docker-machine's"},
		{"docker-machine-driver-dies", "echo 'no hypervisor here' >&2\nexit 2", "ended while starting (exit status 2): no hypervisor here"},
		{"machine-driver-garbage2", "echo 'Usage: garbage [options]'\nexec sleep 60", "speaks neither machine's driver protocol nor docker-machine's"},
		{"machine-driver-dies2", "echo 'no hypervisor here' >&2\nexit 2", "ended while starting: no hypervisor here"},
	} {
		path := filepath.Join(dir, tc.file)
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"+tc.script+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		driver := tc.file[strings.LastIndex(tc.file, "-")+1:]
		r := m.fails(t, tc.want, "create", "-d", driver, "x1")
		if !strings.Contains(r.Stderr, path) || strings.Count(r.Stderr, "\n") != 1 {
			t.Errorf("create -d %s: want one line naming %s, got:\n%s", driver, path, r.Stderr)
		}
	}
	if names := m.ok(t, "ls", "-q").Stdout; names != "" {
		t.Errorf("store after failed creates: %q", names)
	}
}

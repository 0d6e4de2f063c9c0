package integration

import (
	"crypto/tls"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// parseEnv reads the bash lines of `machine env` into a map, checking that
// every non-comment line is an export.
func parseEnv(t *testing.T, out string) map[string]string {
	t.Helper()
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		rest, ok := strings.CutPrefix(line, "export ")
		if !ok {
			t.Fatalf("env line %q is not an export", line)
		}
		k, v, _ := strings.Cut(rest, "=")
		vars[k] = strings.Trim(v, `"`)
	}
	return vars
}

// dockerVersion runs the real docker CLI with the variables from `env`.
func dockerVersion(t *testing.T, vars map[string]string) (string, error) {
	t.Helper()
	cmd := exec.Command("docker", "version", "--format", "{{.Server.Version}}")
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// TestGenericPreinstalled walks the user path against a host with Docker
// preinstalled: create, env, docker over mutual TLS, ssh, ip, url, ls,
// inspect, config, rm.
func TestGenericPreinstalled(t *testing.T) {
	h := startHost(t, dockerImage)
	m := newCLI(t)
	r := m.createGeneric(t, h, "n1", "--tls-san", "docker.example.test", "--tls-san", "192.0.2.44")
	if r.Stdout != "" {
		t.Errorf("create printed on stdout (progress belongs on stderr): %q", r.Stdout)
	}
	url := "tcp://" + h.IP + ":2376"
	machineDir := filepath.Join(m.store, "machines", "n1")

	t.Run("env", func(t *testing.T) {
		out := m.ok(t, "env", "--shell", "bash", "n1").Stdout
		hint := "# Run this command to configure your shell: \n# eval $(" + env.bin + " -s " + m.store + " env --shell bash n1)\n"
		if !strings.HasSuffix(out, hint) {
			t.Errorf("env does not end with the hint %q:\n%s", hint, out)
		}
		vars := parseEnv(t, out)
		want := map[string]string{"DOCKER_TLS_VERIFY": "1", "DOCKER_HOST": url, "DOCKER_CERT_PATH": machineDir, "DOCKER_MACHINE_NAME": "n1"}
		for k, v := range want {
			if vars[k] != v {
				t.Errorf("%s = %q, want %q", k, vars[k], v)
			}
		}
		v, err := dockerVersion(t, vars)
		if err != nil || v == "" {
			t.Fatalf("docker version through env: %v: %s", err, v)
		}
	})
	t.Run("no client certificate is refused", func(t *testing.T) {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		resp, err := c.Get("https://" + h.IP + ":2376/version")
		if err == nil {
			resp.Body.Close()
			t.Fatalf("GET /version without a client certificate: %s, want a refused handshake", resp.Status)
		}
	})
	t.Run("ssh", func(t *testing.T) {
		if got := strings.TrimSpace(m.ok(t, "ssh", "n1", "hostname").Stdout); got != "n1" {
			t.Errorf("ssh n1 hostname = %q, want n1", got)
		}
		if r := m.run(t, "ssh", "n1", "exit", "3"); r.Code != 3 {
			t.Errorf("ssh n1 exit 3: exit code %d, want 3 (stderr %q)", r.Code, r.Stderr)
		}
	})
	t.Run("server certificate SANs", func(t *testing.T) {
		cert := serverCert(t, machineDir)
		for _, name := range []string{h.IP, "n1", "localhost", "docker.example.test", "192.0.2.44"} {
			if err := cert.VerifyHostname(name); err != nil {
				t.Errorf("server certificate not valid for %s: %v", name, err)
			}
		}
	})
	t.Run("ip and url", func(t *testing.T) {
		if got := m.ok(t, "--native-ssh", "ip", "n1").Stdout; got != h.IP+"\n" {
			t.Errorf("ip = %q, want %q", got, h.IP+"\n")
		}
		if got := m.ok(t, "url", "n1").Stdout; got != url+"\n" {
			t.Errorf("url = %q, want %q", got, url+"\n")
		}
	})
	t.Run("ls", func(t *testing.T) {
		out := m.ok(t, "ls").Stdout
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") {
			t.Fatalf("ls:\n%s", out)
		}
		f := strings.Fields(lines[1])
		if len(f) < 6 || f[0] != "n1" || f[2] != "generic" || f[3] != "Running" || f[4] != url || !strings.HasPrefix(f[5], "v") {
			t.Errorf("ls row %q, want n1 - generic Running %s v...", lines[1], url)
		}
		if got := m.ok(t, "ls", "-q").Stdout; got != "n1\n" {
			t.Errorf("ls -q = %q", got)
		}
	})
	t.Run("inspect and config", func(t *testing.T) {
		if got := m.ok(t, "inspect", "-f", "{{.Driver.IPAddress}} {{.DriverName}}", "n1").Stdout; got != h.IP+" generic\n" {
			t.Errorf("inspect -f = %q", got)
		}
		out := m.ok(t, "config", "n1").Stdout
		if !strings.Contains(out, "-H="+url) || !strings.Contains(out, "--tlsverify") {
			t.Errorf("config:\n%s", out)
		}
	})
	t.Run("engine configured by drop-in", func(t *testing.T) {
		dropin := h.exec(t, "cat /etc/systemd/system/docker.service.d/*.conf")
		for _, want := range []string{"--tlsverify", "provider=generic", "/usr/sbin/dockerd"} {
			if !strings.Contains(dropin, want) {
				t.Errorf("drop-in lacks %q:\n%s", want, dropin)
			}
		}
	})
	t.Run("power operations the generic driver cannot do", func(t *testing.T) {
		for _, op := range []string{"start", "stop", "kill"} {
			m.fails(t, "the generic driver cannot "+op+" a machine", op, "n1")
		}
		if st := m.ok(t, "ls", "--format", "{{.State}}").Stdout; st != "Running\n" {
			t.Errorf("state after refused power operations: %q", st)
		}
	})
	t.Run("rm", func(t *testing.T) {
		m.ok(t, "rm", "-y", "n1")
		if _, err := os.Stat(machineDir); !os.IsNotExist(err) {
			t.Errorf("machine dir after rm: %v", err)
		}
		if got := m.ok(t, "ls", "-q").Stdout; got != "" {
			t.Errorf("ls -q after rm = %q", got)
		}
	})
}

// TestGenericDistroInstall creates a machine on a host without Docker,
// installing Debian's docker.io.
func TestGenericDistroInstall(t *testing.T) {
	h := startHost(t, baseImage)
	m := newCLI(t)
	m.createGeneric(t, h, "d1", "--engine-install-url", "distro")
	vars := parseEnv(t, m.ok(t, "env", "--shell", "bash", "d1").Stdout)
	if v, err := dockerVersion(t, vars); err != nil || v == "" {
		t.Fatalf("docker version: %v: %s", err, v)
	}
	if got := strings.TrimSpace(h.exec(t, "command -v dockerd")); got != "/usr/sbin/dockerd" {
		t.Errorf("dockerd at %q", got)
	}
	if got := strings.TrimSpace(m.ok(t, "ssh", "d1", "hostname").Stdout); got != "d1" {
		t.Errorf("hostname %q, want d1", got)
	}
}

// TestCreateRollback: a create that fails half-way (dockerd refuses a bad
// --engine-opt) leaves nothing in the store and restores the host's engine.
func TestCreateRollback(t *testing.T) {
	h := startHost(t, dockerImage)
	m := newCLI(t)
	r := m.fails(t, "provision", "create", "-d", "generic", "--generic-ip-address", h.IP,
		"--generic-ssh-key", env.keyPath, "--engine-opt", "no-such-dockerd-flag=1", "bad1")
	if !strings.Contains(r.Stderr, "no-such-dockerd-flag") {
		t.Errorf("error does not show dockerd's complaint from the journal:\n%s", r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(m.store, "machines", "bad1")); !os.IsNotExist(err) {
		t.Errorf("machine dir left behind: %v", err)
	}
	if out := h.exec(t, "ls /etc/systemd/system/docker.service.d/ 2>/dev/null | wc -l"); strings.TrimSpace(out) != "0" {
		t.Errorf("drop-in left on the host: %s", out)
	}
	if out := h.exec(t, "systemctl is-active docker || true"); strings.TrimSpace(out) != "active" {
		t.Errorf("docker on the host after rollback: %s", out)
	}
	// The same name works afterwards, also on a host whose docker socket
	// file was unlinked by another tool's dockerd (docker-machine's and
	// rancher/machine's bind the path themselves and remove it on stop).
	h.exec(t, "systemctl stop docker.service && rm -f /run/docker.sock")
	m.createGeneric(t, h, "bad1")
	if out := h.exec(t, "docker version >/dev/null 2>&1 && echo ok || { ls -l /run/docker.sock; docker version; } 2>&1 || true"); strings.TrimSpace(out) != "ok" {
		t.Errorf("docker on the host's own socket after create:\n%s", out)
	}
}

// TestConcurrentCreates: two creates on a new store at once share one CA,
// and both machines answer through env.
func TestConcurrentCreates(t *testing.T) {
	hosts := []*testHost{startHost(t, dockerImage), startHost(t, dockerImage)}
	m := newCLI(t)
	var wg sync.WaitGroup
	results := make([]result, len(hosts))
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = m.run(t, "create", "-d", "generic", "--generic-ip-address", h.IP, "--generic-ssh-key", env.keyPath, "c"+string(rune('1'+i)))
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.Code != 0 {
			t.Fatalf("create c%d: exit %d\n%s", i+1, r.Code, r.Stderr)
		}
	}
	for _, name := range []string{"c1", "c2"} {
		vars := parseEnv(t, m.ok(t, "env", "--shell", "bash", name).Stdout)
		if v, err := dockerVersion(t, vars); err != nil || v == "" {
			t.Errorf("%s: docker version: %v: %s", name, err, v)
		}
	}
}

// TestHostKeyChanged: after the host's SSH key changes, ssh refuses with a
// message that says how to accept the new key; doing so works.
func TestHostKeyChanged(t *testing.T) {
	h := startHost(t, dockerImage)
	m := newCLI(t)
	t.Run("wrong client key", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "id_ed25519")
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v %s", err, out)
		}
		m.fails(t, "permission denied", "create", "-d", "generic", "--generic-ip-address", h.IP, "--generic-ssh-key", other, "k1")
		if _, err := os.Stat(filepath.Join(m.store, "machines", "k1")); !os.IsNotExist(err) {
			t.Errorf("machine dir left behind: %v", err)
		}
	})
	t.Run("pinned host key", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "other")
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v %s", err, out)
		}
		wrong, err := os.ReadFile(other + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		m.fails(t, "host key does not match", "create", "-d", "generic", "--generic-ip-address", h.IP,
			"--generic-ssh-key", env.keyPath, "--ssh-host-key", strings.TrimSpace(string(wrong)), "k0")
		if _, err := os.Stat(filepath.Join(m.store, "machines", "k0")); !os.IsNotExist(err) {
			t.Errorf("machine dir left behind: %v", err)
		}
		right := filepath.Join(t.TempDir(), "hostkey.pub")
		if err := os.WriteFile(right, []byte(h.exec(t, "cat /etc/ssh/ssh_host_ed25519_key.pub")), 0o644); err != nil {
			t.Fatal(err)
		}
		m.createGeneric(t, h, "k0", "--ssh-host-key", right)
		m.ok(t, "rm", "-y", "k0")
	})
	m.createGeneric(t, h, "k1")
	m.ok(t, "ssh", "k1", "true")
	h.exec(t, "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && systemctl restart ssh")
	known := filepath.Join(m.store, "machines", "k1", "known_hosts")
	r := m.fails(t, "changed", "ssh", "k1", "true")
	if !strings.Contains(r.Stderr, known) {
		t.Errorf("message does not name %s:\n%s", known, r.Stderr)
	}
	if err := os.Remove(known); err != nil {
		t.Fatal(err)
	}
	m.ok(t, "ssh", "k1", "true")
}

// TestNonRootUser provisions through a user with passwordless sudo, as on
// cloud images where root cannot log in.
func TestNonRootUser(t *testing.T) {
	h := startHost(t, dockerImage)
	h.exec(t, `useradd -m -s /bin/bash deploy && echo 'deploy ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/deploy &&
mkdir -p /home/deploy/.ssh && cp /root/.ssh/authorized_keys /home/deploy/.ssh/ && chown -R deploy: /home/deploy/.ssh && chmod 700 /home/deploy/.ssh`)
	m := newCLI(t)
	m.createGeneric(t, h, "u1", "--generic-ssh-user", "deploy", "--engine-label", "team=infra")
	vars := parseEnv(t, m.ok(t, "env", "--shell", "bash", "u1").Stdout)
	if v, err := dockerVersion(t, vars); err != nil || v == "" {
		t.Fatalf("docker version: %v: %s", err, v)
	}
	if got := strings.TrimSpace(m.ok(t, "ssh", "u1", "id", "-un").Stdout); got != "deploy" {
		t.Errorf("ssh logs in as %q, want deploy", got)
	}
	if got := strings.TrimSpace(h.exec(t, "hostname")); got != "u1" {
		t.Errorf("hostname %q, want u1", got)
	}
	if out := h.exec(t, "stat -c '%a %U' /etc/docker/server-key.pem"); strings.TrimSpace(out) != "600 root" {
		t.Errorf("server key on the host: %s", out)
	}
	if got := m.ok(t, "ls", "-q", "--filter", "label=team=infra").Stdout; got != "u1\n" {
		t.Errorf("ls --filter label=team=infra = %q", got)
	}
	if got := m.ok(t, "ls", "-q", "--filter", "label=team=other").Stdout; got != "" {
		t.Errorf("ls --filter label=team=other = %q", got)
	}
	if out := h.exec(t, "cat /etc/systemd/system/docker.service.d/10-machine.conf"); !strings.Contains(out, "team=infra") {
		t.Errorf("engine label missing from the drop-in:\n%s", out)
	}
}

// TestCreateInterrupted: a Ctrl-C (SIGINT) or a SIGTERM sent to the whole
// process group, as a terminal or a service manager does, during
// provisioning rolls the create back, with the driver still there to help.
// The error proves the signal arrived while provisioning ran: it names the
// provisioning step and the signal, not an earlier failure.
func TestCreateInterrupted(t *testing.T) {
	h := startHost(t, dockerImage)
	m := newCLI(t)
	for _, tc := range []struct {
		sig   syscall.Signal
		cause string
	}{{syscall.SIGINT, "interrupt"}, {syscall.SIGTERM, "terminated"}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			log, err := createAndSignal(t, m, h, "i1", "Configuring Docker", tc.sig)
			if err == nil {
				t.Fatalf("interrupted create exited 0:\n%s", log)
			}
			var errLine string
			for _, l := range strings.Split(log, "\n") {
				if strings.HasPrefix(l, "Error: ") {
					errLine = l
				}
			}
			if !strings.Contains(errLine, "provision i1: ") || !strings.Contains(errLine, tc.cause) {
				t.Errorf("error line %q does not name the provisioning step and the %s signal:\n%s", errLine, tc.cause, log)
			}
			if strings.Contains(log, "panic") || strings.Contains(log, "warning:") {
				t.Errorf("interrupted create's output:\n%s", log)
			}
			if _, err := os.Stat(filepath.Join(m.store, "machines", "i1")); !os.IsNotExist(err) {
				t.Errorf("interrupted create left i1 in the store: %v\n%s", err, log)
			}
			if out := h.exec(t, "ls /etc/systemd/system/docker.service.d/ 2>/dev/null | wc -l"); strings.TrimSpace(out) != "0" {
				t.Errorf("interrupted create left its drop-in on the host")
			}
			if out := h.exec(t, "systemctl is-active docker || true"); strings.TrimSpace(out) != "active" {
				t.Errorf("docker on the host after the rollback: %s", out)
			}
		})
	}
}

// TestDefaultSSHKey: without --generic-ssh-key, create and ssh log in with
// the user's default key (~/.ssh/id_ed25519), as OpenSSH would.
func TestDefaultSSHKey(t *testing.T) {
	h := startHost(t, dockerImage)
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(env.keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	m := newCLI(t)
	m.env = []string{"HOME=" + home, "SSH_AUTH_SOCK="}
	m.ok(t, "create", "-d", "generic", "--generic-ip-address", h.IP, "dk1")
	if got := strings.TrimSpace(m.ok(t, "ssh", "dk1", "hostname").Stdout); got != "dk1" {
		t.Errorf("ssh hostname = %q", got)
	}
	m.env = []string{"HOME=" + t.TempDir(), "SSH_AUTH_SOCK="}
	m.fails(t, "no key given", "ssh", "dk1", "true")
}

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

// startHosts starts n test hosts from image at once.
func startHosts(t *testing.T, image string, n int) []*testHost {
	t.Helper()
	hosts := make([]*testHost, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hosts[i], errs[i] = launchHost(t, image)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return hosts
}

// createGenerics creates one generic machine per host at once, machine i
// named names[i] with extra[i] flags.
func (m *machineCLI) createGenerics(t *testing.T, hosts []*testHost, names []string, extra [][]string) {
	t.Helper()
	results := make([]result, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := append([]string{"create", "-d", "generic", "--generic-ip-address", h.IP, "--generic-ssh-key", env.keyPath}, extra[i]...)
			results[i] = m.run(t, append(args, names[i])...)
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.Code != 0 {
			t.Fatalf("create %s: exit %d\n%s", names[i], r.Code, r.Stderr)
		}
	}
}

// envDockerVersion runs `docker version` through `machine env NAME`.
func (m *machineCLI) envDockerVersion(t *testing.T, name string) map[string]string {
	t.Helper()
	vars := parseEnv(t, m.ok(t, "env", "--shell", "bash", name).Stdout)
	if v, err := dockerVersion(t, vars); err != nil || v == "" {
		t.Fatalf("docker version through env %s: %v: %s", name, err, v)
	}
	return vars
}

// lsErrors returns the ERRORS of each machine `ls` lists.
func (m *machineCLI) lsErrors(t *testing.T) map[string]string {
	t.Helper()
	out := m.ok(t, "ls", "--format", "{{.Name}}\t{{.Error}}").Stdout
	errs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name, e, _ := strings.Cut(line, "\t")
		errs[name] = e
	}
	return errs
}

// replaceInFile replaces every old in path by new.
func replaceInFile(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not hold %q", path, old)
	}
	if err := os.WriteFile(path, bytes.ReplaceAll(b, []byte(old), []byte(new)), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRegenerateCerts: regenerate-certs gives a machine a new server
// certificate and keeps env working; it mends a machine whose address
// changed, which env, ls and config report with a line naming it;
// --client-certs renews the store's CA, names the other machine that needs
// new certificates too, which then fails until regenerate-certs mends it;
// and the command's user errors.
func TestRegenerateCerts(t *testing.T) {
	hosts := startHosts(t, dockerImage, 2)
	h1, h2 := hosts[0], hosts[1]
	m := newCLI(t)
	m.createGenerics(t, hosts, []string{"n1", "n2"}, [][]string{
		{"--tls-san", "docker.example.test", "--tls-san", "192.0.2.44"}, nil,
	})
	n1Dir := filepath.Join(m.store, "machines", "n1")
	certsDir := filepath.Join(m.store, "certs")

	t.Run("keeps env working with a new server certificate", func(t *testing.T) {
		before := m.envDockerVersion(t, "n1")
		old := serverCert(t, n1Dir)
		r := m.ok(t, "regenerate-certs", "-f", "n1")
		if r.Stdout != "" || !strings.Contains(r.Stderr, "Regenerated the certificates of n1.") {
			t.Errorf("regenerate-certs: stdout %q, stderr:\n%s", r.Stdout, r.Stderr)
		}
		cert := serverCert(t, n1Dir)
		if cert.SerialNumber.Cmp(old.SerialNumber) == 0 {
			t.Error("the server certificate's serial did not change")
		}
		for _, name := range []string{h1.IP, "n1", "docker.example.test", "192.0.2.44"} {
			if err := cert.VerifyHostname(name); err != nil {
				t.Errorf("new server certificate not valid for %s: %v", name, err)
			}
		}
		// The host serves the new certificate.
		served := h1.exec(t, "openssl x509 -noout -serial -in /etc/docker/server.pem")
		if want := strings.ToUpper(cert.SerialNumber.Text(16)); !strings.Contains(served, want) {
			t.Errorf("host's server.pem has %s, want serial %s", served, want)
		}
		// A shell that ran env before keeps working; env still works too.
		if v, err := dockerVersion(t, before); err != nil || v == "" {
			t.Errorf("docker version with the earlier env: %v: %s", err, v)
		}
		m.envDockerVersion(t, "n1")
	})

	t.Run("user errors", func(t *testing.T) {
		serial := serverCert(t, n1Dir).SerialNumber
		r := m.runInput(t, strings.NewReader("n\n"), "regenerate-certs", "n1")
		wantFailure(t, r, "not confirmed: no certificates regenerated (pass -f to regenerate without asking)", "regenerate-certs n1, answered n: ")
		if !strings.Contains(r.Stderr, "Are you sure? (y/n)") {
			t.Errorf("no question asked:\n%s", r.Stderr)
		}
		m.fails(t, "no answer on stdin: no certificates regenerated", "regenerate-certs", "n1")
		m.fails(t, `machine "nope" does not exist`, "regenerate-certs", "-f", "nope")
		m.fails(t, "flag provided but not defined: -bogus", "regenerate-certs", "--bogus", "n1")
		if serverCert(t, n1Dir).SerialNumber.Cmp(serial) != 0 {
			t.Error("a refused regenerate-certs changed the server certificate")
		}
	})

	t.Run("mends a machine whose address changed", func(t *testing.T) {
		// The host gets a second address on its network; the machine's
		// config is moved to it, as when a VM's address changes.
		newIP := h1.IP[:strings.LastIndex(h1.IP, ".")] + ".250"
		h1.exec(t, "ip addr add "+newIP+"/24 dev eth0")
		replaceInFile(t, filepath.Join(n1Dir, "config.json"), `"`+h1.IP, `"`+newIP)
		replaceInFile(t, filepath.Join(n1Dir, "config.json"), "//"+h1.IP+":", "//"+newIP+":")

		want := `machine n1's certificate is valid for ` + h1.IP + `, 192.0.2.44, not ` + newIP + `: run "machine regenerate-certs n1"`
		m.fails(t, want, "env", "n1")
		m.fails(t, want, "config", "n1")
		if got := m.lsErrors(t)["n1"]; got != want {
			t.Errorf("ls ERRORS of n1 = %q, want %q", got, want)
		}

		// A host that does not serve the new certificate (its dockerd is
		// pinned to a copy of the old one) is put back as it was, and so
		// are the machine's files.
		const dropIn = "/etc/systemd/system/docker.service.d/10-machine.conf"
		const pin = "s#/etc/docker/server.pem#/etc/docker/pinned.pem#; s#/etc/docker/server-key.pem#/etc/docker/pinned-key.pem#"
		const unpin = "s#/etc/docker/pinned.pem#/etc/docker/server.pem#; s#/etc/docker/pinned-key.pem#/etc/docker/server-key.pem#"
		h1.exec(t, "cp -p /etc/docker/server.pem /etc/docker/pinned.pem && cp -p /etc/docker/server-key.pem /etc/docker/pinned-key.pem && "+
			"sed -i '"+pin+"' "+dropIn+" && systemctl daemon-reload && systemctl restart docker")
		hostServer := h1.exec(t, "cat /etc/docker/server.pem")
		serial := serverCert(t, n1Dir).SerialNumber
		r := m.fails(t, "docker does not answer over TLS on port 2376", "regenerate-certs", "-f", "n1")
		if !strings.Contains(r.Stderr, "Putting back the certificates n1 had") {
			t.Errorf("no rollback reported:\n%s", r.Stderr)
		}
		if serverCert(t, n1Dir).SerialNumber.Cmp(serial) != 0 {
			t.Error("a failed regenerate-certs changed the machine's server certificate")
		}
		if got := h1.exec(t, "cat /etc/docker/server.pem"); got != hostServer {
			t.Error("a failed regenerate-certs left a new server certificate on the host")
		}
		if got := h1.exec(t, "ls /var/lib/machine/backup/ 2>/dev/null | wc -l; systemctl is-active docker"); got != "0\nactive\n" {
			t.Errorf("after the rollback: backups and docker state %q, want none and active", got)
		}
		m.fails(t, want, "env", "n1")
		h1.exec(t, "sed -i '"+unpin+"' "+dropIn+" && rm /etc/docker/pinned.pem /etc/docker/pinned-key.pem && systemctl daemon-reload && systemctl restart docker")

		m.ok(t, "regenerate-certs", "-f", "n1")
		vars := m.envDockerVersion(t, "n1")
		if vars["DOCKER_HOST"] != "tcp://"+newIP+":2376" {
			t.Errorf("DOCKER_HOST = %q after regenerate-certs, want the new address", vars["DOCKER_HOST"])
		}
		cert := serverCert(t, n1Dir)
		for _, name := range []string{newIP, "docker.example.test", "192.0.2.44"} {
			if err := cert.VerifyHostname(name); err != nil {
				t.Errorf("server certificate not valid for %s: %v", name, err)
			}
		}
		if got := m.lsErrors(t)["n1"]; got != "" {
			t.Errorf("ls ERRORS of n1 = %q after regenerate-certs", got)
		}
	})

	t.Run("client certs renew the CA", func(t *testing.T) {
		oldCA, oldClient := readText(t, filepath.Join(certsDir, "ca.pem")), readText(t, filepath.Join(certsDir, "cert.pem"))
		r := m.ok(t, "regenerate-certs", "-f", "--client-certs", "n1")
		for _, want := range []string{"WARNING: --client-certs replaces the store's CA", "The server certificates of n2 were signed by the old CA", "machine regenerate-certs n2\n"} {
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
			}
		}
		newCA, newClient := readText(t, filepath.Join(certsDir, "ca.pem")), readText(t, filepath.Join(certsDir, "cert.pem"))
		if newCA == oldCA || newClient == oldClient {
			t.Fatal("the store's CA or client certificate did not change")
		}
		if readText(t, filepath.Join(n1Dir, "cert.pem")) != newClient || readText(t, filepath.Join(n1Dir, "ca.pem")) != newCA {
			t.Error("n1's directory does not hold the new CA and client certificate")
		}
		m.envDockerVersion(t, "n1")

		// n2 was signed by the old CA: refused by env, config and ls, and
		// its dockerd refuses the new client certificate.
		want := `machine n2's certificate is not signed by the CA ` + filepath.Join(certsDir, "ca.pem") + `: run "machine regenerate-certs n2"`
		m.fails(t, want, "env", "n2")
		m.fails(t, want, "config", "n2")
		if got := m.lsErrors(t)["n2"]; got != want {
			t.Errorf("ls ERRORS of n2 = %q, want %q", got, want)
		}
		out, err := exec.Command("docker", "--tlsverify", "--tlscacert", filepath.Join(certsDir, "ca.pem"),
			"--tlscert", filepath.Join(certsDir, "cert.pem"), "--tlskey", filepath.Join(certsDir, "key.pem"),
			"-H", "tcp://"+h2.IP+":2376", "version", "--format", "{{.Server.Version}}").CombinedOutput()
		if err == nil {
			t.Errorf("n2's dockerd accepted the new client certificate before regenerate-certs: %s", out)
		}

		m.ok(t, "regenerate-certs", "-f", "n2")
		m.envDockerVersion(t, "n2")
		// The docker contexts create registered follow the new CA and
		// client certificate.
		for _, name := range []string{"n1", "n2"} {
			if out, err := dockerCLI(t, m.dockerConfig(), "--context", name, "version", "--format", "{{.Server.Version}}"); err != nil {
				t.Errorf("docker --context %s version after regenerate-certs: %v: %s", name, err, out)
			}
		}
		for name, e := range m.lsErrors(t) {
			if e != "" {
				t.Errorf("ls ERRORS of %s = %q", name, e)
			}
		}
	})
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

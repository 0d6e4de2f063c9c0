package integration

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/machine-cli/machine/internal/standin"
)

// dockerCLI runs the real docker CLI with DOCKER_CONFIG set to dir, HOME
// set to a directory of the test, and none of the variables that override
// contexts (DOCKER_HOST, DOCKER_CONTEXT, DOCKER_TLS_VERIFY,
// DOCKER_CERT_PATH), so that only the current context or --context choose
// the engine.
func dockerCLI(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("docker", args...)
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONFIG", "HOME":
		default:
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "DOCKER_CONFIG="+dir, "HOME="+filepath.Join(filepath.Dir(dir), "home"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return strings.TrimSpace(stdout.String() + stderr.String()), err
	}
	return strings.TrimSpace(stdout.String()), nil
}

// okDocker is dockerCLI that fails the test when docker fails.
func okDocker(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := dockerCLI(t, dir, args...)
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// contextNames lists the contexts the docker CLI sees.
func contextNames(t *testing.T, dir string) []string {
	t.Helper()
	return strings.Fields(okDocker(t, dir, "context", "ls", "--format", "{{.Name}}"))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestDockerContextFormat: the meta.json and TLS files that the docker CLI
// writes for `docker context create` are those machine writes (the golden
// file of the dockercontext package is docker's own output).
func TestDockerContextFormat(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "docker")
	tls := t.TempDir()
	// docker checks the PEM files: a self-signed certificate serves as CA
	// and client certificate.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "xy"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	for f, data := range map[string][]byte{"ca.pem": certPEM, "cert.pem": certPEM, "key.pem": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})} {
		if err := os.WriteFile(filepath.Join(tls, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	okDocker(t, dir, "context", "create", "xy", "--description", "hello",
		"--docker", "host=tcp://1.2.3.4:2376,ca="+filepath.Join(tls, "ca.pem")+",cert="+filepath.Join(tls, "cert.pem")+",key="+filepath.Join(tls, "key.pem"))
	// sha256("xy")
	const id = "769a4e6d0003189c7e96c5d9b7e810a0d11c3a12832527ec94b0f86d277f51ca"
	got, err := os.ReadFile(filepath.Join(dir, "contexts", "meta", id, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(env.root, "libmachine", "dockercontext", "testdata", "meta-docker.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("docker wrote\n%s\nmachine's golden file holds\n%s", got, want)
	}
	for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
		fi, err := os.Stat(filepath.Join(dir, "contexts", "tls", id, "docker", f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("docker wrote %s with mode %v; machine writes 0600", f, fi.Mode().Perm())
		}
	}
	okDocker(t, dir, "context", "use", "xy")
	cfg, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(cfg, &m); err != nil || m["currentContext"] != "xy" {
		t.Fatalf("docker's config.json after context use: %s (%v)", cfg, err)
	}
}

// TestDockerContexts drives the docker CLI through the contexts machine
// registers, on one test host: a failed create registers nothing; create
// registers; use and use -u switch the current context; rm removes it; a
// context the user made is never touched.
func TestDockerContexts(t *testing.T) {
	h := startHost(t, dockerImage)
	m := newCLI(t)
	dc := m.dockerConfig()

	t.Run("a failed create registers nothing", func(t *testing.T) {
		m.fails(t, "start docker", "create", "-d", "generic", "--generic-ip-address", h.IP, "--generic-ssh-key", env.keyPath,
			"--engine-opt", "no-such-dockerd-flag=1", "n0")
		if names := contextNames(t, dc); len(names) != 1 || names[0] != "default" {
			t.Fatalf("contexts after a failed create: %v, want default only", names)
		}
		if entries, _ := os.ReadDir(filepath.Join(dc, "contexts", "meta")); len(entries) != 0 {
			t.Fatalf("contexts/meta holds %d entries after a failed create", len(entries))
		}
	})

	r := m.createGeneric(t, h, "n1")
	if !strings.Contains(r.Stderr, "Registered docker context n1") {
		t.Errorf("create does not say it registered the context:\n%s", r.Stderr)
	}
	t.Run("docker --context n1 version", func(t *testing.T) {
		if v := okDocker(t, dc, "--context", "n1", "version", "--format", "{{.Server.Version}}"); v == "" {
			t.Fatal("no server version")
		}
		var inspect []struct {
			Metadata  map[string]string
			Endpoints map[string]struct{ Host string }
		}
		out := okDocker(t, dc, "context", "inspect", "n1")
		if err := json.Unmarshal([]byte(out), &inspect); err != nil || len(inspect) != 1 {
			t.Fatalf("docker context inspect n1: %v\n%s", err, out)
		}
		if got := inspect[0].Metadata["MachineStore"]; got != m.store {
			t.Errorf("MachineStore = %q, want %q", got, m.store)
		}
		if got := inspect[0].Endpoints["docker"].Host; got != "tcp://"+h.IP+":2376" {
			t.Errorf("endpoint %q, want tcp://%s:2376", got, h.IP)
		}
		if got := okDocker(t, dc, "context", "show"); got != "default" {
			t.Errorf("create changed the current context to %q", got)
		}
	})
	t.Run("use n1, then docker version", func(t *testing.T) {
		r := m.ok(t, "use", "n1")
		if r.Stdout != "" || strings.Contains(r.Stderr, "warning") {
			t.Errorf("use n1: stdout %q, stderr %q", r.Stdout, r.Stderr)
		}
		if got := okDocker(t, dc, "context", "show"); got != "n1" {
			t.Fatalf("docker context show = %q, want n1", got)
		}
		if v := okDocker(t, dc, "version", "--format", "{{.Server.Version}}"); v == "" {
			t.Fatal("no server version")
		}
	})
	t.Run("use with DOCKER_HOST set warns", func(t *testing.T) {
		r := m.withEnv("DOCKER_HOST=tcp://127.0.0.1:"+strconv.Itoa(standin.ClosedPort(t))).ok(t, "use", "n1")
		if n := strings.Count(r.Stderr, "\n"); n != 2 || !strings.Contains(r.Stderr, "warning: DOCKER_HOST is set and overrides docker contexts; unset it with `eval $(machine env -u)`") {
			t.Errorf("stderr (want the switch and one warning line):\n%s", r.Stderr)
		}
	})
	t.Run("use -u", func(t *testing.T) {
		m.ok(t, "use", "-u")
		if got := okDocker(t, dc, "context", "show"); got != "default" {
			t.Fatalf("docker context show = %q, want default", got)
		}
	})
	t.Run("use registers a missing context", func(t *testing.T) {
		// As for a machine made before contexts, or by docker-machine.
		okDocker(t, dc, "context", "rm", "n1")
		m.ok(t, "use", "n1")
		if v := okDocker(t, dc, "version", "--format", "{{.Server.Version}}"); v == "" {
			t.Fatal("no server version")
		}
	})
	t.Run("without DOCKER_CONFIG, HOME/.docker", func(t *testing.T) {
		home := t.TempDir()
		m.withEnv("DOCKER_CONFIG=", "HOME="+home).ok(t, "use", "n1")
		dir := filepath.Join(home, ".docker")
		if got := okDocker(t, dir, "context", "show"); got != "n1" {
			t.Fatalf("docker context show in HOME/.docker = %q, want n1", got)
		}
		if v := okDocker(t, dir, "version", "--format", "{{.Server.Version}}"); v == "" {
			t.Fatal("no server version")
		}
		if got := okDocker(t, dc, "context", "show"); got != "n1" {
			t.Fatalf("DOCKER_CONFIG's current context changed to %q", got)
		}
	})
	t.Run("use errors", func(t *testing.T) {
		cfg := filepath.Join(dc, "config.json")
		before, err := os.ReadFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		m.fails(t, `machine "ghost" does not exist`, "use", "ghost")
		corrupt := []byte(`{"auths": {}, "currentContext": "n1"`)
		if err := os.WriteFile(cfg, corrupt, 0o600); err != nil {
			t.Fatal(err)
		}
		m.fails(t, cfg+": invalid JSON", "use", "-u")
		m.fails(t, cfg+": invalid JSON", "use", "n1")
		if after, _ := os.ReadFile(cfg); !bytes.Equal(after, corrupt) {
			t.Fatalf("use changed a corrupt config.json: %q", after)
		}
		if err := os.WriteFile(cfg, before, 0o600); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("rm removes the context and resets the current one", func(t *testing.T) {
		r := m.ok(t, "rm", "-y", "n1")
		if !strings.Contains(r.Stderr, "Docker context n1 was the current one; docker uses its default context again.") {
			t.Errorf("rm does not say the current context changed:\n%s", r.Stderr)
		}
		if names := contextNames(t, dc); contains(names, "n1") {
			t.Fatalf("docker context ls still lists n1: %v", names)
		}
		if got := okDocker(t, dc, "context", "show"); got != "default" {
			t.Fatalf("docker context show = %q, want default", got)
		}
	})
	t.Run("a context the user made is left alone", func(t *testing.T) {
		user := "tcp://127.0.0.1:" + strconv.Itoa(standin.ClosedPort(t))
		okDocker(t, dc, "context", "create", "n2", "--description", "mine", "--docker", "host="+user)
		meta := filepath.Join(dc, "contexts", "meta")
		before := readTree(t, meta)
		r := m.createGeneric(t, h, "n2")
		if !strings.Contains(r.Stderr, "warning: docker context \"n2\" exists and was not made by machine; to register machine n2 instead, run `docker context rm n2`, then `machine use n2`") {
			t.Errorf("create does not warn about the conflict:\n%s", r.Stderr)
		}
		if after := readTree(t, meta); after != before {
			t.Fatalf("create changed the user's context:\n%s\nwas\n%s", after, before)
		}
		m.fails(t, "docker context \"n2\" exists and was not made by machine", "use", "n2")
		if got := okDocker(t, dc, "context", "show"); got != "default" {
			t.Errorf("a refused use changed the current context to %q", got)
		}
		// The machine itself works, through env.
		if v, err := dockerVersion(t, parseEnv(t, m.ok(t, "env", "--shell", "bash", "n2").Stdout)); err != nil || v == "" {
			t.Errorf("docker version through env: %v: %s", err, v)
		}
		m.ok(t, "rm", "-y", "n2")
		if after := readTree(t, meta); after != before {
			t.Fatalf("rm changed the user's context:\n%s\nwas\n%s", after, before)
		}
		if got := okDocker(t, dc, "context", "inspect", "n2", "--format", "{{.Endpoints.docker.Host}}"); got != user {
			t.Errorf("the user's context n2 points at %q, want %q", got, user)
		}
	})
}

// readTree returns the names and contents of the files below dir.
func readTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		b.WriteString(p + ": " + string(data) + "\n")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

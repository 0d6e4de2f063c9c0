package integration

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ownCA makes, with openssl, a CA and a client pair it signed in dir (RSA
// keys, as another tool makes them) and returns their paths.
func ownCA(t *testing.T, dir string) (caCert, caKey, clientCert, clientKey string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	script := `set -e
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 30 -subj /CN=own-ca 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout key.pem -out client.csr -subj /CN=own-client 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out cert.pem -days 30 -extfile client.ext 2>/dev/null`
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	return filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
}

// tlsArgs are the four --tls-* flags.
func tlsArgs(caCert, caKey, clientCert, clientKey string) []string {
	return []string{"--tls-ca-cert", caCert, "--tls-ca-key", caKey, "--tls-client-cert", clientCert, "--tls-client-key", clientKey}
}

// TestTLSFlagErrors: create refuses --tls-* files that cannot work, one
// line each naming the flag and the file, before it contacts any host, and
// leaves nothing in the store.
func TestTLSFlagErrors(t *testing.T) {
	dir := t.TempDir()
	caCert, caKey, clientCert, clientKey := ownCA(t, filepath.Join(dir, "own"))
	oCACert, oCAKey, oClientCert, oClientKey := ownCA(t, filepath.Join(dir, "other"))
	missing := filepath.Join(dir, "missing.pem")
	m := newCLI(t)
	for _, tc := range []struct {
		name string
		args []string // before create
		env  []string
		want string
	}{
		{"ca cert missing", tlsArgs(missing, caKey, clientCert, clientKey), nil,
			`--tls-ca-cert "` + missing + `" cannot be read: no such file or directory`},
		{"ca cert is a directory", tlsArgs(dir, caKey, clientCert, clientKey), nil,
			`--tls-ca-cert "` + dir + `" cannot be read: is a directory`},
		{"ca that is not a ca", tlsArgs(clientCert, clientKey, clientCert, clientKey), nil,
			`--tls-ca-cert "` + clientCert + `" is not a CA certificate`},
		{"ca key of another ca", tlsArgs(caCert, oCAKey, clientCert, clientKey), nil,
			`--tls-ca-key "` + oCAKey + `" does not match --tls-ca-cert "` + caCert + `"`},
		{"client key of another pair", tlsArgs(caCert, caKey, clientCert, oClientKey), nil,
			`--tls-client-key "` + oClientKey + `" does not match --tls-client-cert "` + clientCert + `"`},
		{"client pair of another ca", tlsArgs(caCert, caKey, oClientCert, oClientKey), nil,
			`--tls-client-cert "` + oClientCert + `" is not a client certificate signed by --tls-ca-cert "` + caCert + `"`},
		{"own ca without its client pair", []string{"--tls-ca-cert", caCert, "--tls-ca-key", caKey}, nil,
			`is not a client certificate signed by --tls-ca-cert "` + caCert + `"`},
		{"environment variables", nil, []string{"MACHINE_TLS_CA_CERT=" + oCACert, "MACHINE_TLS_CA_KEY=" + caKey,
			"MACHINE_TLS_CLIENT_CERT=" + clientCert, "MACHINE_TLS_CLIENT_KEY=" + clientKey},
			`--tls-ca-key "` + caKey + `" does not match --tls-ca-cert "` + oCACert + `"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, tc.args...), "create", "-d", "generic",
				"--generic-ip-address", "127.0.0.1", "--generic-ssh-key", env.keyPath, "t1")
			m.withEnv(tc.env...).fails(t, tc.want, args...)
			if names := m.lsNames(t); len(names) != 0 {
				t.Errorf("a refused create left %v in the store", names)
			}
		})
	}
}

// TestTLSFlags: a machine created with a CA and client pair of one's own
// (made by openssl) records their paths in its config, serves a
// certificate that CA signed, works through env without the flags, keeps
// that CA through regenerate-certs, and is refused by --client-certs, which
// renews only the store's CA.
func TestTLSFlags(t *testing.T) {
	h := startHost(t, dockerImage)
	caCert, caKey, clientCert, clientKey := ownCA(t, filepath.Join(t.TempDir(), "own"))
	m := newCLI(t)
	m.ok(t, append(tlsArgs(caCert, caKey, clientCert, clientKey),
		"create", "-d", "generic", "--generic-ip-address", h.IP, "--generic-ssh-key", env.keyPath, "b1")...)
	dir := filepath.Join(m.store, "machines", "b1")

	got := m.ok(t, "inspect", "-f", "{{with .HostOptions.AuthOptions}}{{.CaCertPath}} {{.CaPrivateKeyPath}} {{.ClientCertPath}} {{.ClientKeyPath}}{{end}}", "b1").Stdout
	if want := strings.Join([]string{caCert, caKey, clientCert, clientKey}, " ") + "\n"; got != want {
		t.Errorf("AuthOptions paths %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(m.store, "certs", "ca.pem")); !os.IsNotExist(err) {
		t.Errorf("the store made a CA of its own: %v", err)
	}
	for _, f := range []struct{ copy, own string }{{"ca.pem", caCert}, {"cert.pem", clientCert}, {"key.pem", clientKey}} {
		if readText(t, filepath.Join(dir, f.copy)) != readText(t, f.own) {
			t.Errorf("b1's %s is not a copy of %s", f.copy, f.own)
		}
	}
	chainsToOwn := func() {
		t.Helper()
		block, _ := pem.Decode([]byte(readText(t, caCert)))
		ca, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AddCert(ca)
		if _, err := serverCert(t, dir).Verify(x509.VerifyOptions{Roots: roots, DNSName: h.IP}); err != nil {
			t.Errorf("b1's server certificate does not chain to the own CA: %v", err)
		}
	}
	chainsToOwn()
	m.envDockerVersion(t, "b1")
	if out := m.ok(t, "config", "b1").Stdout; !strings.Contains(out, `--tlscacert="`+filepath.Join(dir, "ca.pem")+`"`) {
		t.Errorf("config:\n%s", out)
	}

	serial := serverCert(t, dir).SerialNumber
	m.ok(t, "regenerate-certs", "-f", "b1")
	if serverCert(t, dir).SerialNumber.Cmp(serial) == 0 {
		t.Error("regenerate-certs kept the server certificate")
	}
	chainsToOwn()
	m.envDockerVersion(t, "b1")
	m.fails(t, "machine b1 uses the CA "+caCert+", not the store's", "regenerate-certs", "-f", "--client-certs", "b1")
}

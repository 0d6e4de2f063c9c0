package certs

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/machine-cli/machine/certs/certstest"
)

func TestCheckPaths(t *testing.T) {
	p := mustEnsure(t, t.TempDir())
	other := mustEnsure(t, t.TempDir())
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	garbage := filepath.Join(dir, "garbage.pem")
	mustWrite(t, garbage, []byte("not pem\n"), 0o644)
	unreadable := filepath.Join(dir, "unreadable.pem")
	mustWrite(t, unreadable, mustRead(t, p.CACert), 0o000)
	if os.Geteuid() == 0 {
		unreadable = filepath.Join(dir) // a directory: unreadable as a file for root too
	}
	// An expired CA with its key.
	ca, caKey, err := loadCA(p.CACert, p.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	expiredCA := filepath.Join(dir, "expired-ca.pem")
	signLeaf(t, ca, caKey, caKey, expiredCA, func(c *x509.Certificate) {
		c.IsCA, c.KeyUsage = true, x509.KeyUsageCertSign
		c.NotBefore, c.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour)
	})
	labels := Paths{CACert: "--tls-ca-cert X", CAKey: "--tls-ca-key X", ClientCert: "--tls-client-cert X", ClientKey: "--tls-client-key X"}
	with := func(change func(*Paths)) Paths {
		q := p
		change(&q)
		return q
	}
	for _, tc := range []struct {
		name   string
		paths  Paths
		labels Paths
		want   string // "" for no error
	}{
		{"store pair", p, labels, ""},
		{"store pair unlabelled", p, Paths{}, ""},
		{"ca missing", with(func(q *Paths) { q.CACert = missing }), labels, "--tls-ca-cert X cannot be read: no such file or directory"},
		{"ca missing unlabelled", with(func(q *Paths) { q.CACert = missing }), Paths{}, `"` + missing + `" cannot be read`},
		{"ca unreadable", with(func(q *Paths) { q.CACert = unreadable }), labels, "--tls-ca-cert X cannot be read"},
		{"ca not pem", with(func(q *Paths) { q.CACert = garbage }), labels, "--tls-ca-cert X holds no certificate"},
		{"ca is not a ca", with(func(q *Paths) { q.CACert, q.CAKey = p.ClientCert, p.ClientKey }), labels, "--tls-ca-cert X is not a CA certificate"},
		{"ca expired", with(func(q *Paths) { q.CACert = expiredCA }), labels, "--tls-ca-cert X expired on"},
		{"ca key missing", with(func(q *Paths) { q.CAKey = missing }), labels, "--tls-ca-key X cannot be read"},
		{"ca key not a key", with(func(q *Paths) { q.CAKey = p.CACert }), labels, "--tls-ca-key X holds no usable private key"},
		{"ca key of another ca", with(func(q *Paths) { q.CAKey = other.CAKey }), labels, "--tls-ca-key X does not match --tls-ca-cert X"},
		{"client cert of another ca", with(func(q *Paths) { q.ClientCert = other.ClientCert }), labels, "--tls-client-cert X is not a client certificate signed by --tls-ca-cert X"},
		{"client cert missing", with(func(q *Paths) { q.ClientCert = missing }), labels, "--tls-client-cert X cannot be read"},
		{"client key of another pair", with(func(q *Paths) { q.ClientKey = other.ClientKey }), labels, "--tls-client-key X does not match --tls-client-cert X"},
		{"client key missing", with(func(q *Paths) { q.ClientKey = missing }), labels, "--tls-client-key X cannot be read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPaths(tc.paths, tc.labels)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q, want one line containing %q", err, tc.want)
			}
		})
	}
}

func TestProblem(t *testing.T) {
	p, server, serverKey := newMachine(t, "172.30.0.5", "n1", "docker.example.test", "192.0.2.44")
	other, otherServer, _ := newMachine(t, "172.30.0.5")
	ca, caKey, err := loadCA(p.CACert, p.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	expired := expiredServerCert(t, ca, caKey, "172.30.0.5", time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		name         string
		ca, cert     string
		host         string
		want         string // "" when the cert fits
		wantNoReason bool   // an error Problem does not describe
	}{
		{name: "ip matches", ca: p.CACert, cert: server, host: "172.30.0.5"},
		{name: "tls-san ip matches", ca: p.CACert, cert: server, host: "192.0.2.44"},
		{name: "name matches", ca: p.CACert, cert: server, host: "docker.example.test"},
		{name: "ip with port matches", ca: p.CACert, cert: server, host: "172.30.0.5:2376"},
		{name: "ip changed", ca: p.CACert, cert: server, host: "172.30.0.9",
			want: "certificate is valid for 172.30.0.5, 192.0.2.44, not 172.30.0.9"},
		{name: "ipv6 not covered", ca: p.CACert, cert: server, host: "[2001:db8::1]:2376",
			want: "certificate is valid for 172.30.0.5, 192.0.2.44, not 2001:db8::1"},
		{name: "name not covered", ca: p.CACert, cert: server, host: "other.example.test",
			want: "certificate is valid for n1, docker.example.test, not other.example.test"},
		{name: "only loopback names", ca: other.CACert, cert: otherServer, host: "other.example.test",
			want: "certificate is not valid for other.example.test"},
		{name: "signed by another ca", ca: p.CACert, cert: otherServer, host: "172.30.0.5",
			want: "certificate is not signed by the CA /x/ca.pem"},
		{name: "expired", ca: p.CACert, cert: expired, host: "172.30.0.5",
			want: "certificate expired on 2025-03-04"},
		{name: "unreadable", ca: p.CACert, cert: filepath.Join(t.TempDir(), "none.pem"), host: "172.30.0.5", wantNoReason: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckServerCert(tc.ca, tc.cert, tc.host)
			if tc.want == "" && !tc.wantNoReason {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			got, ok := Problem(err, "/x/ca.pem")
			if tc.wantNoReason {
				if ok {
					t.Fatalf("Problem(%v) = %q, want none", err, got)
				}
				return
			}
			if !ok || got != tc.want {
				t.Errorf("Problem = %q, %v; want %q", got, ok, tc.want)
			}
		})
	}

	// A handshake's errors read the same: the server presents the cert
	// for 172.30.0.5, the client dials it as 172.30.0.9.
	addr := certstest.HandshakeServer(t, server, serverKey)
	for _, tc := range []struct {
		name, ca, serverName, want string
	}{
		{"handshake ip changed", p.CACert, "172.30.0.9", "certificate is valid for 172.30.0.5, 192.0.2.44, not 172.30.0.9"},
		{"handshake other ca", other.CACert, "172.30.0.5", "certificate is not signed by the CA /x/ca.pem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ClientTLSConfig(tc.ca, p.ClientCert, p.ClientKey)
			if err != nil {
				t.Fatal(err)
			}
			cfg.ServerName = tc.serverName
			c, err := tls.Dial("tcp", addr, cfg)
			if err == nil {
				c.Close()
				t.Fatal("handshake succeeded")
			}
			if got, ok := Problem(err, "/x/ca.pem"); !ok || got != tc.want {
				t.Errorf("Problem(%v) = %q, %v; want %q", err, got, ok, tc.want)
			}
		})
	}
}

func TestRenewStoreCerts(t *testing.T) {
	dir := t.TempDir()
	p := mustEnsure(t, dir)
	old := snapshot(t, dir)
	// A server cert signed by the CA about to be replaced.
	oldServer := filepath.Join(t.TempDir(), "server.pem")
	if err := NewServerCert(p.CACert, p.CAKey, oldServer, oldServer+".key", testOrg, []string{"10.0.0.5"}); err != nil {
		t.Fatal(err)
	}

	got, err := RenewStoreCerts(dir, testOrg)
	if err != nil {
		t.Fatal(err)
	}
	if got != p {
		t.Errorf("paths = %+v, want %+v", got, p)
	}
	now := snapshot(t, dir)
	for name, content := range now {
		if content == "" || content == old[name] {
			t.Errorf("%s was not replaced", name)
		}
	}
	if err := CheckPaths(got, Paths{}); err != nil {
		t.Errorf("renewed pair: %v", err)
	}
	if mode(t, got.CAKey) != 0o600 || mode(t, got.ClientKey) != 0o600 {
		t.Errorf("key modes %v %v, want 0600", mode(t, got.CAKey), mode(t, got.ClientKey))
	}
	if err := CheckServerCert(got.CACert, oldServer, "10.0.0.5"); err == nil {
		t.Error("a server cert of the old CA still verifies against the new one")
	}
	// Nothing but the four files and the lock is left in the dir.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 5 {
		t.Errorf("certs dir holds %v, want the four files and the lock", names)
	}
	// EnsureStoreCerts accepts the renewed store as it is.
	mustEnsure(t, dir)
	if after := snapshot(t, dir); after[CAFile] != now[CAFile] || after[CertFile] != now[CertFile] {
		t.Error("EnsureStoreCerts changed the renewed store")
	}
}

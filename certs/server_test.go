package certs

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// newMachine makes a store in a temp dir and a server pair for hosts.
func newMachine(t testing.TB, hosts ...string) (p Paths, server, serverKey string) {
	t.Helper()
	dir := t.TempDir()
	p = mustEnsure(t, filepath.Join(dir, "certs"))
	server, serverKey = filepath.Join(dir, ServerCertFile), filepath.Join(dir, ServerKeyFile)
	if err := NewServerCert(p.CACert, p.CAKey, server, serverKey, testOrg, hosts); err != nil {
		t.Fatal(err)
	}
	return p, server, serverKey
}

func TestNewServerCert(t *testing.T) {
	for _, tc := range []struct {
		name      string
		hosts     []string
		wantCN    string
		wantIPs   []string
		wantNames []string
	}{
		{
			name:      "ip and name",
			hosts:     []string{"192.168.99.100", "docker.example.com"},
			wantCN:    "192.168.99.100",
			wantIPs:   []string{"192.168.99.100", "127.0.0.1"},
			wantNames: []string{"docker.example.com", "localhost"},
		},
		{
			name:      "name first",
			hosts:     []string{"node-1.internal", "10.1.2.3", "2001:db8::7"},
			wantCN:    "node-1.internal",
			wantIPs:   []string{"10.1.2.3", "2001:db8::7", "127.0.0.1"},
			wantNames: []string{"node-1.internal", "localhost"},
		},
		{
			name:      "duplicates, blanks, brackets and loopback given",
			hosts:     []string{" 10.0.0.1 ", "", "LOCALHOST", "127.0.0.1", "10.0.0.1", "[::1]", "::ffff:10.0.0.1"},
			wantCN:    "10.0.0.1",
			wantIPs:   []string{"10.0.0.1", "127.0.0.1", "::1"},
			wantNames: []string{"LOCALHOST"},
		},
		{
			name:      "no hosts",
			hosts:     nil,
			wantCN:    "localhost",
			wantIPs:   []string{"127.0.0.1"},
			wantNames: []string{"localhost"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, server, serverKey := newMachine(t, tc.hosts...)
			cert := mustCert(t, server)

			if cert.Subject.CommonName != tc.wantCN {
				t.Errorf("CN = %q, want %q", cert.Subject.CommonName, tc.wantCN)
			}
			var ips []string
			for _, ip := range cert.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(ips, tc.wantIPs) {
				t.Errorf("IP SANs = %v, want %v", ips, tc.wantIPs)
			}
			if !slices.Equal(cert.DNSNames, tc.wantNames) {
				t.Errorf("DNS SANs = %v, want %v", cert.DNSNames, tc.wantNames)
			}
			for _, host := range append(append([]string{"localhost"}, tc.wantIPs...), tc.wantNames...) {
				for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
					if err := verify(t, p.CACert, server, usage, host); err != nil {
						t.Errorf("server cert does not verify for %q (usage %v): %v", host, usage, err)
					}
				}
			}
			if m := mode(t, serverKey); m != 0o600 {
				t.Errorf("key mode = %v, want 0600", m)
			}
			if m := mode(t, server); m != 0o644 {
				t.Errorf("cert mode = %v, want 0644", m)
			}
			if _, err := tls.LoadX509KeyPair(server, serverKey); err != nil {
				t.Errorf("server pair does not load: %v", err)
			}
			if ca := mustCert(t, p.CACert); cert.NotAfter.After(ca.NotAfter) || !cert.NotBefore.Before(time.Now().Add(-time.Minute)) {
				t.Errorf("validity %v..%v, ca until %v", cert.NotBefore, cert.NotAfter, ca.NotAfter)
			}
		})
	}
}

func TestNewServerCertReplaces(t *testing.T) {
	p, server, serverKey := newMachine(t, "10.0.0.1")
	if err := NewServerCert(p.CACert, p.CAKey, server, serverKey, testOrg, []string{"10.0.0.2"}); err != nil {
		t.Fatal(err)
	}
	if err := CheckServerCert(p.CACert, server, "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	if err := CheckServerCert(p.CACert, server, "10.0.0.1"); err == nil {
		t.Fatal("replaced cert is still valid for the old host")
	}
	if _, err := tls.LoadX509KeyPair(server, serverKey); err != nil {
		t.Fatal(err)
	}
}

func TestNewServerCertErrors(t *testing.T) {
	p := mustEnsure(t, t.TempDir())
	other := mustEnsure(t, t.TempDir())
	missing := filepath.Join(t.TempDir(), "nope.pem")
	for _, tc := range []struct {
		name          string
		caCert, caKey string
		subdir        string // where the pair goes, under an empty dir
		want          string
	}{
		{"ca missing", missing, p.CAKey, "", "no such file"},
		{"ca key missing", p.CACert, missing, "", "no such file"},
		{"ca key of another ca", p.CACert, other.CAKey, "", "does not match ca cert"},
		{"client cert as ca", p.ClientCert, p.ClientKey, "", "is not a ca certificate"},
		{"output dir missing", p.CACert, p.CAKey, "no", "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			dir := filepath.Join(out, tc.subdir)
			err := NewServerCert(tc.caCert, tc.caKey, filepath.Join(dir, "s.pem"), filepath.Join(dir, "s-key.pem"), testOrg, []string{"10.0.0.1"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), "s.pem") {
				t.Errorf("error %q does not name the cert", err)
			}
			if entries, err := os.ReadDir(out); err != nil || len(entries) > 0 {
				t.Errorf("a failed call left %v, %v", entries, err)
			}
		})
	}
}

func TestNewServerCertExpiredCA(t *testing.T) {
	dir := t.TempDir()
	key := ecKeyP256(t)
	ca, _ := writeForeignCA(t, dir, key, pkcs8)
	// Re-sign the CA as expired.
	tmpl := *ca
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, CAFile), encodeCert(der), 0o644)
	err = NewServerCert(filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile), filepath.Join(dir, "s.pem"), filepath.Join(dir, "k.pem"), testOrg, nil)
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("error = %v, want one saying the ca expired", err)
	}
}

func TestCheckServerCert(t *testing.T) {
	p, server, _ := newMachine(t, "192.168.99.100", "docker.example.com")
	otherCA, otherServer, _ := newMachine(t, "192.168.99.100")

	// An expired server cert signed by p's CA.
	ca, caKey, err := loadCA(p.CACert, p.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	expired := expiredServerCert(t, ca, caKey, "192.168.99.100", time.Now().Add(-time.Hour))

	// A cert for the right host, but for client auth only.
	clientOnly := filepath.Join(t.TempDir(), "client-only.pem")
	signLeaf(t, ca, caKey, ecKeyP256(t), clientOnly, func(c *x509.Certificate) {
		c.IPAddresses = []net.IP{net.ParseIP("192.168.99.100")}
	})

	var (
		hostErr    x509.HostnameError
		authErr    x509.UnknownAuthorityError
		invalidErr x509.CertificateInvalidError
	)
	for _, tc := range []struct {
		name           string
		caCert, server string
		host           string
		wantAs         any // pointer for errors.As, nil when valid
		wantReason     x509.InvalidReason
		wantMsg        string
	}{
		{name: "ip", caCert: p.CACert, server: server, host: "192.168.99.100"},
		{name: "ip with port", caCert: p.CACert, server: server, host: "192.168.99.100:2376"},
		{name: "name", caCert: p.CACert, server: server, host: "docker.example.com"},
		{name: "name other case", caCert: p.CACert, server: server, host: "Docker.Example.COM"},
		{name: "localhost", caCert: p.CACert, server: server, host: "localhost"},
		{name: "loopback ip", caCert: p.CACert, server: server, host: "127.0.0.1"},
		{name: "wrong ip", caCert: p.CACert, server: server, host: "192.168.99.101", wantAs: &hostErr, wantMsg: "192.168.99.101"},
		{name: "wrong name", caCert: p.CACert, server: server, host: "other.example.com", wantAs: &hostErr, wantMsg: "regenerate"},
		{name: "other ca", caCert: p.CACert, server: otherServer, host: "192.168.99.100", wantAs: &authErr, wantMsg: "unknown authority"},
		{name: "other ca's ca", caCert: otherCA.CACert, server: server, host: "192.168.99.100", wantAs: &authErr, wantMsg: "regenerate"},
		{name: "client cert", caCert: p.CACert, server: p.ClientCert, host: "localhost", wantAs: &hostErr},
		{name: "client auth only", caCert: p.CACert, server: clientOnly, host: "192.168.99.100", wantAs: &invalidErr, wantReason: x509.IncompatibleUsage},
		{name: "expired", caCert: p.CACert, server: expired, host: "192.168.99.100", wantAs: &invalidErr, wantReason: x509.Expired},
		{name: "missing cert", caCert: p.CACert, server: filepath.Join(t.TempDir(), "nope.pem"), host: "localhost", wantAs: new(*fs.PathError)},
		{name: "empty host", caCert: p.CACert, server: server, host: "", wantMsg: "empty host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckServerCert(tc.caCert, tc.server, tc.host)
			if tc.wantAs == nil && tc.wantMsg == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if tc.wantAs != nil && !errors.As(err, tc.wantAs) {
				t.Errorf("error %v is not a %T", err, tc.wantAs)
			}
			if tc.wantReason != 0 && invalidErr.Reason != tc.wantReason {
				t.Errorf("invalid reason = %v, want %v", invalidErr.Reason, tc.wantReason)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tc.wantMsg)
			}
		})
	}
}

func TestClientTLSConfig(t *testing.T) {
	p, server, serverKey := newMachine(t, "127.0.0.1")
	other, otherServer, otherServerKey := newMachine(t, "127.0.0.1")

	// startServer serves with the given pair, requiring a client cert
	// signed by p's CA, and counts the requests that got through.
	startServer := func(cert, key string) (*httptest.Server, *atomic.Int32) {
		var served atomic.Int32
		ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != "machine client" {
				http.Error(w, "no client cert", http.StatusForbidden)
				return
			}
			served.Add(1)
			_, _ = io.WriteString(w, "ok")
		}))
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		clientCAs := x509.NewCertPool()
		clientCAs.AddCert(mustCert(t, p.CACert))
		ts.TLS = &tls.Config{
			Certificates: []tls.Certificate{pair},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    clientCAs,
		}
		ts.Config.ErrorLog = log.New(io.Discard, "", 0)
		ts.StartTLS()
		t.Cleanup(ts.Close)
		return ts, &served
	}
	good, goodServed := startServer(server, serverKey)
	bad, badServed := startServer(otherServer, otherServerKey)

	mustConfig := func(ca, cert, key string) *tls.Config {
		cfg, err := ClientTLSConfig(ca, cert, key)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	noCert := mustConfig(p.CACert, p.ClientCert, p.ClientKey).Clone()
	noCert.Certificates = nil

	withHost := func(ts *httptest.Server, host string) string {
		u, err := url.Parse(ts.URL)
		if err != nil {
			t.Fatal(err)
		}
		u.Host = net.JoinHostPort(host, u.Port())
		return u.String()
	}

	for _, tc := range []struct {
		name   string
		cfg    *tls.Config
		url    string
		served *atomic.Int32
		wantOK bool
		wantAs any
	}{
		{name: "mutual tls by ip", cfg: mustConfig(p.CACert, p.ClientCert, p.ClientKey), url: withHost(good, "127.0.0.1"), served: goodServed, wantOK: true},
		{name: "mutual tls by localhost", cfg: mustConfig(p.CACert, p.ClientCert, p.ClientKey), url: withHost(good, "localhost"), served: goodServed, wantOK: true},
		{name: "client without cert", cfg: noCert, url: good.URL, served: goodServed},
		{name: "client cert of another ca", cfg: mustConfig(p.CACert, other.ClientCert, other.ClientKey), url: good.URL, served: goodServed},
		{name: "server cert of another ca", cfg: mustConfig(p.CACert, p.ClientCert, p.ClientKey), url: bad.URL, served: badServed, wantAs: &x509.UnknownAuthorityError{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.served.Load()
			tr := &http.Transport{TLSClientConfig: tc.cfg}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			resp, err := client.Get(tc.url)
			var body []byte
			if err == nil {
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != http.StatusOK {
					err = errors.New(resp.Status)
				}
			}
			served := tc.served.Load() - before
			if tc.wantOK {
				if err != nil || string(body) != "ok" || served != 1 {
					t.Fatalf("request failed: err %v, body %q, served %d", err, body, served)
				}
				return
			}
			if err == nil || served != 0 {
				t.Fatalf("request was not refused: err %v, served %d", err, served)
			}
			if tc.wantAs != nil && !errors.As(err, tc.wantAs) {
				t.Errorf("error %v is not a %T", err, tc.wantAs)
			}
		})
	}
}

func TestClientTLSConfigErrors(t *testing.T) {
	p := mustEnsure(t, t.TempDir())
	missing := filepath.Join(t.TempDir(), "nope.pem")
	for _, tc := range []struct {
		name          string
		ca, cert, key string
	}{
		{"no ca", "", p.ClientCert, p.ClientKey},
		{"no cert", p.CACert, "", p.ClientKey},
		{"no key", p.CACert, p.ClientCert, ""},
		{"missing ca", missing, p.ClientCert, p.ClientKey},
		{"missing cert", p.CACert, missing, p.ClientKey},
		{"key of another cert", p.CACert, p.ClientCert, p.CAKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ClientTLSConfig(tc.ca, tc.cert, tc.key); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestClientTLSConfigTrustsOnlyTheCA(t *testing.T) {
	p := mustEnsure(t, t.TempDir())
	cfg, err := ClientTLSConfig(p.CACert, p.ClientCert, p.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	want := x509.NewCertPool()
	want.AddCert(mustCert(t, p.CACert))
	if cfg.RootCAs == nil || !cfg.RootCAs.Equal(want) {
		t.Error("RootCAs is not exactly the store's CA")
	}
	if len(cfg.Certificates) != 1 || cfg.InsecureSkipVerify || cfg.MinVersion < tls.VersionTLS12 {
		t.Errorf("certificates %d, insecure %v, min version %x", len(cfg.Certificates), cfg.InsecureSkipVerify, cfg.MinVersion)
	}
}

// TestLeafValidityWithinCA: certs signed by a CA that expires soon expire
// with it, not later.
func TestLeafValidityWithinCA(t *testing.T) {
	dir := t.TempDir()
	key := ecKeyP256(t)
	ca, _ := writeForeignCA(t, dir, key, pkcs8)
	tmpl := *ca
	tmpl.NotAfter = time.Now().Add(30 * 24 * time.Hour).Truncate(time.Second)
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, CAFile), encodeCert(der), 0o644)

	p := mustEnsure(t, dir)
	server := filepath.Join(dir, ServerCertFile)
	if err := NewServerCert(p.CACert, p.CAKey, server, filepath.Join(dir, ServerKeyFile), testOrg, nil); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{p.ClientCert, server} {
		if got := mustCert(t, path).NotAfter; !got.Equal(tmpl.NotAfter) {
			t.Errorf("%s NotAfter = %v, want the ca's %v", filepath.Base(path), got, tmpl.NotAfter)
		}
	}
}

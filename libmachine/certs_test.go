package libmachine

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/machine-cli/machine/certs"
	"github.com/machine-cli/machine/certs/certstest"
	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/libmachine/host"
	"github.com/machine-cli/machine/libmachine/store"
)

// certStore is a store with its CA and client pair, whose machines are
// saved as create leaves them (certificates in the machine's directory)
// without a host behind them.
type certStore struct {
	t  *testing.T
	c  *Client
	cp certs.Paths
}

func newCertStore(t *testing.T) *certStore {
	t.Helper()
	c := &Client{Store: store.New(t.TempDir())}
	cp, err := c.EnsureCerts()
	if err != nil {
		t.Fatal(err)
	}
	return &certStore{t: t, c: c, cp: cp}
}

// machine saves machine name with a server certificate for hosts, signed
// by the CA at ca (the store's when nil), reached at ep.
func (s *certStore) machine(name string, ep drivers.Endpoint, ca *certs.Paths, hosts ...string) *host.Host {
	s.t.Helper()
	cp := s.cp
	if ca != nil {
		cp = *ca
	}
	if err := s.c.Store.CreateMachineDir(name); err != nil {
		s.t.Fatal(err)
	}
	h := s.c.newHost(name, "generic", &host.EngineOptions{}, cp)
	h.Driver = json.RawMessage(`{}`)
	h.Endpoint, _ = json.Marshal(ep)
	if err := s.c.Store.Save(h); err != nil {
		s.t.Fatal(err)
	}
	mc := s.c.CertPaths(name)
	if err := copyClientCerts(cp, mc); err != nil {
		s.t.Fatal(err)
	}
	if err := certs.NewServerCert(cp.CACert, cp.CAKey, mc.ServerCert, mc.ServerKey, "test."+name, hosts); err != nil {
		s.t.Fatal(err)
	}
	return h
}

func endpointAt(ip string) drivers.Endpoint {
	return drivers.Endpoint{IP: ip, URL: "tcp://" + ip + ":2376", SSHHostname: ip, SSHPort: 22, Static: true}
}

func TestCheckCert(t *testing.T) {
	s := newCertStore(t)
	other := newCertStore(t)
	n1 := s.machine("n1", endpointAt("172.30.0.5"), nil, "172.30.0.5", "n1", "docker.example.test", "192.0.2.44")
	byName := s.machine("byname", drivers.Endpoint{IP: "172.30.0.6", URL: "tcp://docker.example.test:2376"}, nil, "172.30.0.6", "docker.example.test")
	foreign := s.machine("foreign", endpointAt("172.30.0.7"), &other.cp, "172.30.0.7")
	bare := &host.Host{Name: "bare", HostOptions: &host.Options{AuthOptions: &host.AuthOptions{}}}
	if err := s.c.Store.CreateMachineDir("bare"); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		h    *host.Host
		ep   drivers.Endpoint
		want string // the CertError's message, "" for none
	}{
		{"address unchanged", n1, endpointAt("172.30.0.5"), ""},
		{"reached at a --tls-san address", n1, endpointAt("192.0.2.44"), ""},
		{"address changed", n1, endpointAt("172.30.0.9"),
			`machine n1's certificate is valid for 172.30.0.5, 192.0.2.44, not 172.30.0.9: run "machine regenerate-certs n1"`},
		{"URL host wins over IP", n1, drivers.Endpoint{IP: "172.30.0.5", URL: "tcp://172.30.0.8:2376"},
			`machine n1's certificate is valid for 172.30.0.5, 192.0.2.44, not 172.30.0.8: run "machine regenerate-certs n1"`},
		{"reached by a name it holds", byName, drivers.Endpoint{IP: "172.30.0.6", URL: "tcp://docker.example.test:2376"}, ""},
		{"reached by a name it lacks", byName, drivers.Endpoint{URL: "tcp://other.example.test:2376"},
			`machine byname's certificate is valid for docker.example.test, not other.example.test: run "machine regenerate-certs byname"`},
		{"signed by a CA the config does not name", foreign, endpointAt("172.30.0.7"),
			`machine foreign's certificate is not signed by the CA ` + s.cp.CACert + `: run "machine regenerate-certs foreign"`},
		{"no server certificate", bare, endpointAt("172.30.0.5"), ""},
		{"no address", n1, drivers.Endpoint{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			if h == foreign {
				// The config names the store's CA, the certificate is
				// another CA's: as after regenerate-certs --client-certs.
				cp := *h
				opts := *h.HostOptions
				auth := *opts.AuthOptions
				auth.CaCertPath = s.cp.CACert
				opts.AuthOptions = &auth
				cp.HostOptions = &opts
				h = &cp
			}
			err := s.c.CheckCert(h, tc.ep)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ce *CertError
			if !errors.As(err, &ce) || err.Error() != tc.want {
				t.Fatalf("error %v, want the CertError %q", err, tc.want)
			}
		})
	}

	t.Run("DockerEndpoint", func(t *testing.T) {
		if _, ep, err := s.c.DockerEndpoint(context.Background(), "n1"); err != nil || ep.IP != "172.30.0.5" {
			t.Fatalf("DockerEndpoint(n1) = %+v, %v", ep, err)
		}
		// The recorded address changes, as a config edited by hand.
		n1.Endpoint, _ = json.Marshal(endpointAt("172.30.0.9"))
		if err := s.c.Store.Save(n1); err != nil {
			t.Fatal(err)
		}
		_, _, err := s.c.DockerEndpoint(context.Background(), "n1")
		var ce *CertError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "not 172.30.0.9") {
			t.Fatalf("DockerEndpoint after the address changed: %v", err)
		}
	})
}

func TestEnsureCertsTLSFlags(t *testing.T) {
	own := newCertStore(t).cp // a CA and client pair of one's own
	other := newCertStore(t).cp
	missing := filepath.Join(t.TempDir(), "none.pem")
	for _, tc := range []struct {
		name       string
		tls        certs.Paths
		want       string // error, "" for none
		storeFiles bool   // the store's certs dir gets made
	}{
		{name: "no flags", tls: certs.Paths{}, storeFiles: true},
		{name: "all four", tls: own},
		{name: "ca cert missing", tls: certs.Paths{CACert: missing, CAKey: own.CAKey, ClientCert: own.ClientCert, ClientKey: own.ClientKey},
			want: `--tls-ca-cert "` + missing + `" cannot be read: no such file or directory`},
		{name: "client cert as ca", tls: certs.Paths{CACert: own.ClientCert, CAKey: own.ClientKey, ClientCert: own.ClientCert, ClientKey: own.ClientKey},
			want: `--tls-ca-cert "` + own.ClientCert + `" is not a CA certificate`},
		{name: "ca key of another ca", tls: certs.Paths{CACert: own.CACert, CAKey: other.CAKey, ClientCert: own.ClientCert, ClientKey: own.ClientKey},
			want: `--tls-ca-key "` + other.CAKey + `" does not match --tls-ca-cert "` + own.CACert + `"`},
		{name: "client key of another pair", tls: certs.Paths{CACert: own.CACert, CAKey: own.CAKey, ClientCert: own.ClientCert, ClientKey: other.ClientKey},
			want: `--tls-client-key "` + other.ClientKey + `" does not match --tls-client-cert "` + own.ClientCert + `"`},
		{name: "own ca with the store's client pair", tls: certs.Paths{CACert: own.CACert, CAKey: own.CAKey}, storeFiles: true,
			want: `the store's client certificate "`},
		{name: "client pair of own ca with the store's ca", tls: certs.Paths{ClientCert: own.ClientCert, ClientKey: own.ClientKey}, storeFiles: true,
			want: `--tls-client-cert "` + own.ClientCert + `" is not a client certificate signed by the store's CA certificate "`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Client{Store: store.New(t.TempDir()), TLS: tc.tls}
			got, err := c.EnsureCerts()
			if _, serr := os.Stat(c.Store.CertsDir()); (serr == nil) != tc.storeFiles {
				t.Errorf("store's certs dir made: %v, want %v", serr == nil, tc.storeFiles)
			}
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want one containing %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.tls != (certs.Paths{}) && got != tc.tls {
				t.Errorf("paths %+v, want the flags' %+v", got, tc.tls)
			}
		})
	}
}

func TestCheckRegenerate(t *testing.T) {
	s := newCertStore(t)
	own := newCertStore(t).cp
	s.machine("n1", endpointAt("172.30.0.5"), nil, "172.30.0.5")
	s.machine("n2", endpointAt("172.30.0.6"), nil, "172.30.0.6")
	s.machine("n3", endpointAt("172.30.0.7"), nil, "172.30.0.7")
	s.machine("byo", endpointAt("172.30.0.8"), &own, "172.30.0.8")
	s.machine("half", endpointAt("172.30.0.9"), nil, "172.30.0.9")
	if err := os.WriteFile(s.c.Store.MachinePath("half", store.ProvisioningFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s.machine("lost", endpointAt("172.30.0.10"), &own, "172.30.0.10")
	if err := os.Remove(own.CAKey); err != nil { // its CA key is gone
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name        string
		names       []string
		clientCerts bool
		breakStore  bool // the store's CA key is gone
		wantOthers  []string
		want        string // error
	}{
		{name: "one machine", names: []string{"n1"}},
		{name: "client certs lists the others on the store's CA", names: []string{"n1"}, clientCerts: true, wantOthers: []string{"half", "n2", "n3"}},
		{name: "client certs for two", names: []string{"n1", "n3"}, clientCerts: true, wantOthers: []string{"half", "n2"}},
		{name: "unknown machine", names: []string{"n1", "nope"}, want: `machine "nope" does not exist`},
		{name: "half-made machine", names: []string{"half"}, want: "regenerate-certs half: its create did not finish; remove it with `machine rm half`"},
		{name: "client certs on a machine of another CA", names: []string{"byo"}, clientCerts: true,
			want: "machine byo uses the CA " + own.CACert + ", not the store's"},
		{name: "CA key gone", names: []string{"lost"}, want: `lost's CA key "` + own.CAKey + `" cannot be read`},
		{name: "store's CA key gone", names: []string{"n1"}, breakStore: true, want: `n1's CA key "` + s.cp.CAKey + `" cannot be read`},
		{name: "client certs mend a store whose CA key is gone", names: []string{"n1"}, clientCerts: true, breakStore: true, wantOthers: []string{"half", "n2", "n3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.breakStore {
				key, err := os.ReadFile(s.cp.CAKey)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.Remove(s.cp.CAKey); err != nil {
					t.Fatal(err)
				}
				defer func() {
					if err := os.WriteFile(s.cp.CAKey, key, 0o600); err != nil {
						t.Fatal(err)
					}
				}()
			}
			others, err := s.c.CheckRegenerate(tc.names, tc.clientCerts)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want one containing %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(others, tc.wantOthers) {
				t.Errorf("others %q, want %q", others, tc.wantOthers)
			}
		})
	}
}

// TestCertErrorOfHandshake: a TLS handshake that fails on the machine's
// certificate (ls talks to dockerd) reads as CheckCert's line; other
// failures are left as they are.
func TestCertErrorOfHandshake(t *testing.T) {
	s := newCertStore(t)
	n1 := s.machine("n1", endpointAt("172.30.0.5"), nil, "172.30.0.5")
	mc := s.c.CertPaths("n1")
	addr := certstest.HandshakeServer(t, mc.ServerCert, mc.ServerKey)
	tc, err := s.c.clientTLS("n1")
	if err != nil {
		t.Fatal(err)
	}
	tc.ServerName = "172.30.0.9" // the address the server is reached at
	_, err = tls.Dial("tcp", addr, tc)
	want := `machine n1's certificate is valid for 172.30.0.5, not 172.30.0.9: run "machine regenerate-certs n1"`
	var ce *CertError
	if got := s.c.certError(n1, err); !errors.As(got, &ce) || got.Error() != want {
		t.Errorf("certError(%v) = %v, want %q", err, got, want)
	}
	other := errors.New("dial tcp 172.30.0.5:2376: connection refused")
	if got := s.c.certError(n1, other); got != other {
		t.Errorf("certError(%v) = %v, want it unchanged", other, got)
	}
}

// TestServerHosts: the server certificate names the machine's address,
// name and private address, and the host of its engine URL when that is
// another (a loopback forward), each once, then the --tls-san names.
func TestServerHosts(t *testing.T) {
	for _, tc := range []struct {
		name string
		ep   drivers.Endpoint
		want []string
	}{
		{"generic", drivers.Endpoint{IP: "10.0.0.5", URL: "tcp://10.0.0.5:2376"}, []string{"10.0.0.5", "n1", "san.example"}},
		{"private address", drivers.Endpoint{IP: "20.1.2.3", PrivateIP: "10.0.0.5", URL: "tcp://20.1.2.3:2376"},
			[]string{"20.1.2.3", "n1", "10.0.0.5", "san.example"}},
		{"loopback forward", drivers.Endpoint{IP: "192.168.59.3", PrivateIP: "192.168.59.3", URL: "tcp://127.0.0.1:40376"},
			[]string{"192.168.59.3", "n1", "127.0.0.1", "san.example"}},
		{"qemu", drivers.Endpoint{IP: "127.0.0.1", PrivateIP: "192.168.76.2", URL: "tcp://127.0.0.1:40376"},
			[]string{"127.0.0.1", "n1", "192.168.76.2", "san.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := serverHosts("n1", tc.ep, []string{"san.example"}); !slices.Equal(got, tc.want) {
				t.Errorf("serverHosts = %v, want %v", got, tc.want)
			}
		})
	}
}

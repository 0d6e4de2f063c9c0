package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/machine-cli/machine/internal/fsutil"
)

const (
	// caValidity is how long a new CA is valid.
	caValidity = 10 * 365 * 24 * time.Hour
	// leafValidity is how long a client or server cert is valid (as
	// docker-machine's 1080 days), never past its CA.
	leafValidity = 1080 * 24 * time.Hour
	// clockSkew backdates NotBefore so that a host whose clock is a little
	// behind the client's accepts a cert made just now.
	clockSkew = 5 * time.Minute
	// maxCommonName is RFC 5280's upper bound for a CN.
	maxCommonName = 64
)

// NewServerCert writes a server cert/key pair, signed by the CA at
// caCert/caKey, for hosts (see ServerCertPEM). The key is written first
// (0600), then the cert (0644), each atomically.
func NewServerCert(caCert, caKey, certOut, keyOut, org string, hosts []string) error {
	certPEM, keyPEM, err := ServerCertPEM(caCert, caKey, org, hosts)
	if err != nil {
		return fmt.Errorf("new server cert %q: %w", certOut, err)
	}
	if err := fsutil.WriteFileAtomic(keyOut, keyPEM, 0o600); err != nil {
		return fmt.Errorf("new server cert %q: %w", certOut, err)
	}
	if err := fsutil.WriteFileAtomic(certOut, certPEM, 0o644); err != nil {
		return fmt.Errorf("new server cert %q: %w", certOut, err)
	}
	return nil
}

// ServerCertPEM makes a server cert/key pair, signed by the CA at
// caCert/caKey, for hosts, and returns both as PEM without writing them:
// each host is an IP address (an IP SAN) or a DNS name (a DNS SAN);
// "localhost" and 127.0.0.1 are always added. The CN is the first host. The
// cert is for server and client auth.
func ServerCertPEM(caCert, caKey, org string, hosts []string) (certPEM, keyPEM []byte, err error) {
	ca, key, err := loadCA(caCert, caKey)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	if now.After(ca.NotAfter) {
		return nil, nil, fmt.Errorf("ca %q expired on %s: make a new ca and regenerate every machine's certs",
			caCert, ca.NotAfter.Format(time.RFC3339))
	}
	ips, names := splitHosts(hosts)
	cn := "localhost"
	if len(hosts) > 0 {
		if first := cleanHost(hosts[0]); first != "" {
			cn = first
		}
	}
	tmpl, err := leafTemplate(org, cn, now, ca)
	if err != nil {
		return nil, nil, err
	}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	tmpl.IPAddresses = ips
	tmpl.DNSNames = names
	leafKey, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, leafKey.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("sign: %w", err)
	}
	if keyPEM, err = encodeKey(leafKey); err != nil {
		return nil, nil, err
	}
	return encodeCert(der), keyPEM, nil
}

// createCA writes a new self-signed CA and returns it.
func createCA(certOut, keyOut, org string) (*x509.Certificate, crypto.Signer, error) {
	key, err := newKey()
	if err != nil {
		return nil, nil, fmt.Errorf("new ca %q: %w", certOut, err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, fmt.Errorf("new ca %q: %w", certOut, err)
	}
	notBefore := time.Now().Add(-clockSkew)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      subject(org, "machine ca"),
		NotBefore:    notBefore,
		NotAfter:     notBefore.Add(caValidity),
		// KeyEncipherment is for RSA key transport: it has no meaning for
		// an ECDSA key, so it is left out.
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("new ca %q: sign: %w", certOut, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("new ca %q: %w", certOut, err)
	}
	if err := writePair(certOut, keyOut, der, key); err != nil {
		return nil, nil, fmt.Errorf("new ca %q: %w", certOut, err)
	}
	return cert, key, nil
}

// createClient writes a new client pair signed by ca.
func createClient(ca *x509.Certificate, caKey crypto.Signer, certOut, keyOut, org string) error {
	tmpl, err := leafTemplate(org, "machine client", time.Now(), ca)
	if err != nil {
		return fmt.Errorf("new client cert %q: %w", certOut, err)
	}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if err := issue(tmpl, ca, caKey, certOut, keyOut); err != nil {
		return fmt.Errorf("new client cert %q: %w", certOut, err)
	}
	return nil
}

// leafTemplate is the part that client and server certs share.
func leafTemplate(org, cn string, now time.Time, ca *x509.Certificate) (*x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	notBefore := now.Add(-clockSkew)
	notAfter := notBefore.Add(leafValidity)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject(org, cn),
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature, // ECDSA: no KeyEncipherment
		BasicConstraintsValid: true,
	}, nil
}

// issue makes a new key, signs tmpl for it with the CA and writes the pair.
func issue(tmpl, ca *x509.Certificate, caKey crypto.Signer, certOut, keyOut string) error {
	key, err := newKey()
	if err != nil {
		return err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	return writePair(certOut, keyOut, der, key)
}

// writePair writes the key (0600) and then the cert (0644), atomically each.
func writePair(certOut, keyOut string, certDER []byte, key crypto.Signer) error {
	keyPEM, err := encodeKey(key)
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(keyOut, keyPEM, 0o600); err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(certOut, encodeCert(certDER), 0o644)
}

// loadCA reads a CA cert and its key and checks that they belong together.
func loadCA(certPath, keyPath string) (*x509.Certificate, crypto.Signer, error) {
	cert, _, err := readCerts(certPath)
	if err != nil {
		return nil, nil, err
	}
	if !cert.IsCA {
		return nil, nil, fmt.Errorf("ca cert %q is not a ca certificate", certPath)
	}
	key, err := readKey(keyPath)
	if err != nil {
		return nil, nil, err
	}
	if err := keyMatches(cert, key); err != nil {
		return nil, nil, fmt.Errorf("ca key %q does not match ca cert %q: %w", keyPath, certPath, err)
	}
	return cert, key, nil
}

// newKey makes an ECDSA P-256 key.
func newKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return key, nil
}

// newSerial returns a random, positive 128-bit serial number.
func newSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("generate serial: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// subject is O=org (when given), CN=cn.
func subject(org, cn string) pkix.Name {
	if len(cn) > maxCommonName {
		cn = cn[:maxCommonName]
	}
	name := pkix.Name{CommonName: cn}
	if org != "" {
		name.Organization = []string{org}
	}
	return name
}

// cleanHost trims spaces and the brackets of an IPv6 literal.
func cleanHost(h string) string {
	h = strings.TrimSpace(h)
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	return h
}

// splitHosts sorts hosts into IP and DNS SANs, in order, without duplicates
// or empty entries, and adds 127.0.0.1 and "localhost".
func splitHosts(hosts []string) ([]net.IP, []string) {
	var (
		ips     []net.IP
		names   []string
		seenIP  = map[netip.Addr]bool{}
		seenDNS = map[string]bool{}
	)
	addIP := func(a netip.Addr) {
		a = a.WithZone("").Unmap()
		if !seenIP[a] {
			seenIP[a] = true
			ips = append(ips, net.IP(a.AsSlice()))
		}
	}
	addName := func(n string) {
		if k := strings.ToLower(n); !seenDNS[k] {
			seenDNS[k] = true
			names = append(names, n)
		}
	}
	for _, h := range hosts {
		h = cleanHost(h)
		if h == "" {
			continue
		}
		if a, err := netip.ParseAddr(h); err == nil {
			addIP(a)
		} else {
			addName(h)
		}
	}
	addName("localhost")
	addIP(netip.AddrFrom4([4]byte{127, 0, 0, 1}))
	return ips, names
}

package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const testOrg = "tester"

// keyEncoding is a way other tools write private keys.
type keyEncoding struct {
	name   string
	newKey func(t testing.TB) crypto.Signer
	encode func(t testing.TB, key crypto.Signer) []byte
}

func rsaKey(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ecKey(curve elliptic.Curve) func(testing.TB) crypto.Signer {
	return func(t testing.TB) crypto.Signer {
		t.Helper()
		k, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
}

func ecKeyP256(t testing.TB) crypto.Signer { return ecKey(elliptic.P256())(t) }

func edKey(t testing.TB) crypto.Signer {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pkcs1(t testing.TB, key crypto.Signer) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key.(*rsa.PrivateKey))})
}

func pkcs8(t testing.TB, key crypto.Signer) []byte {
	t.Helper()
	return pkcs8Any(t, key)
}

func pkcs8Any(t testing.TB, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// sec1WithParams is what `openssl ecparam -genkey` writes.
func sec1WithParams(t testing.TB, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	params := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}})
	return append(params, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})...)
}

func keyEncodings() []keyEncoding {
	return []keyEncoding{
		{"rsa pkcs1", rsaKey, pkcs1},
		{"rsa pkcs8", rsaKey, pkcs8},
		{"ec p256 sec1 with params", ecKey(elliptic.P256()), sec1WithParams},
		{"ec p384 pkcs8", ecKey(elliptic.P384()), pkcs8},
		{"ed25519 pkcs8", edKey, pkcs8},
	}
}

// dockerMachineTemplate is docker-machine's cert template: O=org, no CN,
// RSA-style key usages.
func dockerMachineTemplate(t testing.TB) *x509.Certificate {
	t.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{testOrg}},
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              now.Add(1080 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyAgreement,
		BasicConstraintsValid: true,
	}
}

// writeForeignCA writes a docker-machine style CA with key into dir.
func writeForeignCA(t testing.TB, dir string, key crypto.Signer, encode func(testing.TB, crypto.Signer) []byte) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	tmpl := dockerMachineTemplate(t)
	tmpl.IsCA = true
	tmpl.KeyUsage |= x509.KeyUsageCertSign
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, CAFile), encodeCert(der), 0o644)
	mustWrite(t, filepath.Join(dir, CAKeyFile), encode(t, key), 0o600)
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca, key
}

// signLeaf signs a docker-machine style leaf for key with the CA, with
// changes applied to the template, and writes it to certOut.
func signLeaf(t testing.TB, ca *x509.Certificate, caKey, key crypto.Signer, certOut string, change func(*x509.Certificate)) {
	t.Helper()
	tmpl := dockerMachineTemplate(t)
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if change != nil {
		change(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, certOut, encodeCert(der), 0o644)
}

// expiredServerCert signs with the CA a server certificate for ip that
// expired at notAfter, writes it to a temporary dir and returns its path.
func expiredServerCert(t testing.TB, ca *x509.Certificate, caKey crypto.Signer, ip string, notAfter time.Time) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "expired.pem")
	signLeaf(t, ca, caKey, ecKeyP256(t), path, func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		c.IPAddresses = []net.IP{net.ParseIP(ip)}
		c.NotBefore, c.NotAfter = time.Now().Add(-48*time.Hour), notAfter
	})
	return path
}

func mustWrite(t testing.TB, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustEnsure(t testing.TB, dir string) Paths {
	t.Helper()
	p, err := EnsureStoreCerts(dir, testOrg)
	if err != nil {
		t.Fatalf("EnsureStoreCerts(%q): %v", dir, err)
	}
	return p
}

func mustCert(t testing.TB, path string) *x509.Certificate {
	t.Helper()
	c, _, err := readCerts(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// verify checks that the cert at certPath chains to the CA at caPath for
// usage and (when set) host.
func verify(t testing.TB, caPath, certPath string, usage x509.ExtKeyUsage, host string) error {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(mustCert(t, caPath))
	_, err := mustCert(t, certPath).Verify(x509.VerifyOptions{
		Roots:     roots,
		DNSName:   host,
		KeyUsages: []x509.ExtKeyUsage{usage},
	})
	return err
}

// snapshot returns the contents of the store's four files ("" if missing).
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, name := range []string{CAFile, CAKeyFile, CertFile, KeyFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		m[name] = string(b)
	}
	return m
}

func mode(t testing.TB, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// pemTypes lists a PEM file's block types.
func pemTypes(data []byte) []string {
	var types []string
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return types
		}
		types = append(types, b.Type)
	}
}

package azuretest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/machine-cli/machine/certs"
)

// tlsCerts is the stand-in's own certificate authority and the server
// certificate it signed for 127.0.0.1, ::1 and localhost.
type tlsCerts struct {
	caPEM  []byte
	pool   *x509.CertPool
	server tls.Certificate
}

// newCerts makes a fresh CA and a server certificate signed by it with the
// project's certs package (as for a store and a machine), in a temporary
// directory it removes before returning: the stand-in keeps them in memory
// only.
func newCerts() (_ *tlsCerts, err error) {
	dir, err := os.MkdirTemp("", "azuretest-certs-")
	if err != nil {
		return nil, fmt.Errorf("azuretest: certs: %w", err)
	}
	defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()
	const org = "azuretest ARM stand-in"
	p, err := certs.EnsureStoreCerts(dir, org)
	if err != nil {
		return nil, fmt.Errorf("azuretest: CA: %w", err)
	}
	certFile, keyFile := filepath.Join(dir, certs.ServerCertFile), filepath.Join(dir, certs.ServerKeyFile)
	if err := certs.NewServerCert(p.CACert, p.CAKey, certFile, keyFile, org, []string{"127.0.0.1", "::1", "localhost"}); err != nil {
		return nil, fmt.Errorf("azuretest: server certificate: %w", err)
	}
	server, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("azuretest: server certificate: %w", err)
	}
	caPEM, err := os.ReadFile(p.CACert)
	if err != nil {
		return nil, fmt.Errorf("azuretest: CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("azuretest: CA %q is not a PEM certificate", p.CACert)
	}
	return &tlsCerts{caPEM: caPEM, pool: pool, server: server}, nil
}

package certs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"

	"github.com/docker/go-connections/tlsconfig"
)

// ClientTLSConfig returns a TLS config for talking to a machine's dockerd:
// it presents the client cert and trusts only the CA in caCert (not the
// system roots) to verify the server.
func ClientTLSConfig(caCert, clientCert, clientKey string) (*tls.Config, error) {
	if caCert == "" || clientCert == "" || clientKey == "" {
		return nil, fmt.Errorf("client tls config: need ca, cert and key paths (got %q, %q, %q)", caCert, clientCert, clientKey)
	}
	cfg, err := tlsconfig.Client(tlsconfig.Options{
		CAFile:             caCert,
		CertFile:           clientCert,
		KeyFile:            clientKey,
		ExclusiveRootPools: true,
	})
	if err != nil {
		return nil, fmt.Errorf("client tls config (ca %q, cert %q, key %q): %w", caCert, clientCert, clientKey, err)
	}
	return cfg, nil
}

// CheckServerCert returns nil when the server cert at certPath chains to the
// CA in caCert and is valid now for host, an IP address or DNS name (a port
// is ignored). Otherwise its error says why and that the machine's certs need
// regenerating; it wraps crypto/x509's error (x509.HostnameError,
// x509.UnknownAuthorityError, x509.CertificateInvalidError) for errors.As.
func CheckServerCert(caCert, certPath, host string) error {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = cleanHost(host)
	if host == "" {
		return fmt.Errorf("check server cert %q: empty host", certPath)
	}
	if _, err := verifyLeaf(caCert, certPath, x509.ExtKeyUsageServerAuth, host); err != nil {
		return fmt.Errorf("server cert %q is not valid for host %q with ca %q (regenerate the machine's certs): %w",
			certPath, host, caCert, err)
	}
	return nil
}

// verifyLeaf verifies the first cert in certPath against the CAs in caPath
// for usage and, when not empty, host; further certs in certPath serve as
// intermediates.
func verifyLeaf(caPath, certPath string, usage x509.ExtKeyUsage, host string) (*x509.Certificate, error) {
	ca, moreCAs, err := readCerts(caPath)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	for _, c := range append(moreCAs, ca) {
		roots.AddCert(c)
	}
	leaf, rest, err := readCerts(certPath)
	if err != nil {
		return nil, err
	}
	inter := x509.NewCertPool()
	for _, c := range rest {
		inter.AddCert(c)
	}
	_, err = leaf.Verify(x509.VerifyOptions{
		DNSName:       host,
		Roots:         roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{usage},
	})
	if err != nil {
		return nil, err
	}
	return leaf, nil
}

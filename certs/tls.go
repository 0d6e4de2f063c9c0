package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

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

// TLS alerts a server sends when it refuses the client's certificate.
const (
	alertBadCertificate tls.AlertError = 42
	alertUnknownCA      tls.AlertError = 48
)

// Problem describes the certificate problem err holds, an error of
// CheckServerCert or of a TLS handshake with a machine's dockerd, in a few
// words that follow "machine NAME's": "certificate is valid for 10.0.0.5,
// not 10.0.0.9" (the names of the host's kind, an IP address or a DNS name,
// without the loopback ones every machine certificate carries),
// "certificate is not signed by the CA <ca>" (ca names the CA it was checked
// against), "certificate expired on 2026-01-02", or "client certificate is
// refused by dockerd (...)". ok is false when err holds none of these.
func Problem(err error, ca string) (problem string, ok bool) {
	var (
		host    x509.HostnameError
		unknown x509.UnknownAuthorityError
		invalid x509.CertificateInvalidError
		alert   tls.AlertError
	)
	switch {
	case errors.As(err, &host) && host.Certificate != nil:
		valid := validFor(host.Certificate, host.Host)
		if len(valid) == 0 {
			return fmt.Sprintf("certificate is not valid for %s", host.Host), true
		}
		return fmt.Sprintf("certificate is valid for %s, not %s", strings.Join(valid, ", "), host.Host), true
	case errors.As(err, &unknown):
		return fmt.Sprintf("certificate is not signed by the CA %s", ca), true
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired && invalid.Cert != nil:
		return fmt.Sprintf("certificate expired on %s", invalid.Cert.NotAfter.Format(time.DateOnly)), true
	case errors.As(err, &alert) && (alert == alertBadCertificate || alert == alertUnknownCA):
		return fmt.Sprintf("client certificate is refused by dockerd (%v)", alert), true
	}
	return "", false
}

// validFor lists the names in c of host's kind: its IP addresses when host
// is one, else its DNS names, leaving out the loopback address and
// "localhost" that every machine certificate carries.
func validFor(c *x509.Certificate, host string) []string {
	var out []string
	if ip := net.ParseIP(cleanHost(host)); ip != nil {
		for _, a := range c.IPAddresses {
			if !a.IsLoopback() {
				out = append(out, a.String())
			}
		}
		return out
	}
	for _, n := range c.DNSNames {
		if !strings.EqualFold(n, "localhost") {
			out = append(out, n)
		}
	}
	return out
}

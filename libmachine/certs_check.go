package libmachine

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"

	"github.com/machine-cli/machine/certs"
	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/internal/fsutil"
	"github.com/machine-cli/machine/libmachine/host"
)

// CertError says that a machine's server certificate no longer fits the
// machine: its address changed since the certificate was made (docker-machine
// issues 2175 and 3093), the store's CA was renewed, or it expired. It is
// found in the machine's directory before any connection (CheckCert) or in a
// TLS handshake with the machine's dockerd. `machine regenerate-certs NAME`
// mends it.
type CertError struct {
	Machine string
	// Problem says what does not fit, following "machine NAME's":
	// "certificate is valid for 10.0.0.5, not 10.0.0.9".
	Problem string
	// Err is the error of crypto/x509 or crypto/tls it was found in.
	Err error
}

// Error reads `machine n1's certificate is valid for 10.0.0.5, not
// 10.0.0.9: run "machine regenerate-certs n1"`.
func (e *CertError) Error() string {
	return fmt.Sprintf("machine %s's %s: run \"machine regenerate-certs %s\"", e.Machine, e.Problem, e.Machine)
}

// Unwrap returns the x509 or TLS error.
func (e *CertError) Unwrap() error { return e.Err }

// CheckCert compares the server certificate in machine h's directory
// (server.pem) with the address its Docker URL names, and checks that it
// chains to the machine's CA and has not expired, without any network: the
// docker client would refuse such a certificate. It returns a *CertError
// when the certificate does not fit, and nil for a machine without
// server.pem (nothing to compare).
func (c *Client) CheckCert(h *host.Host, ep drivers.Endpoint) error {
	server := c.CertPaths(h.Name).ServerCert
	data, err := os.ReadFile(server)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check %s's certificate: %w", h.Name, err)
	}
	addr := dockerHost(ep)
	if addr == "" {
		return nil
	}
	ca, err := c.machineCA(h)
	if err != nil {
		return err
	}
	if ca == "" {
		// No CA to chain to: compare the names alone.
		err = verifyHostname(data, addr)
	} else {
		err = certs.CheckServerCert(ca, server, addr)
	}
	if err == nil {
		return nil
	}
	if problem, ok := certs.Problem(err, ca); ok {
		return &CertError{Machine: h.Name, Problem: problem, Err: err}
	}
	return &CertError{Machine: h.Name, Problem: fmt.Sprintf("certificate %s cannot be checked (%v)", server, err), Err: err}
}

// DockerEndpoint is Endpoint for the commands that point a docker client
// at machine name (env, config): it also checks the machine's certificate
// (CheckCert), so that they say what to do instead of handing out settings
// the docker client would refuse.
func (c *Client) DockerEndpoint(ctx context.Context, name string) (*host.Host, drivers.Endpoint, error) {
	h, ep, err := c.Endpoint(ctx, name)
	if err != nil {
		return nil, drivers.Endpoint{}, err
	}
	if err := c.CheckCert(h, ep); err != nil {
		return nil, drivers.Endpoint{}, err
	}
	return h, ep, nil
}

// certError returns a *CertError for machine h when err, from a TLS
// handshake with its dockerd, holds a certificate problem, and err
// otherwise.
func (c *Client) certError(h *host.Host, err error) error {
	var ce *CertError
	if err == nil || errors.As(err, &ce) {
		return err
	}
	if problem, ok := certs.Problem(err, c.CertPaths(h.Name).CACert); ok {
		return &CertError{Machine: h.Name, Problem: problem, Err: err}
	}
	return err
}

// machineCA is the CA machine h's server certificate must chain to: the one
// its config records (the store's or a --tls-ca-cert file), else the copy
// in its directory; "" when neither exists.
func (c *Client) machineCA(h *host.Host) (string, error) {
	for _, p := range []string{h.HostOptions.AuthOptions.CaCertPath, c.CertPaths(h.Name).CACert} {
		if p == "" {
			continue
		}
		ok, err := fsutil.Exists(p)
		if err != nil {
			return "", fmt.Errorf("check %s's certificate: %w", h.Name, err)
		}
		if ok {
			return p, nil
		}
	}
	return "", nil
}

// dockerHost is the host a docker client dials for ep: its URL's host, else
// its IP.
func dockerHost(ep drivers.Endpoint) string {
	if u, err := url.Parse(ep.URL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return ep.IP
}

// verifyHostname checks the first certificate of PEM data against host.
func verifyHostname(data []byte, host string) error {
	block, _ := pem.Decode(data)
	if block == nil {
		return errors.New("no PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip != nil {
		host = ip.String()
	}
	return cert.VerifyHostname(host)
}

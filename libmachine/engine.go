package libmachine

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	"github.com/docker/docker/client"

	"github.com/machine-cli/machine/certs"
)

// Engine returns a Docker API client (github.com/docker/docker/client) for
// the machine's dockerd, over mutual TLS with the machine's client
// certificate. The caller closes it. A machine whose server certificate
// does not fit it gets a *CertError instead (see CheckCert).
func (c *Client) Engine(ctx context.Context, m *Machine) (*client.Client, error) {
	ep, err := c.endpoint(ctx, m)
	if err != nil {
		return nil, err
	}
	if err := c.CheckCert(m.Host, ep); err != nil {
		return nil, err
	}
	return c.engineAt(m.Name, ep.URL)
}

// EngineByName is Engine for machine name, starting its driver only when
// the stored endpoint is not static.
func (c *Client) EngineByName(ctx context.Context, name string) (*client.Client, error) {
	_, ep, err := c.DockerEndpoint(ctx, name)
	if err != nil {
		return nil, err
	}
	return c.engineAt(name, ep.URL)
}

func (c *Client) engineAt(name, dockerURL string) (*client.Client, error) {
	tc, err := c.clientTLS(name)
	if err != nil {
		return nil, err
	}
	return engineClient(dockerURL, tc)
}

// clientTLS is the TLS client config of machine name's certificates.
func (c *Client) clientTLS(name string) (*tls.Config, error) {
	p := c.CertPaths(name)
	return certs.ClientTLSConfig(p.CACert, p.ClientCert, p.ClientKey)
}

// engineClient makes a Docker API client for a tcp:// URL with tc.
func engineClient(dockerURL string, tc *tls.Config) (*client.Client, error) {
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tc, TLSHandshakeTimeout: 5 * time.Second}}
	cl, err := client.NewClientWithOpts(client.WithHost(dockerURL), client.WithHTTPClient(hc),
		client.WithScheme("https"), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", dockerURL, err)
	}
	return cl, nil
}

// pingEngine checks that dockerd at dockerURL answers over TLS with tc.
func pingEngine(ctx context.Context, dockerURL string, tc *tls.Config) error {
	cl, err := engineClient(dockerURL, tc)
	if err != nil {
		return err
	}
	defer cl.Close()
	_, err = cl.Ping(ctx)
	return err
}

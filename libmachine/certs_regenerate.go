package libmachine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/machine-cli/machine/certs"
	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/internal/fsutil"
	"github.com/machine-cli/machine/internal/retry"
	"github.com/machine-cli/machine/libmachine/host"
	"github.com/machine-cli/machine/libmachine/store"
	"github.com/machine-cli/machine/provision"
)

// The regenerate-certs flow: CheckRegenerate before anything changes,
// RenewStoreCerts for --client-certs, then RegenerateCerts per machine.

// CheckRegenerate checks that the certificates of the machines names can be
// regenerated, before anything changes: each exists and its create ran to
// the end; without clientCerts, the CA and client pair its config records
// are usable; with clientCerts (the store's CA and client pair are renewed
// first, mending a broken one), each uses the store's CA. With clientCerts it returns the store's other machines
// whose certificates the store's CA signed: they need new certificates too.
func (c *Client) CheckRegenerate(names []string, clientCerts bool) (others []string, err error) {
	for _, name := range names {
		if err := host.ValidateName(name); err != nil {
			return nil, err
		}
		h, err := c.Store.Load(name)
		if err != nil {
			return nil, err
		}
		half, err := fsutil.Exists(c.Store.MachinePath(name, store.ProvisioningFile))
		if err != nil {
			return nil, err
		}
		if half {
			return nil, fmt.Errorf("regenerate-certs %s: its create did not finish; remove it with `machine rm %s` (which puts the host back) and create it again", name, name)
		}
		if clientCerts && !c.onStoreCA(h) {
			return nil, fmt.Errorf("machine %s uses the CA %s, not the store's: --client-certs renews only the store's CA; renew that CA yourself, then run `machine regenerate-certs %s` without --client-certs",
				name, h.HostOptions.AuthOptions.CaCertPath, name)
		}
		// With clientCerts the store's pair is replaced first, so a broken
		// one (a lost CA key) is no reason to refuse.
		if !clientCerts {
			if _, err := c.machineAuth(h); err != nil {
				return nil, err
			}
		}
	}
	if !clientCerts {
		return nil, nil
	}
	all, err := c.Store.List()
	if err != nil {
		return nil, err
	}
	for _, name := range all {
		if slices.Contains(names, name) {
			continue
		}
		// A machine whose config cannot be read is listed too: nothing
		// says it does not use the store's CA.
		if h, err := c.Store.Load(name); err != nil || c.onStoreCA(h) {
			others = append(others, name)
		}
	}
	return others, nil
}

// RenewStoreCerts replaces the store's CA and client pair by new ones
// (regenerate-certs --client-certs). Every machine whose server certificate
// the old CA signed needs RegenerateCerts afterwards.
func (c *Client) RenewStoreCerts() error {
	c.logf("Making a new CA and client certificate in %s...", c.Store.CertsDir())
	_, err := certs.RenewStoreCerts(c.Store.CertsDir(), certOrg())
	return err
}

// RegenerateCerts gives machine name a new server certificate and restarts
// its dockerd on it, under the machine's lock. The certificate is signed by
// the CA the machine's config records and made for the machine's current
// address (asked of its driver, and recorded again, so that a machine whose
// address changed is mended), its name, its private address and its
// --tls-san names (AuthOptions.ServerCertSANs). It is installed on the host
// with the CA, dockerd restarts on them and must answer over TLS with the
// machine's client certificate; only then are the new certificate, and
// copies of the CA and client pair, written to the machine's directory and
// its config saved. When the host does not take the new certificate, the
// host's earlier configuration is put back and the local files stay as they
// were.
func (c *Client) RegenerateCerts(ctx context.Context, name string) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("regenerate-certs %s: %w", name, err)
		}
	}()
	m, unlock, err := c.loadLocked(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	ap, err := c.machineAuth(m.Host)
	if err != nil {
		return err
	}
	ep, err := c.recordEndpoint(ctx, m)
	if err != nil {
		return err
	}
	port, err := urlPort(ep.URL)
	if err != nil {
		return err
	}
	c.logf("Generating a new server certificate for %s (%s)...", name, ep.IP)
	serverCert, serverKey, err := certs.ServerCertPEM(ap.CACert, ap.CAKey, certOrg()+"."+name,
		serverHosts(name, ep, m.HostOptions.AuthOptions.ServerCertSANs))
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(ap.CACert)
	if err != nil {
		return fmt.Errorf("read the CA certificate: %w", err)
	}
	tc, err := certs.ClientTLSConfig(ap.CACert, ap.ClientCert, ap.ClientKey)
	if err != nil {
		return err
	}
	ssh, err := c.dialSSH(ctx, name, ep, "")
	if err != nil {
		return err
	}
	defer ssh.Close()
	r := c.runner(name, ssh)
	err = provision.InstallCerts(ctx, r, provision.Options{
		MachineName: name,
		Engine:      m.HostOptions.EngineOptions,
		EnginePort:  port,
		CACert:      ca,
		ServerCert:  serverCert,
		ServerKey:   serverKey,
		WaitTLS: func(ctx context.Context) error {
			actx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			err := pingEngine(actx, ep.URL, tc)
			if _, bad := certs.Problem(err, ap.CACert); bad {
				return retry.Stop(err) // dockerd runs with them: waiting longer changes nothing
			}
			return err
		},
		Log: c.Log,
	})
	if err != nil {
		c.undoFailedStep(ctx, r, name, err, fmt.Sprintf("Putting back the certificates %s had...", name))
		return err
	}
	mc := c.CertPaths(name)
	if err := fsutil.WriteFileAtomic(mc.ServerKey, serverKey, 0o600); err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(mc.ServerCert, serverCert, 0o644); err != nil {
		return err
	}
	if err := copyClientCerts(ap, mc); err != nil {
		return err
	}
	if err := c.Save(m); err != nil {
		return err
	}
	c.refreshContext(name, m.DriverName, ep.URL)
	if derr := provision.DiscardBackup(ctx, r, name); derr != nil {
		c.logf("warning: %v", derr)
	}
	return nil
}

// machineAuth returns the CA and client pair machine h's config records
// (the store's files where it records none), checked with certs.CheckPaths.
func (c *Client) machineAuth(h *host.Host) (certs.Paths, error) {
	a := h.HostOptions.AuthOptions
	dir := c.Store.CertsDir()
	or := func(p, file string) string {
		if p == "" {
			return filepath.Join(dir, file)
		}
		return p
	}
	p := certs.Paths{
		CACert:     or(a.CaCertPath, certs.CAFile),
		CAKey:      or(a.CaPrivateKeyPath, certs.CAKeyFile),
		ClientCert: or(a.ClientCertPath, certs.CertFile),
		ClientKey:  or(a.ClientKeyPath, certs.KeyFile),
	}
	labels := certs.Paths{
		CACert:     fmt.Sprintf("%s's CA certificate %q", h.Name, p.CACert),
		CAKey:      fmt.Sprintf("%s's CA key %q", h.Name, p.CAKey),
		ClientCert: fmt.Sprintf("%s's client certificate %q", h.Name, p.ClientCert),
		ClientKey:  fmt.Sprintf("%s's client key %q", h.Name, p.ClientKey),
	}
	if err := certs.CheckPaths(p, labels); err != nil {
		return certs.Paths{}, err
	}
	return p, nil
}

// onStoreCA reports whether machine h's certificates are signed by the
// store's CA (its config records no other).
func (c *Client) onStoreCA(h *host.Host) bool {
	p := h.HostOptions.AuthOptions.CaCertPath
	return p == "" || filepath.Clean(p) == filepath.Join(c.Store.CertsDir(), certs.CAFile)
}

// serverHosts are the names a machine's server certificate is made for:
// its address, its name, its private address, the host of its engine URL
// when that is another (the virtualbox driver's loopback forward beside
// its host-only address) and the --tls-san names.
func serverHosts(name string, ep drivers.Endpoint, sans []string) []string {
	hosts := []string{ep.IP, name}
	if ep.PrivateIP != "" && ep.PrivateIP != ep.IP {
		hosts = append(hosts, ep.PrivateIP)
	}
	if h := dockerHost(ep); h != "" && !slices.Contains(hosts, h) {
		hosts = append(hosts, h)
	}
	return append(hosts, sans...)
}

// Package libmachine runs the machine flows (create, load, list, remove) on
// top of the store, the certificates, the driver plugins and the
// provisioner. It returns data and errors; printing is the CLI's job, except
// for progress lines written to Client.Log.
package libmachine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/user"
	"path/filepath"

	"github.com/machine-cli/machine/certs"
	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/libmachine/dockercontext"
	"github.com/machine-cli/machine/libmachine/host"
	"github.com/machine-cli/machine/libmachine/store"
)

// Client is the entry point for the machine flows of one command.
type Client struct {
	Store   *store.Store
	Plugins *Plugins
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// Debug receives detail for --debug (remote commands, timings); nil
	// discards it.
	Debug io.Writer
	// Contexts is the docker CLI's configuration directory, where machines
	// are registered as docker contexts (see SyncContext); nil registers
	// none.
	Contexts *dockercontext.Store
	// TLS are the CA and client pair the --tls-* flags name (absolute
	// paths), which create uses, and records in the machine's config, in
	// place of the store's certs dir files; an empty field is the store's
	// file.
	TLS certs.Paths
}

// Machine is a stored machine with its driver.
type Machine struct {
	*host.Host
	Driver drivers.Driver
}

func (c *Client) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// Load reads a machine from the store and attaches its driver.
func (c *Client) Load(ctx context.Context, name string) (*Machine, error) {
	if err := host.ValidateName(name); err != nil {
		return nil, err
	}
	h, err := c.Store.Load(name)
	if err != nil {
		return nil, err
	}
	d, err := c.Plugins.Driver(ctx, h.DriverName, h.Driver)
	if err != nil {
		return nil, err
	}
	return &Machine{Host: h, Driver: d}, nil
}

// loadLocked takes machine name's lock (Store.Lock) and loads it (Load).
// The caller releases the lock with unlock once it has saved; on an error
// the lock is already released.
func (c *Client) loadLocked(ctx context.Context, name string) (m *Machine, unlock func(), err error) {
	unlock, err = c.Store.Lock(name)
	if err != nil {
		return nil, nil, err
	}
	if m, err = c.Load(ctx, name); err != nil {
		unlock()
		return nil, nil, err
	}
	return m, unlock, nil
}

// Save writes the machine's config, with the driver's current config.
func (c *Client) Save(m *Machine) error {
	raw, err := marshalDriver(m.Driver)
	if err != nil {
		return err
	}
	m.Host.Driver = raw
	return c.Store.Save(m.Host)
}

// EnsureCerts returns the CA and client pair a new machine uses: the
// store's, made when missing, with the files c.TLS names in their place.
// Those are checked first (see certs.CheckPaths); errors name the flag and
// the file.
func (c *Client) EnsureCerts() (certs.Paths, error) {
	own := c.TLS
	if own == (certs.Paths{}) {
		return certs.EnsureStoreCerts(c.Store.CertsDir(), certOrg())
	}
	p := own
	labels := certs.Paths{
		CACert:     fmt.Sprintf("--tls-ca-cert %q", own.CACert),
		CAKey:      fmt.Sprintf("--tls-ca-key %q", own.CAKey),
		ClientCert: fmt.Sprintf("--tls-client-cert %q", own.ClientCert),
		ClientKey:  fmt.Sprintf("--tls-client-key %q", own.ClientKey),
	}
	if own.CACert == "" || own.CAKey == "" || own.ClientCert == "" || own.ClientKey == "" {
		sp, err := certs.EnsureStoreCerts(c.Store.CertsDir(), certOrg())
		if err != nil {
			return certs.Paths{}, err
		}
		fill := func(path, label *string, store, what string) {
			if *path == "" {
				*path, *label = store, fmt.Sprintf("the store's %s %q", what, store)
			}
		}
		fill(&p.CACert, &labels.CACert, sp.CACert, "CA certificate")
		fill(&p.CAKey, &labels.CAKey, sp.CAKey, "CA key")
		fill(&p.ClientCert, &labels.ClientCert, sp.ClientCert, "client certificate")
		fill(&p.ClientKey, &labels.ClientKey, sp.ClientKey, "client key")
	}
	if err := certs.CheckPaths(p, labels); err != nil {
		return certs.Paths{}, err
	}
	return p, nil
}

// certOrg is the organization in new certificates, the user's name as
// docker-machine does.
func certOrg() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "machine"
}

// CertPaths returns where a machine's client-side certificates live.
func (c *Client) CertPaths(name string) MachineCerts {
	dir := c.Store.MachineDir(name)
	return MachineCerts{
		Dir:        dir,
		CACert:     filepath.Join(dir, certs.CAFile),
		ClientCert: filepath.Join(dir, certs.CertFile),
		ClientKey:  filepath.Join(dir, certs.KeyFile),
		ServerCert: filepath.Join(dir, certs.ServerCertFile),
		ServerKey:  filepath.Join(dir, certs.ServerKeyFile),
	}
}

// MachineCerts are the certificate paths in a machine's directory.
type MachineCerts struct {
	Dir, CACert, ClientCert, ClientKey, ServerCert, ServerKey string
}

// IsNotExist reports whether err says a machine does not exist.
func IsNotExist(err error) bool { return errors.Is(err, store.ErrNotExist) }

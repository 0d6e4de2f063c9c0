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

// Save writes the machine's config, with the driver's current config.
func (c *Client) Save(m *Machine) error {
	raw, err := marshalDriver(m.Driver)
	if err != nil {
		return err
	}
	m.Host.Driver = raw
	return c.Store.Save(m.Host)
}

// EnsureCerts makes the store's CA and client certificate when missing.
func (c *Client) EnsureCerts() (certs.Paths, error) {
	return certs.EnsureStoreCerts(c.Store.CertsDir(), certOrg())
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

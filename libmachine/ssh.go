package libmachine

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/libmachine/host"
	"github.com/machine-cli/machine/libmachine/store"
	"github.com/machine-cli/machine/sshclient"
)

// Endpoint returns how to reach machine name. When its config holds an
// endpoint the driver called static, no driver is started.
func (c *Client) Endpoint(ctx context.Context, name string) (*host.Host, drivers.Endpoint, error) {
	if err := host.ValidateName(name); err != nil {
		return nil, drivers.Endpoint{}, err
	}
	h, err := c.Store.Load(name)
	if err != nil {
		return nil, drivers.Endpoint{}, err
	}
	if ep, ok := storedEndpoint(h); ok {
		return h, ep, nil
	}
	d, err := c.Plugins.Driver(ctx, h.DriverName, h.Driver)
	if err != nil {
		return nil, drivers.Endpoint{}, err
	}
	ep, err := d.GetEndpoint(ctx)
	if err != nil {
		return nil, drivers.Endpoint{}, fmt.Errorf("%s: %w", name, err)
	}
	return h, ep, nil
}

// endpoint returns m's endpoint, from its config when static.
func (c *Client) endpoint(ctx context.Context, m *Machine) (drivers.Endpoint, error) {
	if ep, ok := storedEndpoint(m.Host); ok {
		return ep, nil
	}
	ep, err := m.Driver.GetEndpoint(ctx)
	if err != nil {
		return drivers.Endpoint{}, fmt.Errorf("%s: %w", m.Name, err)
	}
	return ep, nil
}

// storedEndpoint decodes the endpoint kept in h, when it is static.
func storedEndpoint(h *host.Host) (drivers.Endpoint, bool) {
	if len(h.Endpoint) == 0 {
		return drivers.Endpoint{}, false
	}
	var ep drivers.Endpoint
	if err := json.Unmarshal(h.Endpoint, &ep); err != nil || !ep.Static || ep.URL == "" || ep.SSHHostname == "" {
		return drivers.Endpoint{}, false
	}
	return ep, true
}

// recordEndpoint asks the driver for m's endpoint, keeps it in m's config
// and returns it.
func (c *Client) recordEndpoint(ctx context.Context, m *Machine) (drivers.Endpoint, error) {
	ep, err := m.Driver.GetEndpoint(ctx)
	if err != nil {
		return drivers.Endpoint{}, err
	}
	raw, err := json.Marshal(ep)
	if err != nil {
		return drivers.Endpoint{}, err
	}
	m.Host.Endpoint = raw
	return ep, nil
}

// SSH opens an SSH connection to the machine, verifying its host key
// against the one recorded in the machine's directory.
func (c *Client) SSH(ctx context.Context, m *Machine) (*sshclient.Client, error) {
	ep, err := c.endpoint(ctx, m)
	if err != nil {
		return nil, err
	}
	return c.dialSSH(ctx, m.Name, ep, "")
}

// SSHByName opens an SSH connection to machine name (see SSH), starting its
// driver only when the stored endpoint is not static.
func (c *Client) SSHByName(ctx context.Context, name string) (*sshclient.Client, error) {
	_, ep, err := c.Endpoint(ctx, name)
	if err != nil {
		return nil, err
	}
	return c.dialSSH(ctx, name, ep, "")
}

func (c *Client) dialSSH(ctx context.Context, name string, ep drivers.Endpoint, hostKey string) (*sshclient.Client, error) {
	return sshclient.Dial(ctx, sshclient.Config{
		Host:           ep.SSHHostname,
		Port:           ep.SSHPort,
		User:           ep.SSHUser,
		KeyPath:        ep.SSHKeyPath,
		KnownHostsPath: c.Store.MachinePath(name, store.KnownHostsFile),
		HostKey:        hostKey,
	})
}

package libmachine

import (
	"context"
	"fmt"

	"github.com/machine-cli/machine/libmachine/sshclient"
	"github.com/machine-cli/machine/libmachine/store"
)

// SSH opens an SSH connection to the machine, verifying its host key
// against the one recorded in the machine's directory.
func (c *Client) SSH(ctx context.Context, m *Machine) (*sshclient.Client, error) {
	return c.dialSSH(ctx, m, "")
}

func (c *Client) dialSSH(ctx context.Context, m *Machine, hostKey string) (*sshclient.Client, error) {
	d := m.Driver
	h, err := d.GetSSHHostname(ctx)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", m.Name, err)
	}
	port, err := d.GetSSHPort(ctx)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", m.Name, err)
	}
	user, err := d.GetSSHUsername(ctx)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", m.Name, err)
	}
	key, err := d.GetSSHKeyPath(ctx)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", m.Name, err)
	}
	return sshclient.Dial(ctx, sshclient.Config{
		Host:           h,
		Port:           port,
		User:           user,
		KeyPath:        key,
		KnownHostsPath: c.Store.MachinePath(m.Name, store.KnownHostsFile),
		HostKey:        hostKey,
	})
}

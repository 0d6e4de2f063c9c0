package libmachine

// The swarm commands on an existing machine, under its lock.

import (
	"context"
	"fmt"

	"github.com/machine-cli/machine/libmachine/host"
)

// JoinSwarm starts or joins a swarm with the existing machine name (SwarmUp) and saves
// its config, holding the machine's lock.
func (c *Client) JoinSwarm(ctx context.Context, name string, o SwarmOptions) error {
	return c.change(ctx, name, func(m *Machine) error { return c.SwarmUp(ctx, m, nil, o) })
}

// LeaveSwarm takes machine name out of its swarm (SwarmLeave) and saves its
// config, holding the machine's lock.
func (c *Client) LeaveSwarm(ctx context.Context, name string, force bool) error {
	return c.change(ctx, name, func(m *Machine) error {
		if m.HostOptions.SwarmOptions.Mode == nil {
			return fmt.Errorf("machine %q is not in a swarm made by machine", name)
		}
		return c.SwarmLeave(ctx, m, force)
	})
}

// change loads machine name under its lock, applies f and saves the result.
func (c *Client) change(ctx context.Context, name string, f func(*Machine) error) error {
	if err := host.ValidateName(name); err != nil {
		return err
	}
	m, unlock, err := c.loadLocked(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	if err := f(m); err != nil {
		return err
	}
	return c.Save(m)
}

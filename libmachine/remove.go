package libmachine

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/machine-cli/machine/libmachine/store"
	"github.com/machine-cli/machine/provision"
)

// Remove deletes a machine: the driver removes what it made, then the
// machine's directory goes. With force, a machine whose config is missing or
// corrupt, or whose driver fails, is still removed from the store.
func (c *Client) Remove(ctx context.Context, name string, force bool) error {
	unlock, err := c.Store.Lock(name)
	if err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	defer unlock()
	m, err := c.Load(ctx, name)
	if err != nil {
		var corrupt *store.CorruptError
		switch {
		case IsNotExist(err), !force && errors.As(err, &corrupt): // their messages say what to do
			return fmt.Errorf("remove %s: %w", name, err)
		case !force:
			return fmt.Errorf("remove %s: %w (use -f to remove it from the store anyway)", name, err)
		}
		c.logf("warning: %v; removing %s from the store anyway (-f)", err, name)
		if err := c.Store.Remove(name); err != nil {
			return err
		}
		c.unregisterContext(name)
		return nil
	}
	if err := c.SwarmLeave(ctx, m, force); err != nil {
		if !force {
			return fmt.Errorf("remove %s: %w", name, err)
		}
		c.logf("warning: remove %s: %v; removing it anyway (-f)", name, err)
	}
	c.restoreUnfinished(ctx, m)
	if err := m.Driver.Remove(ctx); err != nil {
		if !force {
			return fmt.Errorf("remove %s: driver: %w (use -f to remove it from the store anyway)", name, err)
		}
		c.logf("warning: remove %s: driver: %v; removing it from the store anyway (-f)", name, err)
	}
	if err := c.Store.Remove(name); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	c.unregisterContext(name)
	return nil
}

// restoreUnfinished puts back the host configuration of a machine whose
// create was killed while it provisioned (it left store.ProvisioningFile):
// what the host held before is still recorded there. Failing that, rm goes
// on, with a warning.
func (c *Client) restoreUnfinished(ctx context.Context, m *Machine) {
	if _, err := os.Stat(c.Store.MachinePath(m.Name, store.ProvisioningFile)); err != nil {
		return
	}
	c.logf("%s's create did not finish; putting back the configuration it found on the host...", m.Name)
	ssh, err := c.SSH(ctx, m)
	if err != nil {
		c.logf("warning: %s: the host's configuration was not put back: %v", m.Name, err)
		return
	}
	defer ssh.Close()
	if _, err := provision.Restore(ctx, c.runner(m.Name, ssh), m.Name); err != nil {
		c.logf("warning: %s: %v", m.Name, err)
	}
}

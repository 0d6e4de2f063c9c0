package libmachine

import (
	"context"
	"errors"
	"fmt"

	"github.com/machine-cli/machine/provision"
)

// Upgrade upgrades Docker on machine name, under its lock, by the method
// that installed it (see provision.Upgrade), and returns the versions
// before and after. dockerd runs and answers over TLS afterwards, also
// when it was stopped before. A machine created with install URL "none"
// is not touched: its error wraps provision.ErrNotInstalledByMachine.
func (c *Client) Upgrade(ctx context.Context, name string) (provision.Versions, error) {
	m, unlock, err := c.loadLocked(ctx, name)
	if err != nil {
		return provision.Versions{}, fmt.Errorf("upgrade %s: %w", name, err)
	}
	defer unlock()
	if e := m.HostOptions; e != nil && e.EngineOptions != nil && e.EngineOptions.InstallURL == "none" {
		return provision.Versions{}, fmt.Errorf("upgrade %s: %w", name, provision.ErrNotInstalledByMachine)
	}
	ssh, popts, err := c.connect(ctx, m)
	if err != nil {
		return provision.Versions{}, fmt.Errorf("upgrade %s: %w", name, err)
	}
	defer ssh.Close()
	v, err := provision.Upgrade(ctx, c.runner(name, ssh), popts)
	if errors.Is(err, provision.ErrNotInstalledByMachine) {
		return v, fmt.Errorf("upgrade %s: %w", name, err)
	}
	return v, err
}

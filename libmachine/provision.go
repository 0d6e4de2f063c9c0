package libmachine

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/machine-cli/machine/libmachine/store"
	"github.com/machine-cli/machine/provision"
	"github.com/machine-cli/machine/sshclient"
)

// Provision runs provisioning again on machine name, under its lock, with
// the certificates the machine already has (they are not regenerated) and
// its stored engine options. A host that already holds what provisioning
// writes is left as it is, dockerd included. A failure after the host's
// configuration was recorded puts that configuration back, as a failed
// create does, but the machine stays in the store. Swarm membership is
// kept: dockerd keeps its state across a restart.
func (c *Client) Provision(ctx context.Context, name string) error {
	m, unlock, err := c.loadLocked(ctx, name)
	if err != nil {
		return fmt.Errorf("provision %s: %w", name, err)
	}
	defer unlock()
	if _, err := os.Stat(c.Store.MachinePath(name, store.ProvisioningFile)); err == nil {
		return fmt.Errorf("provision %s: its create did not finish; remove it with `machine rm %s` (which puts the host back) and create it again", name, name)
	}
	ssh, popts, err := c.connect(ctx, m)
	if err != nil {
		return fmt.Errorf("provision %s: %w", name, err)
	}
	defer ssh.Close()
	r := c.runner(name, ssh)
	if err := provision.Provision(ctx, r, popts); err != nil {
		c.undoFailedStep(ctx, r, name, err, fmt.Sprintf("Putting back the configuration %s had before...", name))
		return err
	}
	// Provisioned: the record of what the host held is no longer needed.
	if err := provision.DiscardBackup(ctx, r, name); err != nil {
		c.logf("warning: %v", err)
	}
	return nil
}

// undoFailedStep puts the host's earlier configuration back (restoreHost)
// when err is a provisioning step's that failed after the configuration
// was recorded (provision.StepError.BackedUp). The rollback has a deadline
// of its own (rollbackTimeout): it runs also when ctx has ended.
func (c *Client) undoFailedStep(ctx context.Context, r provision.Runner, name string, err error, doing string) {
	var se *provision.StepError
	if !errors.As(err, &se) || !se.BackedUp {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	c.restoreHost(rctx, r, name, doing)
}

// restoreHost logs doing and puts back on the host what provisioning
// recorded for machine name (provision.Restore). Its failure is a warning
// on the log: the caller's error stands.
func (c *Client) restoreHost(ctx context.Context, r provision.Runner, name, doing string) {
	c.logf("%s", doing)
	res, err := provision.Restore(ctx, r, name)
	if err != nil {
		c.logf("warning: rollback on the host: %v", err)
	} else if res.Docker {
		c.logf("Restarted dockerd on its earlier configuration.")
	}
}

// connect opens an SSH connection to m and gathers the provisioning
// options of m from its stored config and certificates. The caller closes
// the connection.
func (c *Client) connect(ctx context.Context, m *Machine) (*sshclient.Client, provision.Options, error) {
	ep, err := c.endpoint(ctx, m)
	if err != nil {
		return nil, provision.Options{}, err
	}
	port, err := urlPort(ep.URL)
	if err != nil {
		return nil, provision.Options{}, err
	}
	if m.HostOptions == nil {
		return nil, provision.Options{}, fmt.Errorf("machine %q has no host options in its config", m.Name)
	}
	ssh, err := c.dialSSH(ctx, m.Name, ep, "")
	if err != nil {
		return nil, provision.Options{}, err
	}
	popts, err := c.provisionOptions(m, c.CertPaths(m.Name), ep.URL, port)
	if err != nil {
		ssh.Close()
		return nil, provision.Options{}, err
	}
	return ssh, popts, nil
}

package libmachine

// Putting a machine in a swarm: init or join.

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/machine-cli/machine/libmachine/host"
	"github.com/machine-cli/machine/provision"
	"github.com/machine-cli/machine/sshclient"
)

// SwarmUp puts m in a swarm as opts say, over its engine's API, and records
// the membership in m's config (the caller saves it). ssh is m's open SSH
// connection, or nil to open one.
func (c *Client) SwarmUp(ctx context.Context, m *Machine, ssh *sshclient.Client, o SwarmOptions) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if ssh == nil {
		s, err := c.SSH(ctx, m)
		if err != nil {
			return err
		}
		defer s.Close()
		ssh = s
	}
	self := c.node(ctx, m)
	defer self.close()
	if self.err != nil {
		return fmt.Errorf("docker on %q does not answer: %w", m.Name, self.err)
	}
	if self.inSwarm() {
		return fmt.Errorf("machine %q is already in a swarm (node %s, %s); leave it first with `machine swarm leave %s`",
			m.Name, self.info.NodeID, self.info.LocalNodeState, m.Name)
	}
	if fw, err := provision.OpenSwarmPorts(ctx, c.runner(m.Name, ssh)); err != nil {
		return err
	} else if fw != "" {
		c.logf("Opened the swarm ports in %s on %s.", fw, m.Name)
	}
	listen := o.ListenAddr
	if listen == "" {
		listen = "0.0.0.0:2377"
	}
	mode := &host.SwarmMode{Manager: o.Manager || o.Init, Labels: o.Labels}
	var mgr *node
	if o.Init {
		addr := o.AdvertiseAddr
		if addr == "" {
			pip, err := m.Driver.GetPrivateIP(ctx)
			if err != nil {
				return fmt.Errorf("private IP of %q: %w", m.Name, err)
			}
			addr = pip
		}
		c.logf("Initializing a swarm on %s (advertising %s)...", m.Name, addr)
		mode.Cluster = m.Name
		m.HostOptions.SwarmOptions.Mode = mode // from here on a rollback leaves the swarm
		id, err := self.api.SwarmInit(ctx, swarm.InitRequest{ListenAddr: listen, AdvertiseAddr: addr, DefaultAddrPool: o.DefaultAddrPool})
		if err != nil {
			return fmt.Errorf("swarm init on %q: %w", m.Name, err)
		}
		mode.Cluster, mode.NodeID, mode.AdvertiseAddr = m.Name, id, addr
		mgr = self
	} else {
		var err error
		mgr, err = c.joinSwarm(ctx, m, self, ssh, o, listen, mode)
		if err != nil {
			return err
		}
		defer mgr.close()
	}
	m.HostOptions.SwarmOptions.Mode = mode
	if len(o.Labels) > 0 {
		if err := updateNode(ctx, mgr.api, mode.NodeID, func(s *swarm.NodeSpec) {
			if s.Labels == nil {
				s.Labels = map[string]string{}
			}
			for _, l := range o.Labels {
				k, v, _ := strings.Cut(l, "=")
				s.Labels[k] = v
			}
		}); err != nil {
			return fmt.Errorf("label node %s: %w", m.Name, err)
		}
	}
	return nil
}

// joinWaitBound bounds how long a join waits for another command on the
// machine it joins, such as that machine's create: a create of a local VM
// under software emulation takes minutes.
const joinWaitBound = 20 * time.Minute

// joinSwarm joins m to the swarm of machine o.Join and fills mode. It
// returns the manager it used, which the caller closes.
func (c *Client) joinSwarm(ctx context.Context, m *Machine, self *node, ssh *sshclient.Client, o SwarmOptions, listen string, mode *host.SwarmMode) (*node, error) {
	// A create of the machine to join may still run, as when both creates
	// were started at once: its swarm exists when that create is over.
	wctx, cancel := context.WithTimeout(ctx, joinWaitBound)
	err := c.Store.WaitUnlocked(wctx, o.Join, func() {
		c.logf("Waiting for the command that holds %s (its create?) to finish...", o.Join)
	})
	cancel()
	if err != nil {
		if ctx.Err() == nil && wctx.Err() != nil {
			return nil, fmt.Errorf("--swarm-join %s: another command (a create or rm of %s) still holds it after %s; try again when that is done",
				o.Join, o.Join, joinWaitBound)
		}
		return nil, fmt.Errorf("--swarm-join: %w", err)
	}
	target, err := c.Load(ctx, o.Join)
	if err != nil {
		return nil, fmt.Errorf("--swarm-join: %w", err)
	}
	cluster := clusterOf(target)
	tn := c.node(ctx, target)
	if tn.err == nil && !tn.inSwarm() {
		tn.close()
		return nil, fmt.Errorf("machine %q is not in a swarm; start one with `machine swarm init %s` or create it with --swarm-init", o.Join, o.Join)
	}
	mgr := tn
	if !tn.manager() {
		tn.close()
		mgr = c.findManager(ctx, c.clusterMachines(ctx, cluster, m.Name, target.Name))
		if mgr == nil {
			if tn.err != nil {
				return nil, fmt.Errorf("cannot reach docker on %q, nor any other manager of its swarm, to join it: %w", o.Join, tn.err)
			}
			return nil, fmt.Errorf("no manager of the swarm of %q answers", o.Join)
		}
	}
	role := "worker"
	if o.Manager {
		role = "manager"
	}
	token, err := joinToken(ctx, c, mgr.m, role)
	if err != nil {
		mgr.close()
		return nil, err
	}
	mgrAddr := mgr.info.NodeAddr
	addr := o.AdvertiseAddr
	if addr == "" {
		if addr, err = advertiseAddr(ctx, m, c.runner(m.Name, ssh), mgrAddr); err != nil {
			mgr.close()
			return nil, err
		}
	}
	c.logf("Joining %s to the swarm of %s as a %s (advertising %s, manager %s)...", m.Name, cluster, role, addr, mgr.m.Name)
	mode.Cluster = cluster
	m.HostOptions.SwarmOptions.Mode = mode // from here on a rollback leaves the swarm
	err = self.api.SwarmJoin(ctx, swarm.JoinRequest{
		ListenAddr:    listen,
		AdvertiseAddr: addr,
		RemoteAddrs:   []string{net.JoinHostPort(mgrAddr, "2377")},
		JoinToken:     token,
	})
	if err != nil {
		mgr.close()
		return nil, fmt.Errorf("join %q to the swarm of %q through %s: %s", m.Name, cluster, mgr.m.Name, redact(err.Error(), token))
	}
	info, err := self.api.Info(ctx)
	if err != nil {
		mgr.close()
		return nil, fmt.Errorf("read node ID of %q: %w", m.Name, err)
	}
	mode.Cluster, mode.NodeID, mode.AdvertiseAddr = cluster, info.Swarm.NodeID, addr
	return mgr, nil
}

// joinToken fetches the swarm's join token for role from a manager over
// SSH. The token is kept in memory only.
func joinToken(ctx context.Context, c *Client, mgr *Machine, role string) (string, error) {
	s, err := c.SSH(ctx, mgr)
	if err != nil {
		return "", fmt.Errorf("fetch the join token from %q: %w", mgr.Name, err)
	}
	defer s.Close()
	out, err := c.runner(mgr.Name, s).Output(ctx, sshclient.AsRoot("docker swarm join-token -q "+role))
	if err != nil {
		return "", fmt.Errorf("fetch the join token from %q: %w", mgr.Name, err)
	}
	token := strings.TrimSpace(string(out))
	if !strings.HasPrefix(token, "SWMTKN-") {
		return "", fmt.Errorf("fetch the join token from %q: unexpected answer", mgr.Name)
	}
	return token, nil
}

// advertiseAddr is the address a joining node advertises: the driver's
// private IP when it differs from the public one, else the source address
// of the node's route to the manager.
func advertiseAddr(ctx context.Context, m *Machine, ssh provision.Runner, mgrAddr string) (string, error) {
	ip, err := m.Driver.GetIP(ctx)
	if err != nil {
		return "", err
	}
	pip, err := m.Driver.GetPrivateIP(ctx)
	if err == nil && pip != "" && pip != ip {
		return pip, nil
	}
	out, err := ssh.Output(ctx, "ip -o route get "+sshclient.ShellQuote(mgrAddr))
	if err != nil {
		return "", fmt.Errorf("find the address of %q that routes to the manager %s: %w", m.Name, mgrAddr, err)
	}
	if src := routeSource(string(out)); src != "" {
		return src, nil
	}
	return ip, nil
}

// routeSource picks "src ADDR" out of `ip -o route get` output.
func routeSource(out string) string {
	f := strings.Fields(out)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "src" {
			return f[i+1]
		}
	}
	return ""
}

// redact removes secret from s.
func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[join token]")
}

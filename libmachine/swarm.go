package libmachine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/machine-cli/machine/libmachine/host"
	"github.com/machine-cli/machine/provision"
	"github.com/machine-cli/machine/sshclient"
)

// SwarmOptions put a machine in a swarm-mode cluster: Init starts one, Join
// names a machine of the swarm to join.
type SwarmOptions struct {
	Init bool
	// Join is the name of a machine in the swarm to join.
	Join string
	// Manager joins as a manager rather than a worker.
	Manager bool
	// AdvertiseAddr overrides the address the node advertises.
	AdvertiseAddr string
	// ListenAddr is the node's swarm listen address (default 0.0.0.0:2377).
	ListenAddr string
	// DefaultAddrPool sets the swarm's address pools (init only).
	DefaultAddrPool []string
	// Labels are node labels, key=value.
	Labels []string
}

// Validate checks that the options make sense together.
func (o SwarmOptions) Validate() error {
	switch {
	case o.Init && o.Join != "":
		return errors.New("--swarm-init and --swarm-join exclude each other: a machine starts a swarm or joins one")
	case o.Manager && o.Join == "":
		return errors.New("--swarm-manager needs --swarm-join NAME: the first manager of a swarm is made with --swarm-init")
	case len(o.DefaultAddrPool) > 0 && !o.Init:
		return errors.New("--swarm-default-addr-pool applies to --swarm-init only")
	case !o.Init && o.Join == "" && (o.AdvertiseAddr != "" || o.ListenAddr != "" || len(o.Labels) > 0):
		return errors.New("--swarm-advertise-addr, --swarm-listen-addr and --swarm-label need --swarm-init or --swarm-join NAME")
	}
	if o.Join != "" {
		if err := host.ValidateName(o.Join); err != nil {
			return fmt.Errorf("--swarm-join: %w", err)
		}
	}
	for _, l := range o.Labels {
		if k, _, _ := strings.Cut(l, "="); k == "" {
			return fmt.Errorf("--swarm-label %q: use key=value", l)
		}
	}
	for _, p := range o.DefaultAddrPool {
		if _, _, err := net.ParseCIDR(p); err != nil {
			return fmt.Errorf("--swarm-default-addr-pool %q: not a CIDR such as 10.20.0.0/16", p)
		}
	}
	return nil
}

// Enabled reports whether the options ask for any swarm membership.
func (o SwarmOptions) Enabled() bool { return o.Init || o.Join != "" }

// ErrLastManager is returned when removing the last manager of a swarm that
// still has other nodes.
var ErrLastManager = errors.New("last manager of a swarm with other nodes")

// engineTimeout bounds one look at a machine's engine.
const engineTimeout = 10 * time.Second

// node is a machine with its Docker API client and live swarm state.
type node struct {
	m    *Machine
	api  *client.Client
	info swarm.Info
	err  error // why the engine did not answer; api is nil then
}

func (n *node) close() {
	if n.api != nil {
		n.api.Close()
	}
}

// inSwarm reports whether the engine says it belongs to a swarm.
func (n *node) inSwarm() bool {
	return n.err == nil && n.info.LocalNodeState != swarm.LocalNodeStateInactive && n.info.LocalNodeState != ""
}

// manager reports whether the engine is a reachable manager.
func (n *node) manager() bool { return n.err == nil && n.info.ControlAvailable }

// node connects to m's engine and reads its swarm state.
func (c *Client) node(ctx context.Context, m *Machine) *node {
	n := &node{m: m}
	ctx, cancel := context.WithTimeout(ctx, engineTimeout)
	defer cancel()
	api, err := c.Engine(ctx, m)
	if err != nil {
		n.err = err
		return n
	}
	info, err := api.Info(ctx)
	if err != nil {
		api.Close()
		n.err = err
		return n
	}
	n.api, n.info = api, info.Swarm
	return n
}

// clusterOf names the swarm a machine is in: the recorded cluster, or the
// machine's own name when nothing is recorded.
func clusterOf(m *Machine) string {
	if mode := m.HostOptions.SwarmOptions.Mode; mode != nil && mode.Cluster != "" {
		return mode.Cluster
	}
	return m.Name
}

// clusterMachines loads the machines recorded in cluster, the cluster's
// first machine first, leaving out those named in exclude.
func (c *Client) clusterMachines(ctx context.Context, cluster string, exclude ...string) []*Machine {
	names, err := c.Store.List()
	if err != nil {
		return nil
	}
	var out []*Machine
	for _, name := range names {
		if slices.Contains(exclude, name) {
			continue
		}
		m, err := c.Load(ctx, name)
		if err != nil || clusterOf(m) != cluster {
			continue
		}
		if name == cluster {
			out = slices.Insert(out, 0, m)
		} else {
			out = append(out, m)
		}
	}
	return out
}

// findManager returns a reachable manager among cands, or nil. The
// caller closes it.
func (c *Client) findManager(ctx context.Context, cands []*Machine) *node {
	for _, m := range cands {
		n := c.node(ctx, m)
		if n.manager() {
			return n
		}
		n.close()
	}
	return nil
}

// SwarmManager returns a reachable manager of the swarm that machine name
// is in (the machine itself when it is one).
func (c *Client) SwarmManager(ctx context.Context, name string) (*Machine, error) {
	m, err := c.Load(ctx, name)
	if err != nil {
		return nil, err
	}
	cands := append([]*Machine{m}, c.clusterMachines(ctx, clusterOf(m), m.Name)...)
	mgr := c.findManager(ctx, cands)
	if mgr == nil {
		return nil, fmt.Errorf("no manager of the swarm of %q answers; check `machine ls`", name)
	}
	mgr.close()
	return mgr.m, nil
}

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

// joinSwarm joins m to the swarm of machine o.Join and fills mode. It
// returns the manager it used, which the caller closes.
func (c *Client) joinSwarm(ctx context.Context, m *Machine, self *node, ssh *sshclient.Client, o SwarmOptions, listen string, mode *host.SwarmMode) (*node, error) {
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

// updateNode changes a node's spec through a manager.
func updateNode(ctx context.Context, api *client.Client, id string, change func(*swarm.NodeSpec)) error {
	n, _, err := api.NodeInspectWithRaw(ctx, id)
	if err != nil {
		return err
	}
	change(&n.Spec)
	return api.NodeUpdate(ctx, id, n.Version, n.Spec)
}

// SwarmLeave takes m out of its swarm cleanly: a manager is demoted first
// when other managers remain; the node is drained, leaves, and is removed
// from the node list through a manager. A machine whose host is gone is
// removed through a manager. Removing the last manager of a swarm that has
// other nodes fails with ErrLastManager unless force. It clears m's record
// (the caller saves it).
func (c *Client) SwarmLeave(ctx context.Context, m *Machine, force bool) error {
	mode := m.HostOptions.SwarmOptions.Mode
	if mode == nil {
		return nil // not made a swarm node by machine
	}
	self := c.node(ctx, m)
	defer self.close()
	if self.err == nil && !self.inSwarm() {
		m.HostOptions.SwarmOptions.Mode = nil
		return nil
	}
	nodeID := self.info.NodeID
	if nodeID == "" {
		nodeID = mode.NodeID
	}
	cluster := clusterOf(m)
	mgr := c.findManager(ctx, c.clusterMachines(ctx, cluster, m.Name))
	if mgr != nil {
		defer mgr.close()
	}
	isManager := self.manager() || (self.err != nil && mode.Manager)
	if self.err != nil {
		c.logf("%s does not answer (%v); removing its node through a manager", m.Name, self.err)
	}
	if isManager && mgr == nil {
		if self.err != nil {
			if force {
				return nil
			}
			return fmt.Errorf("%q does not answer (%v) and no other manager of swarm %q does; use -f to remove it anyway", m.Name, self.err, cluster)
		}
		nodes, err := self.api.NodeList(ctx, swarm.NodeListOptions{})
		if err != nil {
			return fmt.Errorf("list the nodes of swarm %q: %w", cluster, err)
		}
		if others := len(nodes) - 1; others > 0 && !force {
			return fmt.Errorf("%q is the %w (%d other nodes); remove the others first, or use -f to remove it anyway and leave them without a manager", m.Name, ErrLastManager, others)
		}
		c.logf("Leaving swarm %s (last manager)...", cluster)
		if err := self.api.SwarmLeave(ctx, true); err != nil {
			return fmt.Errorf("leave swarm %q: %w", cluster, err)
		}
		m.HostOptions.SwarmOptions.Mode = nil
		return nil
	}
	if mgr == nil {
		if self.err == nil {
			if err := self.api.SwarmLeave(ctx, false); err != nil && !force {
				return fmt.Errorf("leave swarm %q: %w", cluster, err)
			}
		} else if !force {
			return fmt.Errorf("%q does not answer (%v) and no manager of swarm %q does to remove its node; use -f", m.Name, self.err, cluster)
		}
		m.HostOptions.SwarmOptions.Mode = nil
		return nil
	}
	if isManager {
		c.logf("Demoting %s (through %s)...", m.Name, mgr.m.Name)
		if err := updateNode(ctx, mgr.api, nodeID, func(s *swarm.NodeSpec) { s.Role = swarm.NodeRoleWorker }); err != nil {
			return fmt.Errorf("demote %q: %w", m.Name, err)
		}
		if self.err == nil {
			if err := waitDemoted(ctx, self.api); err != nil {
				return fmt.Errorf("demote %q: %w", m.Name, err)
			}
		}
	}
	c.logf("Draining %s and removing it from swarm %s (through %s)...", m.Name, cluster, mgr.m.Name)
	if err := updateNode(ctx, mgr.api, nodeID, func(s *swarm.NodeSpec) { s.Availability = swarm.NodeAvailabilityDrain }); err != nil && !force {
		return fmt.Errorf("drain %q: %w", m.Name, err)
	}
	if self.err == nil {
		if err := self.api.SwarmLeave(ctx, false); err != nil && !force {
			return fmt.Errorf("leave swarm %q: %w", cluster, err)
		}
	}
	if err := mgr.api.NodeRemove(ctx, nodeID, swarm.NodeRemoveOptions{Force: true}); err != nil && !force {
		return fmt.Errorf("remove node %q from swarm %q: %w", m.Name, cluster, err)
	}
	m.HostOptions.SwarmOptions.Mode = nil
	return nil
}

// waitDemoted polls a node's engine until it no longer acts as a manager,
// so that it can leave without hurting the managers' quorum.
func waitDemoted(ctx context.Context, api *client.Client) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	delay := 100 * time.Millisecond
	for {
		info, err := api.Info(ctx)
		if err == nil && !info.Swarm.ControlAvailable {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("still a manager: %w", ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}

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
	unlock, err := c.Store.Lock(name)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := c.Load(ctx, name)
	if err != nil {
		return err
	}
	if err := f(m); err != nil {
		return err
	}
	return c.Save(m)
}

// SwarmNode is one node of a swarm as `swarm ls` shows it.
type SwarmNode struct {
	Machine, ID, Hostname, Role, Status, Availability, ManagerStatus, Addr string
}

// SwarmNodes lists the nodes of the swarm that machine name is in, asked of
// one of its managers, with the machine each node belongs to.
func (c *Client) SwarmNodes(ctx context.Context, name string) ([]SwarmNode, error) {
	m, err := c.Load(ctx, name)
	if err != nil {
		return nil, err
	}
	cluster := clusterOf(m)
	all := append([]*Machine{m}, c.clusterMachines(ctx, cluster, m.Name)...)
	mgr := c.findManager(ctx, all)
	if mgr == nil {
		return nil, fmt.Errorf("no manager of the swarm of %q answers; check `machine ls`", name)
	}
	defer mgr.close()
	nodes, err := mgr.api.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list the nodes of swarm %q: %w", cluster, err)
	}
	byID := map[string]string{}
	for _, cm := range all {
		if mode := cm.HostOptions.SwarmOptions.Mode; mode != nil {
			byID[mode.NodeID] = cm.Name
		}
	}
	out := make([]SwarmNode, 0, len(nodes))
	for _, n := range nodes {
		sn := SwarmNode{
			Machine: byID[n.ID], ID: n.ID, Hostname: n.Description.Hostname, Role: string(n.Spec.Role),
			Status: string(n.Status.State), Availability: string(n.Spec.Availability), Addr: n.Status.Addr,
		}
		if n.ManagerStatus != nil {
			sn.ManagerStatus = string(n.ManagerStatus.Reachability)
			if n.ManagerStatus.Leader {
				sn.ManagerStatus = "leader"
			}
		}
		out = append(out, sn)
	}
	slices.SortFunc(out, func(a, b SwarmNode) int { return strings.Compare(a.Hostname, b.Hostname) })
	return out, nil
}

// swarmColumn renders a machine's swarm membership for `ls`:
// "CLUSTER: manager (leader)", "CLUSTER: manager" or "CLUSTER: worker".
func swarmColumn(ctx context.Context, m *Machine, api *client.Client, info swarm.Info) string {
	if info.LocalNodeState != swarm.LocalNodeStateActive {
		return ""
	}
	role := "worker"
	if info.ControlAvailable {
		role = "manager"
		if n, _, err := api.NodeInspectWithRaw(ctx, info.NodeID); err == nil && n.ManagerStatus != nil && n.ManagerStatus.Leader {
			role = "manager (leader)"
		}
	}
	return clusterOf(m) + ": " + role
}

package libmachine

// Finding a swarm's machines and a reachable manager.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

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

package libmachine

// Listing a swarm's nodes, and the swarm column of `ls`.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

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

package libmachine

// Taking a machine out of its swarm.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/machine-cli/machine/internal/retry"
)

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
	err := retry.Poll(ctx, 100*time.Millisecond, time.Second, func(ctx context.Context) error {
		info, err := api.Info(ctx)
		if err == nil && info.Swarm.ControlAvailable {
			return errors.New("still a manager")
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("wait until demoted: %w", err)
	}
	return nil
}

package libmachine

// Swarm options: what create and `swarm join` ask for.

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/machine-cli/machine/libmachine/host"
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

package libmachine

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/libmachine/host"
)

// ErrHostTaken is wrapped by the error of a create aimed at a host that is
// already a machine of the store.
var ErrHostTaken = errors.New("host is already a machine of this store")

// checkHostFree refuses to create machine name on the host ep reaches (its
// SSH address and port) when another machine of the store is that host:
// provisioning it again would replace that machine's certificates and
// engine configuration under it.
func (c *Client) checkHostFree(name string, ep drivers.Endpoint) error {
	addr, port := ep.SSHHostname, ep.SSHPort
	if addr == "" {
		addr = ep.IP
	}
	if addr == "" {
		return nil
	}
	names, err := c.Store.List()
	if err != nil {
		return err
	}
	for _, other := range names {
		if other == name {
			continue
		}
		h, err := c.Store.Load(other)
		if err != nil {
			continue // a broken machine shows in ls; it cannot be compared
		}
		if oa, op, ok := recordedSSHAddress(h); ok && sameHost(addr, port, oa, op) {
			return fmt.Errorf("%w: %s port %d is machine %q; run `machine provision %s` to reconfigure it, or `machine rm %s` first to start over",
				ErrHostTaken, addr, sshPort(port), other, other, other)
		}
	}
	return nil
}

// recordedSSHAddress returns where a stored machine's SSH server listens:
// from the endpoint we record, else from the driver's config as every
// docker-machine driver writes it (IPAddress, SSHPort).
func recordedSSHAddress(h *host.Host) (string, int, bool) {
	var ep drivers.Endpoint
	if len(h.Endpoint) > 0 && json.Unmarshal(h.Endpoint, &ep) == nil {
		addr := ep.SSHHostname
		if addr == "" {
			addr = ep.IP
		}
		if addr != "" {
			return addr, ep.SSHPort, true
		}
	}
	var d struct {
		IPAddress string
		SSHPort   int
	}
	if len(h.Driver) > 0 && json.Unmarshal(h.Driver, &d) == nil && d.IPAddress != "" {
		return d.IPAddress, d.SSHPort, true
	}
	return "", 0, false
}

// sameHost compares two SSH addresses: names case-insensitively, IP
// addresses in canonical form, port 0 as 22.
func sameHost(a string, ap int, b string, bp int) bool {
	return sshPort(ap) == sshPort(bp) && canonicalHost(a) == canonicalHost(b)
}

func canonicalHost(h string) string {
	h = strings.TrimSuffix(strings.Trim(h, "[]"), ".")
	if ip := net.ParseIP(h); ip != nil {
		return ip.String()
	}
	return strings.ToLower(h)
}

func sshPort(p int) int {
	if p == 0 {
		return 22
	}
	return p
}

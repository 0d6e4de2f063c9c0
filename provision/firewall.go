package provision

import (
	"context"
	"fmt"
	"strings"
)

// SwarmPorts are the ports swarm-mode nodes use between each other: cluster
// management, node gossip, and the overlay network's VXLAN traffic.
var SwarmPorts = []string{"2377/tcp", "7946/tcp", "7946/udp", "4789/udp"}

// firewallScript opens ports on an active ufw or firewalld and prints which
// firewall it changed ("ufw", "firewalld" or nothing). Ports already open
// are left alone, and firewalld is reloaded only when a port was added (a
// reload drops the rules dockerd added at run time).
func firewallScript(ports []string) string {
	list := strings.Join(ports, " ")
	return `if command -v ufw >/dev/null 2>&1 && ufw status 2>/dev/null | grep -q '^Status: active'; then
  added=
  for p in ` + list + `; do
    case $(ufw allow "$p") in *Skipping*) ;; *) added=1 ;; esac
  done
  if [ -n "$added" ]; then echo ufw; fi
elif command -v firewall-cmd >/dev/null 2>&1 && firewall-cmd --state >/dev/null 2>&1; then
  added=
  for p in ` + list + `; do
    if ! firewall-cmd --quiet --permanent --query-port="$p"; then firewall-cmd --quiet --permanent --add-port="$p"; added=1; fi
  done
  if [ -n "$added" ]; then firewall-cmd --quiet --reload; echo firewalld; fi
fi`
}

// OpenSwarmPorts opens SwarmPorts on the host when a firewall (ufw or
// firewalld) is active there, and returns the firewall's name, or "" when
// none is active.
func OpenSwarmPorts(ctx context.Context, c Runner) (string, error) {
	out, err := runAsRoot(ctx, c, firewallScript(SwarmPorts))
	if err != nil {
		return "", fmt.Errorf("open swarm ports %s: %w", strings.Join(SwarmPorts, ", "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

package provision

import (
	"context"
	"fmt"
	"strings"
)

// SwarmPorts are the ports swarm-mode nodes use between each other: cluster
// management, node gossip, and the overlay network's VXLAN traffic.
var SwarmPorts = []string{"2377/tcp", "7946/tcp", "7946/udp", "4789/udp"}

// firewall is a host firewall as provisioning sees it.
type firewall struct {
	// active is a shell condition that holds when the firewall is on.
	active string
	// open returns shell commands that open those of ports (a shell word
	// list) that are not open yet in it, and print the firewall's name
	// when they opened any; nil for a firewall machine does not support.
	open func(ports string) string
}

// firewalls are the firewalls an OSProvisioner's Firewalls may name.
var firewalls = map[string]firewall{
	"ufw": {
		active: `command -v ufw >/dev/null 2>&1 && ufw status 2>/dev/null | grep -q '^Status: active'`,
		// ufw answers "Skipping adding existing rule" for a rule it has.
		open: func(ports string) string {
			return `added=
  for p in ` + ports + `; do
    case $(ufw allow "$p") in *Skipping*) ;; *) added=1 ;; esac
  done
  if [ -n "$added" ]; then echo ufw; fi`
		},
	},
	"firewalld": {
		active: `command -v firewall-cmd >/dev/null 2>&1 && firewall-cmd --state >/dev/null 2>&1`,
		open: func(ports string) string {
			// A reload drops the rules dockerd added at run time: only
			// when a port was added.
			return `added=
  for p in ` + ports + `; do
    if ! firewall-cmd --quiet --permanent --query-port="$p"; then firewall-cmd --quiet --permanent --add-port="$p"; added=1; fi
  done
  if [ -n "$added" ]; then firewall-cmd --quiet --reload; echo firewalld; fi`
		},
	},
	// SUSE's firewall before firewalld (SLES 12, openSUSE Leap 42).
	"SuSEfirewall2": {active: `systemctl is-active --quiet SuSEfirewall2 2>/dev/null`},
}

// firewallScript opens ports in the first of the named firewalls that is
// active, leaving those already open alone, and prints its name on the
// first line of its output when it opened any; it prints nothing when none
// is active or every port was open. An active firewall machine does not
// support is printed too, and the script fails.
func firewallScript(names []string, ports []string) string {
	list := strings.Join(ports, " ")
	var b strings.Builder
	for _, name := range names {
		fw, ok := firewalls[name]
		if !ok {
			continue // TestFamilyFirewallsKnown keeps this from happening
		}
		if b.Len() == 0 {
			b.WriteString("if ")
		} else {
			b.WriteString("elif ")
		}
		b.WriteString(fw.active + "; then\n")
		if fw.open == nil {
			b.WriteString("  echo " + name + "\n  exit 3\n")
			continue
		}
		b.WriteString("  " + fw.open(list) + "\n")
	}
	if b.Len() > 0 {
		b.WriteString("fi")
	}
	return b.String()
}

// firewallResult reads the firewall a firewallScript's output names: "" for
// none, or an error for an active firewall that machine does not support.
func firewallResult(out string, ports []string) (string, error) {
	name, _, _ := strings.Cut(out, "\n")
	fw, ok := firewalls[name]
	switch {
	case !ok:
		return "", nil
	case fw.open == nil:
		return name, fmt.Errorf("the host's firewall is %s, which machine cannot open ports in (it opens %s in ufw or firewalld): switch the host to firewalld or stop %s",
			name, strings.Join(ports, ", "), name)
	}
	return name, nil
}

// OpenSwarmPorts opens SwarmPorts on the host when a firewall of its OS
// family (ufw or firewalld) is active there, and returns the firewall's
// name, or "" when none is active or the ports were open already.
func OpenSwarmPorts(ctx context.Context, c Runner) (string, error) {
	os, _, err := DetectOS(ctx, c)
	if err != nil {
		return "", fmt.Errorf("open swarm ports: %w", err)
	}
	out, err := runAsRoot(ctx, c, firewallScript(os.Firewalls(), SwarmPorts))
	fw, ferr := firewallResult(string(out), SwarmPorts)
	if ferr != nil {
		return "", fmt.Errorf("open swarm ports: %w", ferr)
	}
	if err != nil {
		return "", fmt.Errorf("open swarm ports %s: %w", strings.Join(SwarmPorts, ", "), err)
	}
	return fw, nil
}

package vboxstandin

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// list answers `list [--long] [--sorted] WHAT` (VBoxManageList.cpp).
func (c *invocation) list(args []string) int {
	opts, code, ok := c.parse(args, []optDef{{names: []string{"--long", "-l"}}, {names: []string{"--sorted", "-s"}}})
	if !ok {
		return code
	}
	var what []string
	for _, o := range opts {
		if o.name == "" {
			what = append(what, o.operand)
		}
	}
	if len(what) != 1 {
		if len(what) == 0 {
			return c.syntaxError("Missing subcommand for \"list\" command.\n")
		}
		return c.syntaxError("Too many subcommands for \"list\" command.\n")
	}
	switch what[0] {
	case "vms":
		for _, vm := range c.s.state.VMs {
			fmt.Fprintf(c.out, "\"%s\" {%s}\n", vm.Name, vm.UUID)
		}
	case "runningvms":
		for _, vm := range c.s.state.VMs {
			if c.state(vm) == "running" {
				fmt.Fprintf(c.out, "\"%s\" {%s}\n", vm.Name, vm.UUID)
			}
		}
	case "hostonlyifs":
		c.out.Write([]byte(formatHostOnlyIfs(c.s.state.HostOnlyIfs)))
	case "hostonlynets":
		if !c.s.v7() {
			return c.syntaxError("Unknown subcommand \"%s\".", what[0])
		}
		c.out.Write([]byte(formatHostOnlyNets(c.s.state.HostOnlyNets)))
	case "dhcpservers":
		c.out.Write([]byte(formatDHCPServers(c.s.state.DHCPServers)))
	case "systemproperties":
		c.out.Write([]byte(formatSystemProperties(c.s.settings.Version, c.s.machineFolder())))
	default:
		return c.syntaxError("Unknown subcommand \"%s\".", what[0])
	}
	return exitOK
}

// formatHostOnlyIfs is `list hostonlyifs` (listNetworkInterfaces with
// VBOX_WITH_HOSTNETIF_API): a block per interface, each ending in an
// empty line. Host-only interfaces have DHCP disabled (their DHCP server
// is separate) and are up, with a link-local IPv6 address.
func formatHostOnlyIfs(ifs []*HostOnlyIf) string {
	var b strings.Builder
	for _, h := range ifs {
		fmt.Fprintf(&b, "Name:            %s\n", h.Name)
		fmt.Fprintf(&b, "GUID:            %s\n", h.GUID)
		fmt.Fprintf(&b, "DHCP:            %s\n", "Disabled")
		fmt.Fprintf(&b, "IPAddress:       %s\n", h.IP)
		fmt.Fprintf(&b, "NetworkMask:     %s\n", h.Netmask)
		ip6, bits := linkLocal(h.MAC)
		fmt.Fprintf(&b, "IPV6Address:     %s\n", ip6)
		fmt.Fprintf(&b, "IPV6NetworkMaskPrefixLength: %d\n", bits)
		fmt.Fprintf(&b, "HardwareAddress: %s\n", h.MAC)
		fmt.Fprintf(&b, "MediumType:      %s\n", "Ethernet")
		fmt.Fprintf(&b, "Wireless:        %s\n", "No")
		fmt.Fprintf(&b, "Status:          %s\n", "Up")
		fmt.Fprintf(&b, "VBoxNetworkName: HostInterfaceNetworking-%s\n\n", h.Name)
	}
	return b.String()
}

// linkLocal is the IPv6 link-local address Linux gives an interface that
// is up, from its MAC (EUI-64), and its prefix length.
func linkLocal(mac string) (string, int) {
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 {
		return "", 0
	}
	var a [16]byte
	a[0], a[1] = 0xfe, 0x80
	copy(a[8:], []byte{hw[0] ^ 0x02, hw[1], hw[2], 0xff, 0xfe, hw[3], hw[4], hw[5]})
	return netip.AddrFrom16(a).String(), 64
}

// formatHostOnlyNets is VirtualBox 7's `list hostonlynets`
// (listHostOnlyNetworks): note the empty line after GUID.
func formatHostOnlyNets(nets []*HostOnlyNet) string {
	var b strings.Builder
	for _, n := range nets {
		state := "Disabled"
		if n.Enabled {
			state = "Enabled"
		}
		fmt.Fprintf(&b, "Name:            %s\n", n.Name)
		fmt.Fprintf(&b, "GUID:            %s\n\n", n.GUID)
		fmt.Fprintf(&b, "State:           %s\n", state)
		fmt.Fprintf(&b, "NetworkMask:     %s\n", n.Netmask)
		fmt.Fprintf(&b, "LowerIP:         %s\n", n.LowerIP)
		fmt.Fprintf(&b, "UpperIP:         %s\n", n.UpperIP)
		fmt.Fprintf(&b, "VBoxNetworkName: hostonly-%s\n\n", n.Name)
	}
	return b.String()
}

// formatDHCPServers is `list dhcpservers` (listDhcpServers and
// showDhcpConfig), the same in 6.1 and 7.0: blocks separated by an empty
// line; the global configuration holds the netmask as option 1.
func formatDHCPServers(servers []*DHCPServer) string {
	var b strings.Builder
	for i, d := range servers {
		if i > 0 {
			b.WriteString("\n")
		}
		enabled := "No"
		if d.Enabled {
			enabled = "Yes"
		}
		fmt.Fprintf(&b, "NetworkName:    %s\n", d.Network)
		fmt.Fprintf(&b, "Dhcpd IP:       %s\n", d.IP)
		fmt.Fprintf(&b, "LowerIPAddress: %s\n", d.LowerIP)
		fmt.Fprintf(&b, "UpperIPAddress: %s\n", d.UpperIP)
		fmt.Fprintf(&b, "NetworkMask:    %s\n", d.Netmask)
		fmt.Fprintf(&b, "Enabled:        %s\n", enabled)
		b.WriteString("Global Configuration:\n")
		b.WriteString("    minLeaseTime:     default\n")
		b.WriteString("    defaultLeaseTime: default\n")
		b.WriteString("    maxLeaseTime:     default\n")
		b.WriteString("    Forced options:   None\n")
		b.WriteString("    Suppressed opts.: None\n")
		fmt.Fprintf(&b, "      %3d/legacy: %s\n", 1, d.Netmask)
		b.WriteString("Groups:               None\n")
		b.WriteString("Individual Configs:   None\n")
	}
	return b.String()
}

// formatSystemProperties is `list systemproperties` (listSystemProperties)
// as a Linux host's VirtualBox prints it, with the machine folder.
func formatSystemProperties(version, folder string) string {
	api, maxCPUs := "7_0", 64
	if version == Version61 {
		api, maxCPUs = "6_1", 32
	}
	lines := []string{
		"API version:                     " + api,
		"Minimum guest RAM size:          4 Megabytes",
		"Maximum guest RAM size:          2097152 Megabytes",
		"Minimum video RAM size:          0 Megabytes",
		"Maximum video RAM size:          256 Megabytes",
		"Maximum guest monitor count:     64",
		"Minimum guest CPU count:         1",
		fmt.Sprintf("Maximum guest CPU count:         %d", maxCPUs),
		"Virtual disk limit (info):       2199023254528 Bytes",
		"Maximum Serial Port count:       4",
		"Maximum Parallel Port count:     2",
		"Maximum Boot Position:           4",
		"Maximum PIIX3 Network Adapter count:   8",
		"Maximum ICH9 Network Adapter count:   36",
		"Maximum PIIX3 IDE Controllers:   1",
		"Maximum ICH9 IDE Controllers:    1",
		"Maximum IDE Port count:          2",
		"Maximum Devices per IDE Port:    2",
		"Maximum PIIX3 SATA Controllers:  1",
		"Maximum ICH9 SATA Controllers:   8",
		"Maximum SATA Port count:         30",
		"Maximum Devices per SATA Port:   1",
		"Free disk space warning at:      10 %",
		"Free disk space error at:        5 %",
		"Default machine folder:          " + folder,
		"Raw-mode Supported:              no",
		"Exclusive HW virtualization use: on",
		"Default hard disk format:        VDI",
		"VRDE auth library:               VBoxAuth",
		"Webservice auth. library:        VBoxAuth",
		"Remote desktop ExtPack:          ",
		"Log history count:               3",
		"Default frontend:                ",
		"Default audio driver:            PulseAudio",
		"Autostart database path:         ",
		"Default Guest Additions ISO:     /usr/share/virtualbox/VBoxGuestAdditions.iso",
		"Logging Level:                   all",
		"Proxy Mode:                      System",
		"Proxy URL:                       ",
	}
	if version == Version70 {
		lines = append(lines, "User language:                   C")
	}
	return strings.Join(lines, "\n") + "\n"
}

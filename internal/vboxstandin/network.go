package vboxstandin

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"strings"
)

// defaultHostOnlyRange is what VirtualBox >= 6.1.28 allows for host-only
// addresses on Linux, macOS and Solaris without a networks.conf.
var defaultHostOnlyRange = netip.MustParsePrefix("192.168.56.0/21")

// defaultNetworksConf is where VirtualBox reads the host-only ranges.
const defaultNetworksConf = "/etc/vbox/networks.conf"

// allowedRanges are the host-only ranges of networks.conf ("* 10.0.0.0/8
// 192.168.0.0/16" lines; the settings may name another file), or the
// default range without the file.
func (c *invocation) allowedRanges() ([]netip.Prefix, error) {
	path := c.s.settings.NetworksConf
	if path == "" {
		path = defaultNetworksConf
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return []netip.Prefix{defaultHostOnlyRange}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ranges []netip.Prefix
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "*" {
			continue
		}
		for _, r := range fields[1:] {
			if p, err := netip.ParsePrefix(r); err == nil {
				ranges = append(ranges, p.Masked())
			}
		}
	}
	return ranges, sc.Err()
}

// allowed tells whether the network of ip and mask lies inside a range
// networks.conf allows.
func (c *invocation) allowed(ip, mask string) bool {
	p, ok := prefixOf(ip, mask)
	if !ok {
		return false
	}
	ranges, err := c.allowedRanges()
	if err != nil {
		return false
	}
	for _, r := range ranges {
		if r.Bits() <= p.Bits() && r.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// prefixOf is the network of an address and a dotted netmask.
func prefixOf(ip, mask string) (netip.Prefix, bool) {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() {
		return netip.Prefix{}, false
	}
	m, err := netip.ParseAddr(mask)
	if err != nil || !m.Is4() {
		return netip.Prefix{}, false
	}
	b := m.As4()
	bits, seenZero := 0, false
	for _, octet := range b {
		for i := 7; i >= 0; i-- {
			if octet&(1<<i) != 0 {
				if seenZero {
					return netip.Prefix{}, false
				}
				bits++
			} else {
				seenZero = true
			}
		}
	}
	p, err := a.Prefix(bits)
	return p, err == nil
}

// hostOnlyIf answers `hostonlyif create | remove IF | ipconfig IF
// [--dhcp | --ip A [--netmask M] | --ipv6 ...]` (VBoxManageHostonly.cpp).
func (c *invocation) hostOnlyIf(args []string) int {
	if len(args) == 0 {
		return c.syntaxError("No subcommand specified")
	}
	switch args[0] {
	case "create":
		if len(args) > 1 {
			return c.syntaxError("Invalid parameter '%s'", args[1])
		}
		n := 0
		for c.s.findHostOnlyIf(fmt.Sprintf("vboxnet%d", n)) != nil {
			n++
		}
		h := &HostOnlyIf{
			Name:    fmt.Sprintf("vboxnet%d", n),
			GUID:    fmt.Sprintf("786f6276-656e-%02x74-8000-0a00270000%02x", 0x40+n, n),
			IP:      fmt.Sprintf("192.168.%d.1", 56+n),
			Netmask: "255.255.255.0",
			MAC:     fmt.Sprintf("0a:00:27:00:00:%02x", n),
		}
		c.s.state.HostOnlyIfs = append(c.s.state.HostOnlyIfs, h)
		c.dirty = true
		c.progress()
		fmt.Fprintf(c.out, "Interface '%s' was successfully created\n", h.Name)
		return exitOK
	case "remove":
		if len(args) != 2 {
			return c.syntaxError("No interface name was specified")
		}
		h := c.s.findHostOnlyIf(args[1])
		if h == nil {
			return c.fail(ifNotFound(args[1], siteHostOnlyRmFind))
		}
		var keep []*HostOnlyIf
		for _, x := range c.s.state.HostOnlyIfs {
			if x != h {
				keep = append(keep, x)
			}
		}
		c.s.state.HostOnlyIfs = keep
		c.dirty = true
		c.progress()
		return exitOK
	case "ipconfig":
		return c.ipConfig(args[1:])
	}
	return c.syntaxError("Unknown subcommand: %s", args[0])
}

// ifNotFound is IHost's error for a host interface name no interface has.
func ifNotFound(name string, where *site) *comError {
	return &comError{
		Text: fmt.Sprintf("The host network interface named '%s' could not be found", name),
		Code: vboxObjectNotFound, Component: "HostWrap", Interface: "IHost", Callee: "nsISupports", Where: where,
	}
}

// ipConfig sets a host-only interface's address; one outside the ranges
// of networks.conf is refused with E_ACCESSDENIED and no error info, as
// VBoxNetAdpCtl refuses it in VirtualBox >= 6.1.28.
func (c *invocation) ipConfig(args []string) int {
	opts, code, ok := c.parse(args, []optDef{
		{names: []string{"--dhcp", "-dhcp"}},
		{names: []string{"--ip", "-ip"}, value: true},
		{names: []string{"--netmask", "-netmask"}, value: true},
		{names: []string{"--ipv6", "-ipv6"}, value: true},
		{names: []string{"--netmasklengthv6", "-netmasklengthv6"}, value: true},
	})
	if !ok {
		return code
	}
	var name, ip, mask, ip6 string
	dhcp := false
	for _, o := range opts {
		switch o.name {
		case "":
			if name != "" {
				return c.syntaxError("Only one interface name can be specified")
			}
			name = o.operand
		case "--dhcp":
			dhcp = true
		case "--ip":
			ip = o.value
		case "--netmask":
			mask = o.value
		case "--ipv6":
			ip6 = o.value
		}
	}
	if name == "" {
		return c.syntaxError("No interface name was specified")
	}
	if dhcp && (ip != "" || mask != "" || ip6 != "") {
		return c.syntaxError("You can not use --dhcp with static ip configuration parameters: --ip, --netmask, --ipv6 and --netmasklengthv6.")
	}
	if (ip != "" || mask != "") && ip6 != "" {
		return c.syntaxError("You can not use ipv4 configuration (--ip and --netmask) with ipv6 (--ipv6 and --netmasklengthv6) simultaneously.")
	}
	h := c.s.findHostOnlyIf(name)
	if h == nil {
		return c.fail(ifNotFound(name, siteHostOnlyIfFind))
	}
	if ip == "" {
		return exitOK
	}
	if mask == "" {
		mask = "255.255.255.0"
	}
	if _, ok := prefixOf(ip, mask); !ok {
		return c.fail(&comError{Text: "Invalid IP address", Code: eInvalidArg, Component: "HostNetworkInterfaceWrap", Interface: "IHostNetworkInterface", Callee: "nsISupports", Where: siteHostOnlyIfStat})
	}
	if !c.allowed(ip, mask) {
		noInfoError(c.errw, eAccessDenied, "Access denied", siteHostOnlyIfStat, c.s.v7())
		return exitFailure
	}
	h.IP, h.Netmask = ip, mask
	c.dirty = true
	return exitOK
}

// hostOnlyNet answers VirtualBox 7's `hostonlynet add --name N --netmask M
// --lower-ip L --upper-ip U [--enable|--disable] | remove --name N`.
func (c *invocation) hostOnlyNet(args []string) int {
	if len(args) == 0 {
		return c.syntaxError("No subcommand specified")
	}
	opts, code, ok := c.parse(args[1:], []optDef{
		{names: []string{"--name"}, value: true},
		{names: []string{"--id"}, value: true},
		{names: []string{"--netmask"}, value: true},
		{names: []string{"--lower-ip", "--lowerip"}, value: true},
		{names: []string{"--upper-ip", "--upperip"}, value: true},
		{names: []string{"--enable"}},
		{names: []string{"--disable"}},
	})
	if !ok {
		return code
	}
	n := &HostOnlyNet{Enabled: true}
	for _, o := range opts {
		switch o.name {
		case "":
			return c.syntaxError("Invalid parameter '%s'", o.operand)
		case "--name":
			n.Name = o.value
		case "--id":
			n.GUID = o.value
		case "--netmask":
			n.Netmask = o.value
		case "--lower-ip":
			n.LowerIP = o.value
		case "--upper-ip":
			n.UpperIP = o.value
		case "--disable":
			n.Enabled = false
		}
	}
	switch args[0] {
	case "add":
		for _, req := range []struct{ v, opt string }{{n.Name, "--name"}, {n.Netmask, "--netmask"}, {n.LowerIP, "--lower-ip"}, {n.UpperIP, "--upper-ip"}} {
			if req.v == "" {
				return c.argumentError("The %s parameter must be specified", req.opt)
			}
		}
		if !c.allowed(n.LowerIP, n.Netmask) || !c.allowed(n.UpperIP, n.Netmask) {
			noInfoError(c.errw, eAccessDenied, "Access denied", siteHostOnlyNetAdd, true)
			return exitFailure
		}
		if n.GUID == "" {
			n.GUID = newUUID()
		}
		c.s.state.HostOnlyNets = append(c.s.state.HostOnlyNets, n)
		c.dirty = true
		return exitOK
	case "remove":
		if n.Name == "" {
			return c.argumentError("Either --name or --id parameter must be specified")
		}
		h := c.s.findHostOnlyNet(n.Name)
		if h == nil {
			noInfoError(c.errw, vboxObjectNotFound, "Object corresponding to the supplied arguments does not exist", siteHostOnlyNetFind, true)
			return exitFailure
		}
		var keep []*HostOnlyNet
		for _, x := range c.s.state.HostOnlyNets {
			if x != h {
				keep = append(keep, x)
			}
		}
		c.s.state.HostOnlyNets = keep
		c.dirty = true
		return exitOK
	}
	return c.syntaxError("Unknown subcommand: %s", args[0])
}

// dhcpServer answers `dhcpserver add|modify|remove --network N |
// --interface IF [--server-ip A --netmask M --lower-ip L --upper-ip U]
// [--enable|--disable]` (VBoxManageDHCPServer.cpp).
func (c *invocation) dhcpServer(args []string) int {
	if len(args) == 0 {
		return c.syntaxError("No subcommand specified")
	}
	sub := args[0]
	if sub != "add" && sub != "modify" && sub != "remove" && sub != "restart" && sub != "findlease" {
		return c.syntaxError("Unknown subcommand: %s", sub)
	}
	opts, code, ok := c.parse(args[1:], []optDef{
		{names: []string{"--network", "--netname", "-netname"}, value: true},
		{names: []string{"--interface", "--ifname", "-ifname"}, value: true},
		{names: []string{"--server-ip", "--ip", "-ip"}, value: true},
		{names: []string{"--netmask", "--mask", "-netmask"}, value: true},
		{names: []string{"--lower-ip", "--lowerip", "-lowerip"}, value: true},
		{names: []string{"--upper-ip", "--upperip", "-upperip"}, value: true},
		{names: []string{"--enable", "-enable"}},
		{names: []string{"--disable", "-disable"}},
	})
	if !ok {
		return code
	}
	var network, iface, ip, mask, lower, upper string
	enable := -1
	for _, o := range opts {
		switch o.name {
		case "":
			return c.syntaxError("Invalid parameter '%s'", o.operand)
		case "--network":
			network = o.value
		case "--interface":
			iface = o.value
		case "--server-ip":
			ip = o.value
		case "--netmask":
			mask = o.value
		case "--lower-ip":
			lower = o.value
		case "--upper-ip":
			upper = o.value
		case "--enable":
			enable = 1
		case "--disable":
			enable = 0
		}
	}
	if network == "" && iface == "" {
		return c.syntaxError("You need to specify either --network or --interface to identify the DHCP server")
	}
	if network != "" && iface != "" {
		return c.syntaxError("Either --netname or --ifname may be specified, not both")
	}
	if iface != "" {
		if c.s.findHostOnlyIf(iface) == nil {
			return c.fail(ifNotFound(iface, siteDHCPIfFind))
		}
		network = "HostInterfaceNetworking-" + iface
	}
	d := c.s.findDHCP(network)
	switch sub {
	case "add":
		if d != nil {
			return c.argumentError("DHCP server already exists")
		}
		if ip == "" || mask == "" || lower == "" || upper == "" {
			return c.argumentError("Missing required options for add: --server-ip, --netmask, --lower-ip and --upper-ip")
		}
		d = &DHCPServer{Network: network}
		c.s.state.DHCPServers = append(c.s.state.DHCPServers, d)
	case "remove":
		if d == nil {
			return c.argumentError("DHCP server does not exist")
		}
		var keep []*DHCPServer
		for _, x := range c.s.state.DHCPServers {
			if x != d {
				keep = append(keep, x)
			}
		}
		c.s.state.DHCPServers = keep
		c.dirty = true
		return exitOK
	default:
		if d == nil {
			return c.argumentError("DHCP server does not exist")
		}
	}
	if ip != "" || mask != "" || lower != "" || upper != "" {
		next := *d
		set := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		set(&next.IP, ip)
		set(&next.Netmask, mask)
		set(&next.LowerIP, lower)
		set(&next.UpperIP, upper)
		if msg := checkDHCPConfig(next); msg != "" {
			where := &site{"SetConfiguration(bstrServerIp.raw(), bstrNetmask.raw(), bstrLowerIp.raw(), bstrUpperIp.raw())", "VBoxManageDHCPServer.cpp", 971, 983}
			return c.fail(&comError{Text: msg, Code: eInvalidArg, Component: "DHCPServerWrap", Interface: "IDHCPServer", Callee: "nsISupports", Where: where})
		}
		*d = next
	}
	if enable >= 0 {
		d.Enabled = enable == 1
	}
	c.dirty = true
	return exitOK
}

// checkDHCPConfig is IDHCPServer::SetConfiguration's validation
// (DHCPServerImpl.cpp): addresses in one network, none the network's or
// the broadcast address.
func checkDHCPConfig(d DHCPServer) string {
	p, ok := prefixOf(d.IP, d.Netmask)
	if !ok {
		if _, err := netip.ParseAddr(d.IP); err != nil {
			return fmt.Sprintf("Invalid server address: %s", d.IP)
		}
		return fmt.Sprintf("Invalid netmask: %s", d.Netmask)
	}
	edge := func(a netip.Addr) bool {
		return a == p.Masked().Addr() || !p.Contains(a.Next())
	}
	if a, _ := netip.ParseAddr(d.IP); edge(a) {
		return fmt.Sprintf("Invalid server address: %s (mask %s)", d.IP, d.Netmask)
	}
	if a, err := netip.ParseAddr(d.LowerIP); err != nil || !p.Contains(a) || edge(a) {
		return fmt.Sprintf("Invalid range lower address: %s (mask %s)", d.LowerIP, d.Netmask)
	}
	if a, err := netip.ParseAddr(d.UpperIP); err != nil || !p.Contains(a) || edge(a) {
		return "Invalid range upper address"
	}
	return ""
}

// sharedFolder answers `sharedfolder add VM --name N --hostpath P
// [--readonly] [--automount] [--transient] | remove VM --name N`.
func (c *invocation) sharedFolder(args []string) int {
	if len(args) < 2 {
		return c.syntaxError("Not enough parameters")
	}
	sub, vmName := args[0], args[1]
	opts, code, ok := c.parse(args[2:], []optDef{
		{names: []string{"--name", "-name"}, value: true},
		{names: []string{"--hostpath", "-hostpath"}, value: true},
		{names: []string{"--readonly", "-readonly"}},
		{names: []string{"--transient", "-transient"}},
		{names: []string{"--automount", "-automount"}},
		{names: []string{"--auto-mount-point"}, value: true},
	})
	if !ok {
		return code
	}
	sf := SharedFolder{Writable: true}
	for _, o := range opts {
		switch o.name {
		case "":
			return c.syntaxError("Invalid parameter '%s'", o.operand)
		case "--name":
			sf.Name = o.value
		case "--hostpath":
			sf.HostPath = o.value
		case "--readonly":
			sf.Writable = false
		case "--automount":
			sf.AutoMount = true
		}
	}
	findSite, lockSite := siteSharedAddFind, siteSharedAddLock
	if sub == "remove" {
		findSite, lockSite = siteSharedRmFind, siteSharedRmLock
	} else if sub != "add" {
		return c.syntaxError("Invalid parameter '%s'", sub)
	}
	if sf.Name == "" {
		return c.syntaxError("No shared folder name was specified")
	}
	vm := c.s.findVM(vmName)
	if vm == nil {
		return c.fail(vmNotFound(vmName, findSite))
	}
	if code, ok := c.mutable(vm, lockSite); !ok {
		return code
	}
	idx := -1
	for i, x := range vm.Shared {
		if x.Name == sf.Name {
			idx = i
		}
	}
	if sub == "add" {
		if sf.HostPath == "" {
			return c.syntaxError("No host path was specified")
		}
		if idx >= 0 {
			return c.fail(&comError{
				Text: fmt.Sprintf("Shared folder named '%s' already exists", sf.Name),
				Code: vboxObjectInUse, Component: "SessionMachine", Interface: "IMachine", Callee: "nsISupports",
				Where: &site{"CreateSharedFolder(Bstr(pszName).raw(), Bstr(szAbsHostPath).raw(), fWritable, fAutoMount, Bstr(pszAutoMountPoint).raw())", "VBoxManageMisc.cpp", 1194, 1680},
			})
		}
		vm.Shared = append(vm.Shared, sf)
	} else {
		if idx < 0 {
			return c.fail(&comError{
				Text: fmt.Sprintf("Could not find a shared folder named '%s'", sf.Name),
				Code: vboxObjectNotFound, Component: "SessionMachine", Interface: "IMachine", Callee: "nsISupports",
				Where: &site{"RemoveSharedFolder(Bstr(pszName).raw())", "VBoxManageMisc.cpp", 1289, 1775},
			})
		}
		vm.Shared = append(vm.Shared[:idx], vm.Shared[idx+1:]...)
	}
	c.dirty = true
	return exitOK
}

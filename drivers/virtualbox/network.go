package virtualbox

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"

	"github.com/machine-cli/machine/drivers"
)

// The kinds of host-only networks.
const (
	// KindInterface is a host-only interface (`hostonlyif`): VirtualBox
	// on Linux and Windows, and on macOS before 7.
	KindInterface = "interface"
	// KindNetwork is a host-only network (`hostonlynet`): VirtualBox 7 on
	// macOS, where host-only interfaces do not exist.
	KindNetwork = "network"
)

// HostOnly is the host-only network a machine's second NIC is on.
type HostOnly struct {
	// Kind is KindInterface or KindNetwork.
	Kind string
	// Name is the interface's ("vboxnet0") or the network's name.
	Name string
	// Created says this machine made it; it goes with the last machine
	// that uses it.
	Created bool `json:",omitempty"`
	// DHCPAdded says this machine added its DHCP server.
	DHCPAdded bool `json:",omitempty"`
}

// dhcpNetwork is the network name of the DHCP server of an interface.
func (h HostOnly) dhcpNetwork() string { return dhcpNetworkPrefix + h.Name }

// hostInterface is one of the host's network interfaces with its
// addresses.
type hostInterface struct {
	Name  string
	Up    bool
	Loop  bool
	Addrs []netip.Prefix
}

// hostInterfaces lists the host's interfaces (net.Interfaces).
func hostInterfaces() ([]hostInterface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	out := make([]hostInterface, 0, len(ifs))
	for _, i := range ifs {
		h := hostInterface{Name: i.Name, Up: i.Flags&net.FlagUp != 0, Loop: i.Flags&net.FlagLoopback != 0}
		addrs, err := i.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				ip, ok := netip.AddrFromSlice(n.IP)
				ones, _ := n.Mask.Size()
				if ok {
					h.Addrs = append(h.Addrs, netip.PrefixFrom(ip.Unmap(), ones))
				}
			}
		}
		out = append(out, h)
	}
	return out, nil
}

// network sets up and checks host-only networks with VBoxManage.
type network struct {
	vbm     Runner
	goos    string
	version Version
	// interfaces lists the host's interfaces.
	interfaces func() ([]hostInterface, error)
	// networksConf is the path of /etc/vbox/networks.conf.
	networksConf string
	// say shows the user a line; nil shows nothing.
	say func(string)
}

// kind is the kind of host-only network this VirtualBox has.
func (n network) kind() string {
	if n.goos == "darwin" && n.version.Major >= 7 {
		return KindNetwork
	}
	return KindInterface
}

func (n network) listIfs(ctx context.Context) ([]HostOnlyIf, error) {
	out, err := n.vbm.Run(ctx, "list", "hostonlyifs")
	if err != nil {
		return nil, err
	}
	return ParseHostOnlyIfs(out), nil
}

func (n network) listNets(ctx context.Context) ([]HostOnlyNet, error) {
	out, err := n.vbm.Run(ctx, "list", "hostonlynets")
	if err != nil {
		return nil, err
	}
	return ParseHostOnlyNets(out), nil
}

func (n network) listDHCP(ctx context.Context) ([]DHCPServer, error) {
	out, err := n.vbm.Run(ctx, "list", "dhcpservers")
	if err != nil {
		return nil, err
	}
	return ParseDHCPServers(out), nil
}

// check checks cidr before anything is made: inside the ranges
// networks.conf allows, not overlapping a VirtualBox host-only network of
// another address, not overlapping an interface of the host that is not
// VirtualBox's.
func (n network) check(ctx context.Context, cidr netip.Prefix) error {
	if networksConfApplies(n.goos, n.version) {
		if err := checkAllowed(cidr, n.networksConf); err != nil {
			return err
		}
	}
	vboxIfs := map[string]bool{}
	var vboxNets, vboxAddrs []netip.Prefix
	if n.kind() == KindInterface {
		ifs, err := n.listIfs(ctx)
		if err != nil {
			return err
		}
		for _, h := range ifs {
			vboxIfs[h.Name] = true
			if h.Prefix.IsValid() {
				// On Windows the host calls it "Ethernet 3", not by
				// VirtualBox's name: its address tells it.
				vboxAddrs = append(vboxAddrs, h.Prefix)
			}
			if !h.Prefix.IsValid() || !h.Prefix.Overlaps(cidr.Masked()) || h.Prefix == cidr {
				continue
			}
			return fmt.Errorf("--%s %s overlaps VirtualBox's host-only interface %s (%s): give its address, --%s %s, to share it, or a CIDR of another network",
				FlagHostOnlyCIDR, cidr, h.Name, h.Prefix, FlagHostOnlyCIDR, h.Prefix)
		}
	} else {
		nets, err := n.listNets(ctx)
		if err != nil {
			return err
		}
		for _, hn := range nets {
			if p, ok := hn.Network(); ok {
				vboxNets = append(vboxNets, p)
			}
		}
	}
	ifs, err := n.interfaces()
	if err != nil {
		return fmt.Errorf("list the host's network interfaces: %w", err)
	}
	for _, i := range ifs {
		if !i.Up || i.Loop || vboxIfs[i.Name] {
			continue
		}
		for _, a := range i.Addrs {
			if !a.Addr().Is4() || !a.Overlaps(cidr.Masked()) {
				continue
			}
			if slices.Contains(vboxNets, a.Masked()) || slices.Contains(vboxAddrs, a) {
				continue // the host's side of a VirtualBox host-only network or interface
			}
			return fmt.Errorf("--%s %s collides with the host's interface %s (%s), which is not VirtualBox's: give a CIDR of another network, such as %s",
				FlagHostOnlyCIDR, cidr, i.Name, a, DefaultHostOnlyCIDR)
		}
	}
	return nil
}

// plan is the layout of a host-only network: its DHCP server's address
// and range, and the addresses handed out statically to machines.
type plan struct {
	server       netip.Addr
	lower, upper netip.Addr
	static       []string
}

// maxStatic caps the static addresses of a wide network: a store has
// fewer machines.
const maxStatic = 4096

// layout splits cidr's network as docker-machine did: for a /24 or wider,
// DHCP hands out .100 to .254 of its last /24; for a narrower one, the
// upper half. The DHCP server takes the first address that is not the
// host's; machines get static addresses from the next one up to below the
// DHCP range (at most maxStatic).
func layout(cidr netip.Prefix) plan {
	network := cidr.Masked().Addr()
	last := broadcast(cidr)
	var lower netip.Addr
	if cidr.Bits() <= 24 {
		b := last.As4()
		b[3] = 100
		lower = netip.AddrFrom4(b)
	} else {
		size := uint32(1) << (32 - cidr.Bits())
		lower = addN(network, size/2)
	}
	p := plan{lower: lower, upper: last.Prev()}
	for a := network.Next(); a.Less(lower) && len(p.static) < maxStatic; a = a.Next() {
		if a == cidr.Addr() {
			continue
		}
		if !p.server.IsValid() {
			p.server = a
			continue
		}
		p.static = append(p.static, a.String())
	}
	return p
}

// addN is a + n.
func addN(a netip.Addr, n uint32) netip.Addr {
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) + n
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// without returns the static addresses of p outside [lo, hi] and not x.
func (p plan) without(lo, hi, x netip.Addr) plan {
	var keep []string
	for _, s := range p.static {
		a := netip.MustParseAddr(s)
		if a == x || lo.IsValid() && hi.IsValid() && !a.Less(lo) && !hi.Less(a) {
			continue
		}
		keep = append(keep, s)
	}
	p.static = keep
	return p
}

// ensure finds the host-only network for cidr or makes it, with its DHCP
// server unless noDHCP, and returns it with the addresses machines may
// get statically on it (outside its DHCP range). What it makes is
// recorded in the result as it is made, for the rollback.
func (n network) ensure(ctx context.Context, cidr netip.Prefix, noDHCP bool, h *HostOnly) (plan, error) {
	p := layout(cidr)
	*h = HostOnly{}
	if n.kind() == KindNetwork {
		if noDHCP && n.say != nil {
			n.say("virtualbox: --" + FlagHostOnlyNoDHCP + " does nothing on VirtualBox 7's host-only networks (macOS), whose DHCP range is part of the network; the machine's address is static anyway")
		}
		return n.ensureNet(ctx, cidr, p, h)
	}
	h.Kind = KindInterface
	ifs, err := n.listIfs(ctx)
	if err != nil {
		return plan{}, err
	}
	for _, i := range ifs {
		if i.Prefix == cidr {
			h.Name = i.Name
			break
		}
	}
	if h.Name == "" {
		if n.goos == "windows" && n.say != nil {
			n.say("virtualbox: Windows may ask for permission to create and configure a network adapter; its window may wait minimized in the taskbar")
		}
		out, err := n.vbm.Run(ctx, "hostonlyif", "create")
		if err != nil {
			return plan{}, fmt.Errorf("create a host-only interface: %w", err)
		}
		name, ok := ParseCreatedInterface(out)
		if !ok {
			return plan{}, fmt.Errorf("create a host-only interface: %s hostonlyif create did not name the interface it made: %q", Binary, strings.TrimSpace(out))
		}
		h.Name, h.Created = name, true
		if _, err := n.vbm.Run(ctx, "hostonlyif", "ipconfig", name, "--ip", cidr.Addr().String(), "--netmask", maskOf(cidr.Bits())); err != nil {
			if e := asError(err); e != nil && e.Code == "E_ACCESSDENIED" {
				return plan{}, fmt.Errorf("VirtualBox refused %s for the host-only interface %s (E_ACCESSDENIED): add the line \"* %s\" to %s (as root), or give --%s inside the ranges it lists",
					cidr, name, cidr.Masked(), n.networksConf, FlagHostOnlyCIDR)
			}
			return plan{}, fmt.Errorf("configure the host-only interface %s: %w", name, err)
		}
	}
	servers, err := n.listDHCP(ctx)
	if err != nil {
		return plan{}, err
	}
	var found *DHCPServer
	for i := range servers {
		if servers[i].NetworkName == h.dhcpNetwork() {
			found = &servers[i]
		}
	}
	switch {
	case found != nil && found.Enabled == !noDHCP:
		// As wanted: its addresses are left to it.
		p = p.without(found.Lower, found.Upper, found.Server)
	case found != nil:
		flag := "--enable"
		if noDHCP {
			flag = "--disable"
		}
		if _, err := n.vbm.Run(ctx, "dhcpserver", "modify", "--netname", h.dhcpNetwork(), flag); err != nil {
			return plan{}, fmt.Errorf("DHCP server of %s: %w", h.Name, err)
		}
		p = p.without(found.Lower, found.Upper, found.Server)
	case !noDHCP:
		if _, err := n.vbm.Run(ctx, "dhcpserver", "add", "--netname", h.dhcpNetwork(),
			"--ip", p.server.String(), "--netmask", maskOf(cidr.Bits()),
			"--lowerip", p.lower.String(), "--upperip", p.upper.String(), "--enable"); err != nil {
			return plan{}, fmt.Errorf("DHCP server of %s: %w", h.Name, err)
		}
		h.DHCPAdded = true
	}
	return p, nil
}

// netName is the name of the host-only network machine makes for cidr.
func netName(cidr netip.Prefix) string {
	return "machine-" + strings.ReplaceAll(cidr.Masked().String(), "/", "-")
}

// ensureNet finds or makes the host-only network (VirtualBox 7 on macOS)
// for cidr. Its DHCP range is fixed at creation; the host's address on it
// is the network's first.
func (n network) ensureNet(ctx context.Context, cidr netip.Prefix, p plan, h *HostOnly) (plan, error) {
	h.Kind = KindNetwork
	nets, err := n.listNets(ctx)
	if err != nil {
		return plan{}, err
	}
	for _, hn := range nets {
		if nw, ok := hn.Network(); ok && nw == cidr.Masked() {
			h.Name = hn.Name
			return p.without(hn.Lower, hn.Upper, cidr.Masked().Addr().Next()), nil
		}
	}
	h.Name = netName(cidr)
	if _, err := n.vbm.Run(ctx, "hostonlynet", "add", "--name", h.Name, "--netmask", maskOf(cidr.Bits()),
		"--lower-ip", p.lower.String(), "--upper-ip", p.upper.String(), "--enable"); err != nil {
		if e := asError(err); e != nil && e.Code == "E_ACCESSDENIED" {
			return plan{}, fmt.Errorf("VirtualBox refused %s for a host-only network (E_ACCESSDENIED): add the line \"* %s\" to %s (as root), or give --%s inside the ranges it lists",
				cidr, cidr.Masked(), n.networksConf, FlagHostOnlyCIDR)
		}
		return plan{}, fmt.Errorf("create a host-only network: %w", err)
	}
	h.Created = true
	return p.without(netip.Addr{}, netip.Addr{}, cidr.Masked().Addr().Next()), nil
}

// users are the registered VMs with a NIC on h, but the machine's own:
// the one whose settings are in selfDir.
func (n network) users(ctx context.Context, h HostOnly, selfDir string) ([]MachineInfo, error) {
	out, err := n.vbm.Run(ctx, "list", "vms")
	if err != nil {
		return nil, err
	}
	vms := ParseVMs(out)
	uuids := slices.Sorted(maps.Keys(vms))
	var users []MachineInfo
	for _, uuid := range uuids {
		out, err := n.vbm.Run(ctx, "showvminfo", uuid, "--machinereadable")
		if errors.Is(err, drivers.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		info := ParseMachineInfo(out)
		if cfg := info["CfgFile"]; cfg != "" && filepath.Clean(filepath.Dir(filepath.Dir(cfg))) == filepath.Clean(selfDir) {
			continue
		}
		for k, v := range info {
			if v == h.Name && (strings.HasPrefix(k, "hostonlyadapter") || strings.HasPrefix(k, "hostonly-network")) {
				users = append(users, info)
				break
			}
		}
	}
	return users, nil
}

// remove deletes h and the DHCP server this machine added for it.
func (n network) remove(ctx context.Context, h HostOnly) error {
	var errs []error
	if h.Kind == KindNetwork {
		if _, err := n.vbm.Run(ctx, "hostonlynet", "remove", "--name", h.Name); err != nil && !errors.Is(err, drivers.ErrNotFound) {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}
	if h.DHCPAdded {
		if _, err := n.vbm.Run(ctx, "dhcpserver", "remove", "--netname", h.dhcpNetwork()); err != nil && !errors.Is(err, drivers.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	if _, err := n.vbm.Run(ctx, "hostonlyif", "remove", h.Name); err != nil && !errors.Is(err, drivers.ErrNotFound) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

package virtualbox

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Version is VirtualBox's version, from `VBoxManage --version`
// ("7.0.14r161095", "6.1.50r161033", a distribution's
// "6.1.38_Ubuntur153438").
type Version struct {
	Major, Minor, Patch int
	// Raw is the line as printed.
	Raw string
}

var versionRE = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)`)

// ParseVersion reads the output of `VBoxManage --version`: its last line
// that starts with a version (VBoxManage may warn first, for example that
// the vboxdrv kernel module is not loaded).
func ParseVersion(out string) (Version, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		line := strings.TrimSpace(lines[i])
		m := versionRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		v := Version{Raw: line}
		v.Major, _ = strconv.Atoi(m[1])
		v.Minor, _ = strconv.Atoi(m[2])
		v.Patch, _ = strconv.Atoi(m[3])
		return v, nil
	}
	return Version{}, fmt.Errorf("%s --version printed no version: %q", Binary, strings.TrimSpace(out))
}

// AtLeast reports whether v is major.minor.patch or later.
func (v Version) AtLeast(major, minor, patch int) bool {
	if v.Major != major {
		return v.Major > major
	}
	if v.Minor != minor {
		return v.Minor > minor
	}
	return v.Patch >= patch
}

// String is "major.minor.patch".
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// MachineInfo is the output of `VBoxManage showvminfo NAME
// --machinereadable`: key="value" lines (key=number for numbers, the key
// quoted when it has a dash, as "SATA-0-0"), by key, unquoted. Lines of
// another form (7.0's "Encryption:     disabled") are skipped.
type MachineInfo map[string]string

// ParseMachineInfo reads showvminfo --machinereadable output.
func ParseMachineInfo(out string) MachineInfo {
	m := MachineInfo{}
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\r\n")
		var key, rest string
		if strings.HasPrefix(line, `"`) {
			end := strings.Index(line[1:], `"=`)
			if end < 0 {
				continue
			}
			key, rest = line[1:1+end], line[end+3:]
		} else {
			k, r, ok := strings.Cut(line, "=")
			if !ok || k == "" || strings.ContainsAny(k, " \t:") {
				continue
			}
			key, rest = k, r
		}
		if len(rest) >= 2 && rest[0] == '"' && rest[len(rest)-1] == '"' {
			rest = unescape(rest[1 : len(rest)-1])
		}
		m[unescape(key)] = rest
	}
	return m
}

// unescape undoes VBoxManage's escaping of machine-readable strings: a
// backslash before each double quote and backslash (a Windows path
// "C:\Users\me").
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// State is the VM's state ("running", "poweroff", "saved", "paused",
// "aborted", ...).
func (m MachineInfo) State() string { return m["VMState"] }

// Int is a numeric value, 0 when absent.
func (m MachineInfo) Int(key string) int {
	n, _ := strconv.Atoi(m[key])
	return n
}

// Disks are the hard disks attached to the VM, in the order of its
// storage controllers and ports: the paths of the "CONTROLLER-PORT-DEVICE"
// entries that have an "CONTROLLER-ImageUUID-PORT-DEVICE" beside them and
// are no DVD image.
func (m MachineInfo) Disks() []string {
	var disks []string
	for i := 0; ; i++ {
		ctl, ok := m["storagecontrollername"+strconv.Itoa(i)]
		if !ok {
			break
		}
		ports := m.Int("storagecontrollerportcount" + strconv.Itoa(i))
		for port := 0; port < ports; port++ {
			for dev := 0; dev < 2; dev++ {
				slot := fmt.Sprintf("%d-%d", port, dev)
				path := m[ctl+"-"+slot]
				if path == "" || path == "none" || path == "emptydrive" {
					continue
				}
				if _, ok := m[ctl+"-ImageUUID-"+slot]; !ok {
					continue
				}
				if strings.HasSuffix(strings.ToLower(path), ".iso") {
					continue
				}
				disks = append(disks, path)
			}
		}
	}
	return disks
}

// HasISO reports whether a DVD image with name in its path is attached.
func (m MachineInfo) HasISO(name string) bool {
	for k, v := range m {
		if strings.HasSuffix(strings.ToLower(v), ".iso") && strings.Contains(strings.ToLower(v), name) && strings.Count(k, "-") >= 2 {
			return true
		}
	}
	return false
}

// record splits output of the "Key:   value" form into records, each
// starting at a line whose key is first (blank lines inside a record, as
// `list hostonlynets` prints after GUID, do not end it). Indented lines
// and lines without a colon are skipped.
func records(out, first string) []map[string]string {
	var recs []map[string]string
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == first {
			recs = append(recs, map[string]string{})
		}
		if len(recs) == 0 {
			continue
		}
		recs[len(recs)-1][k] = v
	}
	return recs
}

// prefixOf is the prefix of address ip with the dotted netmask mask
// ("192.168.59.1", "255.255.255.0" is 192.168.59.1/24); ok is false when
// either is not an IPv4 address or the mask is not contiguous.
func prefixOf(ip, mask string) (netip.Prefix, bool) {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() {
		return netip.Prefix{}, false
	}
	bits, ok := maskBits(mask)
	if !ok {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, bits), true
}

// maskBits is the prefix length of a dotted netmask.
func maskBits(mask string) (int, bool) {
	m, err := netip.ParseAddr(mask)
	if err != nil || !m.Is4() {
		return 0, false
	}
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	bits := 0
	for v&0x80000000 != 0 {
		bits++
		v <<= 1
	}
	if v != 0 {
		return 0, false
	}
	return bits, true
}

// maskOf is the dotted netmask of a prefix length.
func maskOf(bits int) string {
	v := ^uint32(0) << (32 - bits)
	if bits == 0 {
		v = 0
	}
	return fmt.Sprintf("%d.%d.%d.%d", v>>24, v>>16&0xff, v>>8&0xff, v&0xff)
}

// HostOnlyIf is a host-only interface, from `VBoxManage list hostonlyifs`
// (VirtualBox on Linux and Windows, and on macOS before 7).
type HostOnlyIf struct {
	Name string
	// Prefix is its IPv4 address with the prefix length of its mask;
	// invalid when it has none.
	Prefix netip.Prefix
	DHCP   bool
	Status string
	// NetworkName is VirtualBox's name of its network
	// ("HostInterfaceNetworking-vboxnet0"), which its DHCP server has.
	NetworkName string
}

// ParseHostOnlyIfs reads `VBoxManage list hostonlyifs`.
func ParseHostOnlyIfs(out string) []HostOnlyIf {
	var ifs []HostOnlyIf
	for _, r := range records(out, "Name") {
		h := HostOnlyIf{Name: r["Name"], DHCP: r["DHCP"] == "Enabled", Status: r["Status"], NetworkName: r["VBoxNetworkName"]}
		if p, ok := prefixOf(r["IPAddress"], r["NetworkMask"]); ok {
			h.Prefix = p
		}
		if h.NetworkName == "" {
			h.NetworkName = dhcpNetworkPrefix + h.Name
		}
		ifs = append(ifs, h)
	}
	return ifs
}

// dhcpNetworkPrefix starts the network name of a host-only interface.
const dhcpNetworkPrefix = "HostInterfaceNetworking-"

// DHCPServer is a DHCP server, from `VBoxManage list dhcpservers`.
type DHCPServer struct {
	NetworkName string
	// Server is the server's own address.
	Server  netip.Addr
	Mask    string
	Lower   netip.Addr
	Upper   netip.Addr
	Enabled bool
}

// ParseDHCPServers reads `VBoxManage list dhcpservers`: 6.1's and 7's
// form ("Dhcpd IP:", "LowerIPAddress:", then the server's configurations,
// indented) and the earlier one ("IP:", "lowerIPAddress:").
func ParseDHCPServers(out string) []DHCPServer {
	var servers []DHCPServer
	for _, r := range records(out, "NetworkName") {
		s := DHCPServer{NetworkName: r["NetworkName"], Mask: r["NetworkMask"], Enabled: r["Enabled"] == "Yes"}
		s.Server = addrOf(r["Dhcpd IP"], r["IP"])
		s.Lower = addrOf(r["LowerIPAddress"], r["lowerIPAddress"])
		s.Upper = addrOf(r["UpperIPAddress"], r["upperIPAddress"])
		servers = append(servers, s)
	}
	return servers
}

// addrOf parses the first non-empty value, or returns the zero Addr.
func addrOf(values ...string) netip.Addr {
	for _, v := range values {
		if v == "" {
			continue
		}
		a, err := netip.ParseAddr(v)
		if err == nil {
			return a
		}
	}
	return netip.Addr{}
}

// HostOnlyNet is a host-only network, from `VBoxManage list hostonlynets`
// (VirtualBox 7 on macOS, where host-only interfaces do not exist).
type HostOnlyNet struct {
	Name    string
	Enabled bool
	Mask    string
	// Lower and Upper bound the addresses its DHCP hands out.
	Lower, Upper netip.Addr
}

// ParseHostOnlyNets reads `VBoxManage list hostonlynets`.
func ParseHostOnlyNets(out string) []HostOnlyNet {
	var nets []HostOnlyNet
	for _, r := range records(out, "Name") {
		nets = append(nets, HostOnlyNet{
			Name: r["Name"], Enabled: r["State"] == "Enabled", Mask: r["NetworkMask"],
			Lower: addrOf(r["LowerIP"]), Upper: addrOf(r["UpperIP"]),
		})
	}
	return nets
}

// Network is the network a host-only network spans: its lower address
// with its mask's prefix length, masked.
func (n HostOnlyNet) Network() (netip.Prefix, bool) {
	p, ok := prefixOf(n.Lower.String(), n.Mask)
	if !ok {
		return netip.Prefix{}, false
	}
	return p.Masked(), true
}

var createdRE = regexp.MustCompile(`Interface '(.+)' was successfully created`)

// ParseCreatedInterface reads the name of the interface `VBoxManage
// hostonlyif create` made.
func ParseCreatedInterface(out string) (string, bool) {
	m := createdRE.FindStringSubmatch(out)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// ParseVMs reads `VBoxManage list vms`: `"NAME" {UUID}` lines, by UUID.
func ParseVMs(out string) map[string]string {
	vms := map[string]string{}
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		i := strings.LastIndex(line, " {")
		if i < 2 || !strings.HasPrefix(line, `"`) || !strings.HasSuffix(line, "}") || line[i-1] != '"' {
			continue
		}
		vms[line[i+2:len(line)-1]] = line[1 : i-1]
	}
	return vms
}

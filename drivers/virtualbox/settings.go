package virtualbox

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/machine-cli/machine/drivers"
)

// Flag names of `create -d virtualbox`: docker-machine's, plus the image.
const (
	FlagMemory          = "virtualbox-memory"
	FlagCPUCount        = "virtualbox-cpu-count"
	FlagDiskSize        = "virtualbox-disk-size"
	FlagBoot2DockerURL  = "virtualbox-boot2docker-url"
	FlagImportVM        = "virtualbox-import-boot2docker-vm"
	FlagHostDNSResolver = "virtualbox-host-dns-resolver"
	FlagNATNicType      = "virtualbox-nat-nictype"
	FlagHostOnlyCIDR    = "virtualbox-hostonly-cidr"
	FlagHostOnlyNicType = "virtualbox-hostonly-nictype"
	FlagHostOnlyPromisc = "virtualbox-hostonly-nicpromisc"
	FlagUIType          = "virtualbox-ui-type"
	FlagHostOnlyNoDHCP  = "virtualbox-hostonly-no-dhcp"
	FlagNoShare         = "virtualbox-no-share"
	FlagNoDNSProxy      = "virtualbox-no-dns-proxy"
	FlagDNSProxy        = "virtualbox-dns-proxy"
	FlagNoVTXCheck      = "virtualbox-no-vtx-check"
	FlagShareFolder     = "virtualbox-share-folder"
	FlagImageURL        = "virtualbox-image-url"
	FlagImageChecksum   = "virtualbox-image-checksum"
)

// Defaults of the flags: docker-machine's, but for the host-only CIDR.
// docker-machine's 192.168.99.1/24 is refused by every VirtualBox since
// 6.1.28 on Linux and macOS, which allows 192.168.56.0/21 only unless
// /etc/vbox/networks.conf says otherwise; 192.168.59.1/24 is inside it
// (minikube's choice too) and leaves 192.168.56.0/24, VirtualBox's own
// first host-only network, to others.
const (
	DefaultMemoryMB     = 1024
	DefaultCPUs         = 1
	DefaultDiskSizeMB   = 20000
	DefaultHostOnlyCIDR = "192.168.59.1/24"
	DefaultNicType      = "82540EM"
	DefaultPromisc      = "deny"
	DefaultUIType       = "headless"
)

// NIC types, promiscuous modes and UI types VirtualBox knows.
var (
	nicTypes = []string{"Am79C970A", "Am79C973", "Am79C960", "82540EM", "82543GC", "82545EM", "virtio"}
	promiscs = []string{"deny", "allow-vms", "allow-all"}
	uiTypes  = []string{"headless", "gui", "sdl", "separate"}
)

// minMemory is the least memory a VM gets, in MB.
const minMemory = 256

// Settings are a virtualbox machine's flag values, checked.
type Settings struct {
	MemoryMB   int
	CPUs       int // -1: as many as the host has
	DiskSizeMB int
	// ImageURL is an http(s) URL or a local path; empty means the default
	// raw cloud image.
	ImageURL      string
	ImageChecksum string
	// ImportVM is a VirtualBox VM whose disk the machine's is cloned from.
	ImportVM        string
	HostDNSResolver bool
	NATNicType      string
	HostOnlyCIDR    string
	HostOnlyNicType string
	HostOnlyPromisc string
	UIType          string
	HostOnlyNoDHCP  bool
	NoShare         bool
	DNSProxy        bool
	NoVTXCheck      bool
	// ShareFolder is "DIR:NAME"; empty means the OS's default.
	ShareFolder string
}

// Flags are the flags of `create -d virtualbox` with docker-machine's
// VIRTUALBOX_* variables.
func Flags() []drivers.Flag {
	return []drivers.Flag{
		{Name: FlagMemory, Kind: drivers.FlagInt, EnvVar: "VIRTUALBOX_MEMORY_SIZE", Default: strconv.Itoa(DefaultMemoryMB),
			Usage: "memory of the VM in MB"},
		{Name: FlagCPUCount, Kind: drivers.FlagInt, EnvVar: "VIRTUALBOX_CPU_COUNT", Default: strconv.Itoa(DefaultCPUs),
			Usage: "number of CPUs of the VM (-1: as many as the host has)"},
		{Name: FlagDiskSize, Kind: drivers.FlagInt, EnvVar: "VIRTUALBOX_DISK_SIZE", Default: strconv.Itoa(DefaultDiskSizeMB),
			Usage: "size of the VM's disk in MB"},
		{Name: FlagImageURL, Kind: drivers.FlagString, EnvVar: "VIRTUALBOX_IMAGE_URL",
			Usage: "cloud image to boot, an http(s) URL or a local path; raw, VDI, VMDK or VHD (qcow2 needs qemu-img) (default: Debian 13's current raw cloud image)"},
		{Name: FlagImageChecksum, Kind: drivers.FlagString, EnvVar: "VIRTUALBOX_IMAGE_CHECKSUM",
			Usage: "checksum of the image, sha256:HEX or sha512:HEX (default: from the checksum file served beside it)"},
		{Name: FlagBoot2DockerURL, Kind: drivers.FlagString, EnvVar: "VIRTUALBOX_BOOT2DOCKER_URL",
			Usage: "a boot2docker ISO to boot (refused: boot2docker cannot be provisioned; use --" + FlagImageURL + ")"},
		{Name: FlagImportVM, Kind: drivers.FlagString, EnvVar: "VIRTUALBOX_BOOT2DOCKER_IMPORT_VM",
			Usage: "a VirtualBox VM whose disk to clone instead of the image (its OS needs cloud-init; its CPUs and memory are kept)"},
		{Name: FlagHostDNSResolver, Kind: drivers.FlagBool, EnvVar: "VIRTUALBOX_HOST_DNS_RESOLVER",
			Usage: "use the host's DNS resolver for the VM (NAT)"},
		{Name: FlagNATNicType, Kind: drivers.FlagString, EnvVar: "VIRTUALBOX_NAT_NICTYPE", Default: DefaultNicType,
			Usage: "type of the NAT network adapter: " + strings.Join(nicTypes, ", ")},
		{Name: FlagHostOnlyCIDR, Kind: drivers.FlagString, EnvVar: "VIRTUALBOX_HOSTONLY_CIDR", Default: DefaultHostOnlyCIDR,
			Usage: "the host's address on the host-only network with its prefix length (VirtualBox allows 192.168.56.0/21 unless /etc/vbox/networks.conf allows more)"},
		{Name: FlagHostOnlyNicType, Kind: drivers.FlagString, EnvVar: "VIRTUALBOX_HOSTONLY_NIC_TYPE", Default: DefaultNicType,
			Usage: "type of the host-only network adapter: " + strings.Join(nicTypes, ", ")},
		{Name: FlagHostOnlyPromisc, Kind: drivers.FlagString, EnvVar: "VIRTUALBOX_HOSTONLY_NIC_PROMISC", Default: DefaultPromisc,
			Usage: "promiscuous mode of the host-only network adapter: " + strings.Join(promiscs, ", ")},
		{Name: FlagUIType, Kind: drivers.FlagString, EnvVar: "VIRTUALBOX_UI_TYPE", Default: DefaultUIType,
			Usage: "how the VM starts: " + strings.Join(uiTypes, ", ")},
		{Name: FlagHostOnlyNoDHCP, Kind: drivers.FlagBool, EnvVar: "VIRTUALBOX_HOSTONLY_NO_DHCP",
			Usage: "no DHCP server on the host-only network (the machine's address is static anyway)"},
		{Name: FlagNoShare, Kind: drivers.FlagBool, EnvVar: "VIRTUALBOX_NO_SHARE",
			Usage: "do not share the home directory with the VM"},
		{Name: FlagNoDNSProxy, Kind: drivers.FlagBool, EnvVar: "VIRTUALBOX_NO_DNS_PROXY",
			Usage: "do not proxy the VM's DNS requests through the host (NAT)"},
		{Name: FlagDNSProxy, Kind: drivers.FlagBool, EnvVar: "VIRTUALBOX_DNS_PROXY",
			Usage: "proxy the VM's DNS requests through the host (the default; docker-machine 0.5's flag)"},
		{Name: FlagNoVTXCheck, Kind: drivers.FlagBool, EnvVar: "VIRTUALBOX_NO_VTX_CHECK",
			Usage: "do not check that the CPU offers VT-x/AMD-V before creating the VM"},
		{Name: FlagShareFolder, Kind: drivers.FlagString, EnvVar: "VIRTUALBOX_SHARE_FOLDER",
			Usage: "share DIR:NAME with the VM instead of the home directory"},
	}
}

// SettingsFromFlags reads and checks the flag values, reporting every
// invalid one; the errors wrap drivers.ErrInvalidConfig.
func SettingsFromFlags(opts drivers.Options) (Settings, error) {
	var errs []error
	invalid := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format+": %w", append(args, drivers.ErrInvalidConfig)...))
	}
	intFlag := func(name string, def, least int, unit string) int {
		if _, ok := opts[name]; !ok {
			return def
		}
		v := opts.Int(name)
		if v < least {
			invalid("--%s %v: give at least %d%s", name, opts[name], least, unit)
		}
		return v
	}
	choice := func(name, def string, allowed []string) string {
		v := strings.TrimSpace(opts.String(name))
		if v == "" {
			return def
		}
		for _, a := range allowed {
			if strings.EqualFold(a, v) {
				return a
			}
		}
		invalid("--%s %q: use %s", name, v, strings.Join(allowed, ", "))
		return v
	}
	s := Settings{
		MemoryMB:        intFlag(FlagMemory, DefaultMemoryMB, minMemory, " (MB)"),
		DiskSizeMB:      intFlag(FlagDiskSize, DefaultDiskSizeMB, 1024, " (MB)"),
		ImageURL:        strings.TrimSpace(opts.String(FlagImageURL)),
		ImageChecksum:   strings.TrimSpace(opts.String(FlagImageChecksum)),
		ImportVM:        strings.TrimSpace(opts.String(FlagImportVM)),
		HostDNSResolver: opts.Bool(FlagHostDNSResolver),
		NATNicType:      choice(FlagNATNicType, DefaultNicType, nicTypes),
		HostOnlyCIDR:    strings.TrimSpace(opts.String(FlagHostOnlyCIDR)),
		HostOnlyNicType: choice(FlagHostOnlyNicType, DefaultNicType, nicTypes),
		HostOnlyPromisc: choice(FlagHostOnlyPromisc, DefaultPromisc, promiscs),
		UIType:          choice(FlagUIType, DefaultUIType, uiTypes),
		HostOnlyNoDHCP:  opts.Bool(FlagHostOnlyNoDHCP),
		NoShare:         opts.Bool(FlagNoShare),
		DNSProxy:        !opts.Bool(FlagNoDNSProxy),
		NoVTXCheck:      opts.Bool(FlagNoVTXCheck),
		ShareFolder:     strings.TrimSpace(opts.String(FlagShareFolder)),
	}
	s.CPUs = DefaultCPUs
	if _, ok := opts[FlagCPUCount]; ok {
		s.CPUs = opts.Int(FlagCPUCount)
		if s.CPUs < 1 && s.CPUs != -1 {
			invalid("--%s %v: give at least 1, or -1 for as many as the host has", FlagCPUCount, opts[FlagCPUCount])
		}
	}
	if s.HostOnlyCIDR == "" {
		s.HostOnlyCIDR = DefaultHostOnlyCIDR
	}
	if _, err := ParseCIDR(s.HostOnlyCIDR); err != nil {
		invalid("--%s: %v", FlagHostOnlyCIDR, err)
	}
	if opts.Bool(FlagNoDNSProxy) && opts.Bool(FlagDNSProxy) {
		invalid("--%s and --%s contradict each other: give one", FlagNoDNSProxy, FlagDNSProxy)
	}
	if b2d := strings.TrimSpace(opts.String(FlagBoot2DockerURL)); b2d != "" {
		invalid("--%s %s: boot2docker (its last release is from 2020) has no systemd, which machine's provisioner needs, so a machine booted from it could never be provisioned; leave the flag out to boot Debian 13's cloud image, or give another cloud image with --%s",
			FlagBoot2DockerURL, b2d, FlagImageURL)
	}
	if s.ImportVM != "" && s.ImageURL != "" {
		invalid("--%s and --%s both name the machine's disk: give one", FlagImportVM, FlagImageURL)
	}
	if u, err := url.Parse(s.ImageURL); s.ImageURL != "" && err == nil && len(u.Scheme) > 1 &&
		!slices.Contains([]string{"http", "https", "file"}, u.Scheme) {
		invalid("--%s %q: give an http(s) URL or a local path", FlagImageURL, s.ImageURL)
	}
	if s.ShareFolder != "" {
		if dir, name, ok := SplitShareFolder(s.ShareFolder); !ok || dir == "" || name == "" {
			invalid("--%s %q: give DIR:NAME, the host directory and the share's name", FlagShareFolder, s.ShareFolder)
		} else if !absolute(dir) {
			invalid("--%s %q: give the directory's absolute path (VirtualBox shares no relative one)", FlagShareFolder, s.ShareFolder)
		}
	}
	return s, errors.Join(errs...)
}

// ParseCIDR reads a host-only CIDR: the host's IPv4 address on the
// network with the prefix length, as docker-machine takes it
// ("192.168.59.1/24"), not the network's address.
func ParseCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR such as %s", s, DefaultHostOnlyCIDR)
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("%q: give an IPv4 CIDR such as %s", s, DefaultHostOnlyCIDR)
	}
	if p.Bits() > 29 || p.Bits() < 8 {
		return netip.Prefix{}, fmt.Errorf("%q: give a prefix length from /8 to /29", s)
	}
	if p.Addr() == p.Masked().Addr() {
		return netip.Prefix{}, fmt.Errorf("%q is the network's address: give the host's address on it, such as %s", s, p.Masked().Addr().Next().String()+"/"+strconv.Itoa(p.Bits()))
	}
	if last := broadcast(p); p.Addr() == last {
		return netip.Prefix{}, fmt.Errorf("%q is the network's broadcast address: give the host's address on it", s)
	}
	return p, nil
}

// broadcast is the last address of p's network.
func broadcast(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= ^uint32(0) >> p.Bits()
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// absolute reports whether dir is an absolute path on Unix ("/srv") or
// Windows (`C:\Users`, `\\?\c:\Users`): the driver may run on either.
func absolute(dir string) bool {
	return strings.HasPrefix(dir, "/") || strings.HasPrefix(dir, `\\`) ||
		len(dir) >= 3 && dir[1] == ':' && (dir[2] == '\\' || dir[2] == '/')
}

// SplitShareFolder splits "DIR:NAME" at its last colon (DIR may be
// "C:\Users").
func SplitShareFolder(s string) (dir, name string, ok bool) {
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

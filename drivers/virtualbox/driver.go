package virtualbox

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/drivers/plugin"
	"github.com/machine-cli/machine/internal/addrpool"
	"github.com/machine-cli/machine/internal/fsutil"
	"github.com/machine-cli/machine/internal/loopport"
	"github.com/machine-cli/machine/internal/retry"
	"github.com/machine-cli/machine/internal/sshkey"
	"github.com/machine-cli/machine/internal/vmready"
	"github.com/machine-cli/machine/libmachine/cloudinit"
	"github.com/machine-cli/machine/libmachine/vmimage"
)

// DriverName is the name users pass to `create -d`.
const DriverName = "virtualbox"

// The files the driver makes in the machine's directory; VirtualBox's own
// (the VM's settings and logs) are in VMDir.
const (
	// DiskFile is the machine's disk, made from the cached image.
	DiskFile = "disk.vdi"
	// SeedFile is the cloud-init NoCloud seed ISO on the VM's DVD drive.
	SeedFile = "seed.iso"
	// SerialLog is the VM's serial console (UART 1 to a file).
	SerialLog = "serial.log"
	// AddressFile records the machine's host-only address; the allocation
	// of a new machine's address reads every machine's.
	AddressFile = "hostonly-address"
	// KeyFile is the machine's SSH private key (KeyFile+".pub" beside it).
	KeyFile = "id_ed25519"
	// knownHostsFile is the store's known_hosts file of the machine.
	knownHostsFile = "known_hosts"
	// addressLock, in the store's root, serialises host-only allocations.
	addressLock = "virtualbox-hostonly.lock"
	// networkLock serialises the making and removing of host-only
	// networks, which VirtualBox keeps for the user whatever the store:
	// two creates at once make one interface for a CIDR, not two. It is in
	// the user's cache directory (the store's root when there is none).
	networkLock = "virtualbox-network.lock"
)

// The VM's user and loopback.
const (
	// SSHUser is the user the seed makes, as docker-machine's boot2docker
	// user.
	SSHUser  = "docker"
	loopback = "127.0.0.1"
	// Controller is the VM's storage controller.
	Controller = "SATA"
)

// Bounds of the waits.
const (
	bootBound      = 5 * time.Minute
	loginBound     = 2 * time.Minute
	cloudInitBound = 5 * time.Minute
	stopGrace      = 60 * time.Second
)

// Driver is the virtualbox driver. Its exported fields are its
// configuration as stored in config.json.
type Driver struct {
	drivers.BaseDriver
	// Settings are the flag values.
	Settings Settings
	// EnginePort is the loopback port forwarded to the same port of the
	// VM, where its dockerd listens.
	EnginePort int
	// VBoxManage is the VBoxManage found at create, and Version its
	// version.
	VBoxManage string
	Version    string
	// HostOnly is the host-only network of the VM's second NIC; the
	// machine's address on it (BaseDriver.IPAddress) has HostOnlyBits.
	HostOnly     HostOnly
	HostOnlyBits int
	// Image is the cached image the disk was made from.
	Image string
	// DockerMachine says docker-machine made the machine: its engine
	// listens on the host-only address, port 2376, not on a loopback
	// forward.
	DockerMachine bool `json:",omitempty"`

	// Not configuration: what tests replace.
	vbm          Runner
	goos         string
	goarch       string
	cpuinfo      string
	networksConf string
	interfaces   func() ([]hostInterface, error)
	notify       func(string)
	debug        io.Writer
	stat         func(string) (os.FileInfo, error)
	stopGrace    time.Duration
	// readGuestIP replaces guestIP's SSH read of a boot2docker guest's
	// address.
	readGuestIP func(context.Context) (string, error)
	// networkLockPath is the lock file of lockNetworks; "" is the user's.
	networkLockPath string
}

var _ drivers.Driver = (*Driver)(nil)

// NewDriver returns a virtualbox driver for a new machine; it is a driver
// factory.
func NewDriver() drivers.Driver {
	return &Driver{BaseDriver: drivers.BaseDriver{SSHUser: SSHUser}}
}

// DriverName returns "virtualbox".
func (d *Driver) DriverName(context.Context) (string, error) { return DriverName, nil }

// GetCreateFlags returns the --virtualbox-* flags.
func (d *Driver) GetCreateFlags(context.Context) ([]drivers.Flag, error) { return Flags(), nil }

// SetConfigFromFlags reads and checks the flag values.
func (d *Driver) SetConfigFromFlags(_ context.Context, opts drivers.Options) error {
	s, err := SettingsFromFlags(opts)
	if err != nil {
		return err
	}
	d.Settings = s
	d.SSHUser = SSHUser
	return nil
}

func (d *Driver) dir() string             { return d.ResolveStorePath("") }
func (d *Driver) path(name string) string { return d.ResolveStorePath(name) }

// vmDir is where VirtualBox keeps the VM's settings and logs
// (createvm --basefolder makes BASE/NAME).
func (d *Driver) vmDir() string { return d.path(d.MachineName) }

func (d *Driver) hostOS() string {
	if d.goos != "" {
		return d.goos
	}
	return runtime.GOOS
}

func (d *Driver) say(msg string) {
	if d.notify != nil {
		d.notify(msg)
		return
	}
	plugin.Notify(msg)
}

func (d *Driver) debugf(format string, args ...any) {
	w := d.debug
	if w == nil {
		w = os.Stderr
	}
	fmt.Fprintf(w, "virtualbox: "+format+"\n", args...)
}

// runner returns VBoxManage: the one found at create, else the one on
// PATH now.
func (d *Driver) runner() (Runner, error) {
	if d.vbm != nil {
		return d.vbm, nil
	}
	path := d.VBoxManage
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			path = ""
		}
	}
	r, err := defaultRunner(path)
	if err != nil {
		return nil, err
	}
	d.vbm = r
	return r, nil
}

func (d *Driver) network(r Runner, v Version) network {
	n := network{vbm: r, goos: d.hostOS(), version: v, interfaces: d.interfaces, networksConf: d.networksConf, say: d.say}
	if n.interfaces == nil {
		n.interfaces = hostInterfaces
	}
	if n.networksConf == "" {
		n.networksConf = NetworksConf
	}
	return n
}

func (d *Driver) version(ctx context.Context, r Runner) (Version, error) {
	out, err := r.Run(ctx, "--version")
	if err != nil {
		return Version{}, err
	}
	v, err := ParseVersion(out)
	if err != nil {
		return Version{}, err
	}
	d.Version = v.Raw
	return v, nil
}

// PreCreateCheck checks, before anything is made: VBoxManage is there and
// VirtualBox is 6.1 or later, the CPU offers VT-x/AMD-V (unless
// --virtualbox-no-vtx-check), the host-only CIDR is allowed and collides
// with nothing, no VirtualBox VM has the machine's name, and a VM to
// import exists, is stopped and is no boot2docker VM.
func (d *Driver) PreCreateCheck(ctx context.Context) error {
	r, err := d.runner()
	if err != nil {
		return err
	}
	if c, ok := r.(Command); ok {
		d.VBoxManage = c.Path
	}
	v, err := d.version(ctx, r)
	if err != nil {
		return err
	}
	if !v.AtLeast(6, 1, 0) {
		return fmt.Errorf("VirtualBox %s is older than 6.1, the oldest the virtualbox driver works with: upgrade VirtualBox (https://www.virtualbox.org/wiki/Downloads)", v)
	}
	if d.boot2docker() && d.arch() != "amd64" {
		return fmt.Errorf("--%s: boot2docker's ISOs are for x86-64 only and this host is %s: leave the flag out to boot a cloud image: %w", FlagBoot2DockerURL, d.arch(), drivers.ErrInvalidConfig)
	}
	if !d.Settings.NoVTXCheck && d.hostOS() == "linux" {
		path := d.cpuinfo
		if path == "" {
			path = CPUInfo
		}
		if err := checkVTX(path); err != nil {
			return err
		}
	}
	cidr, err := ParseCIDR(d.Settings.HostOnlyCIDR)
	if err != nil {
		return fmt.Errorf("--%s: %w", FlagHostOnlyCIDR, err)
	}
	if err := d.network(r, v).check(ctx, cidr); err != nil {
		return err
	}
	if _, err := r.Run(ctx, "showvminfo", d.MachineName, "--machinereadable"); err == nil {
		return fmt.Errorf("a VirtualBox VM named %q exists already, which this store did not make: remove it (VBoxManage unregistervm %s --delete) or give the machine another name: %w",
			d.MachineName, d.MachineName, drivers.ErrAlreadyExists)
	} else if !errors.Is(err, drivers.ErrNotFound) {
		return err
	}
	if d.Settings.ImportVM != "" {
		if _, err := d.importInfo(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// importInfo checks the VM to import and returns its settings.
func (d *Driver) importInfo(ctx context.Context, r Runner) (MachineInfo, error) {
	name := d.Settings.ImportVM
	out, err := r.Run(ctx, "showvminfo", name, "--machinereadable")
	if errors.Is(err, drivers.ErrNotFound) {
		return nil, fmt.Errorf("--%s %s: VirtualBox has no VM of that name (VBoxManage list vms lists them): %w", FlagImportVM, name, drivers.ErrInvalidConfig)
	}
	if err != nil {
		return nil, err
	}
	info := ParseMachineInfo(out)
	switch {
	case info.HasISO("boot2docker"):
		return nil, fmt.Errorf("--%s %s: the VM boots boot2docker from its DVD, and its disk holds only boot2docker's data, which boots nothing by itself; give its ISO with --%s to make a boot2docker machine: %w", FlagImportVM, name, FlagBoot2DockerURL, drivers.ErrInvalidConfig)
	case len(info.Disks()) == 0:
		return nil, fmt.Errorf("--%s %s: the VM has no hard disk to clone: %w", FlagImportVM, name, drivers.ErrInvalidConfig)
	case info.State() != "poweroff" && info.State() != "aborted":
		return nil, fmt.Errorf("--%s %s: the VM is %s; stop it first (VBoxManage controlvm %s acpipowerbutton) so that its disk can be cloned", FlagImportVM, name, info.State(), name)
	}
	return info, nil
}

// pool is the store's pool of host-only addresses.
func (d *Driver) pool() addrpool.Pool {
	return addrpool.Pool{Store: d.StorePath, LockFile: addressLock, File: AddressFile}
}

// Create makes the machine: its SSH key, the image in the store's cache,
// the host-only network and the machine's address on it, the disk, the
// seed, the VM; then boots it and waits until SSH logs in and cloud-init is
// done. What it made so far is in the config when it fails; libmachine
// then calls Remove.
func (d *Driver) Create(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("virtualbox: %w", err)
	}
	if d.Version == "" {
		if err := d.PreCreateCheck(ctx); err != nil {
			return err
		}
	}
	r, err := d.runner()
	if err != nil {
		return err
	}
	v, err := ParseVersion(d.Version)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d.dir(), 0o700); err != nil {
		return fmt.Errorf("virtualbox: %w", err)
	}
	d.SSHKeyPath = d.path(KeyFile)
	pub, err := sshkey.Ensure(d.SSHKeyPath, "machine "+d.MachineName)
	if err != nil {
		return fmt.Errorf("virtualbox: %w", err)
	}
	var imported MachineInfo
	if d.boot2docker() {
		if d.Image, err = d.fetchISO(ctx); err != nil {
			return err
		}
	} else if d.Settings.ImportVM != "" {
		if imported, err = d.importInfo(ctx, r); err != nil {
			return err
		}
	} else {
		img, err := d.fetchImage(ctx)
		if err != nil {
			return err
		}
		d.Image = img.Path
	}
	if d.SSHPort, d.EnginePort, err = freePorts(); err != nil {
		return err
	}
	cidr, err := ParseCIDR(d.Settings.HostOnlyCIDR)
	if err != nil {
		return err
	}
	src := d.Image
	if imported != nil {
		src = imported.Disks()[0]
		d.Settings.CPUs, d.Settings.MemoryMB = imported.Int("cpus"), imported.Int("memory")
		d.debugf("importing the disk of %s, with its %d CPUs and %d MB", d.Settings.ImportVM, d.Settings.CPUs, d.Settings.MemoryMB)
	}
	if err := d.createVM(ctx, r, v, cidr); err != nil {
		return err
	}
	if d.boot2docker() {
		d.say(fmt.Sprintf("virtualbox: %s boots %s and gets its address from DHCP on the host-only %s %s", d.MachineName, filepath.Base(d.Settings.Boot2DockerURL), d.HostOnly.Kind, d.HostOnly.Name))
		if err := d.makeFormatMeDisk(ctx, r, pub, d.path(DiskFile), d.Settings.DiskSizeMB); err != nil {
			return err
		}
	} else {
		d.say(fmt.Sprintf("virtualbox: %s gets %s on the host-only %s %s", d.MachineName, d.IPAddress, d.HostOnly.Kind, d.HostOnly.Name))
		d.say("virtualbox: making the disk from " + filepath.Base(src))
		if err := makeDisk(ctx, r, src, d.path(DiskFile), d.Settings.DiskSizeMB, imported != nil); err != nil {
			return err
		}
		if err := cloudinit.WriteSeed(d.path(SeedFile), d.seedConfig(pub)); err != nil {
			return fmt.Errorf("virtualbox: seed: %w", err)
		}
	}
	for _, args := range d.vmStorageCommands() {
		if _, err := r.Run(ctx, args...); err != nil {
			return d.explain(err)
		}
	}
	d.say(fmt.Sprintf("virtualbox: starting %s (%d CPUs, %d MB)", d.MachineName, d.cpus(), d.Settings.MemoryMB))
	if err := d.boot(ctx, r); err != nil {
		return err
	}
	ready := vmready.Config{
		Host: loopback, Port: d.SSHPort, User: SSHUser, KeyPath: d.SSHKeyPath,
		KnownHostsPath: d.path(knownHostsFile), Machine: d.MachineName,
		LoginBound: loginBound, CloudInitBound: cloudInitBound,
		Notify: d.say, Prefix: "virtualbox: ",
	}
	if d.boot2docker() {
		ready.CloudInitBound = 0 // boot2docker has no cloud-init
	}
	err = vmready.Wait(ctx, ready)
	var le *vmready.LoginError
	if errors.As(err, &le) {
		return d.bootError(le.Error())
	}
	if err != nil || !d.boot2docker() {
		return err
	}
	return d.waitGuestIP(ctx)
}

// lockNetworks takes the user's lock on VirtualBox's host-only networks.
func (d *Driver) lockNetworks() (*fsutil.Lock, error) {
	path := d.networkLockPath
	if path == "" {
		path = filepath.Join(d.StorePath, networkLock)
		if dir, err := os.UserCacheDir(); err == nil {
			if err := os.MkdirAll(filepath.Join(dir, "machine"), 0o700); err == nil {
				path = filepath.Join(dir, "machine", networkLock)
			}
		}
	}
	lock, err := fsutil.LockFile(path)
	if err != nil {
		return nil, fmt.Errorf("virtualbox: %w", err)
	}
	return lock, nil
}

// createVM finds or makes the host-only network for cidr, gives the
// machine its static address on it and makes the VM with its NIC there,
// all under the user's network lock: a create in another store sees the
// VM, and so its address, before it picks one (a host-only network is
// VirtualBox's for every store of the user).
func (d *Driver) createVM(ctx context.Context, r Runner, v Version, cidr netip.Prefix) error {
	lock, err := d.lockNetworks()
	if err != nil {
		return err
	}
	defer func() { _ = lock.Unlock() }()
	if d.boot2docker() {
		// DHCP gives the address: only the network (with its DHCP
		// server) is needed.
		if _, err := d.network(r, v).ensure(ctx, cidr, false, &d.HostOnly); err != nil {
			return err
		}
		d.HostOnlyBits = cidr.Bits()
	} else {
		ip, err := d.setUpHostOnly(ctx, r, v, cidr)
		if err != nil {
			return err
		}
		d.IPAddress, d.HostOnlyBits = ip, cidr.Bits()
	}
	for _, args := range d.vmCreateCommands() {
		if _, err := r.Run(ctx, args...); err != nil {
			return d.explain(err)
		}
	}
	return nil
}

// setUpHostOnly finds or makes the host-only network for cidr and gives
// the machine its static address on it: one that no machine of the store
// has, nor a machine of another store whose VM is on the same network.
// The caller holds the network lock.
func (d *Driver) setUpHostOnly(ctx context.Context, r Runner, v Version, cidr netip.Prefix) (string, error) {
	n := d.network(r, v)
	p, err := n.ensure(ctx, cidr, d.Settings.HostOnlyNoDHCP, &d.HostOnly)
	if err != nil {
		return "", err
	}
	users, err := n.users(ctx, d.HostOnly, d.dir())
	if err != nil {
		return "", err
	}
	taken := map[string]bool{}
	for _, u := range users {
		if cfg := u["CfgFile"]; cfg != "" {
			dir := filepath.Dir(filepath.Dir(cfg))
			if b, err := os.ReadFile(filepath.Join(dir, AddressFile)); err == nil {
				taken[strings.TrimSpace(string(b))] = true
			}
		}
	}
	var free []string
	for _, a := range p.static {
		if !taken[a] {
			free = append(free, a)
		}
	}
	ip, err := d.pool().Allocate(d.MachineName, free)
	if errors.Is(err, addrpool.ErrExhausted) {
		return "", fmt.Errorf("virtualbox: the %d static addresses of %s below its DHCP range are taken by the store's machines: remove one, or give another --%s", len(p.static), cidr.Masked(), FlagHostOnlyCIDR)
	}
	if err != nil {
		return "", fmt.Errorf("virtualbox: host-only %w", err)
	}
	return ip, nil
}

// fetchImage gets the image into the store's cache, with progress.
func (d *Driver) fetchImage(ctx context.Context) (vmimage.Image, error) {
	return vmimage.FetchRequest(ctx, d.StorePath, vmimage.Request{
		URL: d.Settings.ImageURL, Checksum: d.Settings.ImageChecksum, Default: vmimage.DefaultRawImageURL,
		URLFlag: FlagImageURL, ChecksumFlag: FlagImageChecksum,
	}, d.say)
}

// freePorts picks two free loopback ports, for SSH and the engine.
func freePorts() (int, int, error) {
	got, err := loopport.Hold(0, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("virtualbox: pick a loopback port: %w", err)
	}
	return got[0], got[1], nil
}

// mac is the MAC address of a NIC of the machine, in VBoxManage's form
// (12 hex digits), with VirtualBox's prefix 08:00:27; stable for the
// machine, different across machines and stores.
func (d *Driver) mac(nic string) string {
	h := sha256.Sum256([]byte("mac\x00" + d.StorePath + "\x00" + d.MachineName + "\x00" + nic))
	return fmt.Sprintf("080027%02X%02X%02X", h[0], h[1], h[2])
}

// colonMAC writes a VBoxManage MAC with colons, as cloud-init matches it.
func colonMAC(m string) string {
	var parts []string
	for i := 0; i+2 <= len(m); i += 2 {
		parts = append(parts, strings.ToLower(m[i:i+2]))
	}
	return strings.Join(parts, ":")
}

// seedConfig is the machine's first boot: its user and key, host name,
// DHCP on the NAT NIC and its static address on the host-only network.
func (d *Driver) seedConfig(pub string) cloudinit.Config {
	addr := netip.MustParsePrefix(d.IPAddress + "/" + strconv.Itoa(d.HostOnlyBits))
	return cloudinit.Config{
		Hostname:          d.MachineName,
		User:              SSHUser,
		SSHAuthorizedKeys: []string{pub},
		NICs: []cloudinit.NIC{
			{Name: "nat0", MAC: colonMAC(d.mac("nat")), DHCP: true},
			{Name: "hostonly0", MAC: colonMAC(d.mac("hostonly")), Addresses: []netip.Prefix{addr}},
		},
	}
}

// cpus is the VM's CPU count: -1 is as many as the host has, at most 32.
func (d *Driver) cpus() int {
	n := d.Settings.CPUs
	if n < 1 {
		n = runtime.NumCPU()
	}
	return min(n, 32)
}

// onOff renders a bool as VBoxManage's on/off.
func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// osType is VirtualBox's OS type of the guest, of the host's
// architecture.
func (d *Driver) osType() string {
	if d.arch() == "arm64" {
		return "Debian_arm64"
	}
	return "Debian_64"
}

// arch is the host's architecture, the guest's too.
func (d *Driver) arch() string {
	if d.goarch != "" {
		return d.goarch
	}
	return runtime.GOARCH
}

// vmCommands are the VBoxManage commands that make and configure the VM:
// vmCreateCommands, then vmStorageCommands.
func (d *Driver) vmCommands() [][]string {
	return append(d.vmCreateCommands(), d.vmStorageCommands()...)
}

// vmCreateCommands make and register the VM with its CPUs, memory and
// NICs: what another create must see of it at once (its host-only NIC).
func (d *Driver) vmCreateCommands() [][]string {
	name := d.MachineName
	// A cloud image boots from the disk with EFI; boot2docker from its
	// ISO with BIOS, as docker-machine made its VMs.
	osType, firmware, boot1, boot2 := d.osType(), "efi", "disk", "dvd"
	if d.boot2docker() {
		osType, firmware, boot1, boot2 = boot2dockerOSType, "bios", "dvd", "disk"
	}
	cmds := [][]string{
		{"createvm", "--basefolder", d.dir(), "--name", name, "--register"},
		{"modifyvm", name,
			"--ostype", osType,
			"--firmware", firmware,
			"--cpus", strconv.Itoa(d.cpus()),
			"--memory", strconv.Itoa(d.Settings.MemoryMB),
			"--acpi", "on",
			"--ioapic", "on",
			"--rtcuseutc", "on",
			"--pae", "on",
			"--boot1", boot1,
			"--boot2", boot2,
			"--boot3", "none",
			"--boot4", "none",
			"--uart1", "0x3F8", "4",
			"--uartmode1", "file", d.path(SerialLog),
		},
		{"modifyvm", name,
			"--nic1", "nat",
			"--nictype1", d.Settings.NATNicType,
			"--cableconnected1", "on",
			"--macaddress1", d.mac("nat"),
			"--natdnsproxy1", onOff(d.Settings.DNSProxy),
			"--natdnshostresolver1", onOff(d.Settings.HostDNSResolver),
			"--natpf1", fmt.Sprintf("ssh,tcp,%s,%d,,22", loopback, d.SSHPort),
			"--natpf1", fmt.Sprintf("docker,tcp,%s,%d,,%d", loopback, d.EnginePort, d.EnginePort),
		},
	}
	nic2 := []string{"modifyvm", name}
	if d.HostOnly.Kind == KindNetwork {
		nic2 = append(nic2, "--nic2", "hostonlynet", "--host-only-net2", d.HostOnly.Name)
	} else {
		nic2 = append(nic2, "--nic2", "hostonly", "--hostonlyadapter2", d.HostOnly.Name)
	}
	nic2 = append(nic2,
		"--nictype2", d.Settings.HostOnlyNicType,
		"--nicpromisc2", d.Settings.HostOnlyPromisc,
		"--cableconnected2", "on",
		"--macaddress2", d.mac("hostonly"))
	return append(cmds, nic2)
}

// vmStorageCommands attach the disk, the seed (a boot2docker machine's
// ISO) and the shared folder.
func (d *Driver) vmStorageCommands() [][]string {
	name := d.MachineName
	dvd := d.path(SeedFile)
	if d.boot2docker() {
		dvd = d.path(ISOFile)
	}
	cmds := [][]string{
		{"storagectl", name, "--name", Controller, "--add", "sata", "--controller", "IntelAhci", "--portcount", "2", "--hostiocache", "on"},
		{"storageattach", name, "--storagectl", Controller, "--port", "0", "--device", "0", "--type", "hdd", "--medium", d.path(DiskFile)},
		{"storageattach", name, "--storagectl", Controller, "--port", "1", "--device", "0", "--type", "dvddrive", "--medium", dvd},
	}
	if dir, share, ok := d.share(); ok {
		cmds = append(cmds,
			[]string{"sharedfolder", "add", name, "--name", share, "--hostpath", dir, "--automount"},
			[]string{"setextradata", name, "VBoxInternal2/SharedFoldersEnableSymlinksCreate/" + share, "1"},
		)
	}
	return cmds
}

// share is the folder shared with the VM, unless --virtualbox-no-share or
// the directory does not exist (as docker-machine).
func (d *Driver) share() (dir, name string, ok bool) {
	if d.Settings.NoShare {
		return "", "", false
	}
	dir, name = DefaultShare(d.hostOS())
	if d.Settings.ShareFolder != "" {
		dir, name, _ = SplitShareFolder(d.Settings.ShareFolder)
	}
	stat := d.stat
	if stat == nil {
		stat = os.Stat
	}
	if _, err := stat(dir); err != nil {
		d.debugf("not sharing %s with the VM: %v", dir, err)
		return "", "", false
	}
	d.debugf("sharing %s with the VM as %q; "+shareNote, dir, name, name)
	return dir, name, true
}

// explain rewords VBoxManage errors users can act on.
func (d *Driver) explain(err error) error {
	if isLocked(err) {
		return fmt.Errorf("the VirtualBox VM %s is locked by another session (the VirtualBox window or another VBoxManage command): close it or wait for it to end, then try again: %w", d.MachineName, err)
	}
	return err
}

// info reads the VM's showvminfo; a missing VM wraps drivers.ErrNotFound.
func (d *Driver) info(ctx context.Context, r Runner) (MachineInfo, error) {
	out, err := r.Run(ctx, "showvminfo", d.MachineName, "--machinereadable")
	if errors.Is(err, drivers.ErrNotFound) {
		return nil, fmt.Errorf("virtualbox: VirtualBox has no VM %s (removed outside machine?): %w", d.MachineName, drivers.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return ParseMachineInfo(out), nil
}

// ours reports whether the VM's settings live in the machine's directory:
// a VM of the same name elsewhere is not the machine's to change.
func (d *Driver) ours(info MachineInfo) bool {
	cfg := info["CfgFile"]
	rel, err := filepath.Rel(d.dir(), cfg)
	return cfg != "" && err == nil && !strings.HasPrefix(rel, "..")
}

// stateOf maps VirtualBox's VMState to a machine state.
func stateOf(s string) drivers.State {
	switch s {
	case "running":
		return drivers.Running
	case "paused":
		return drivers.Paused
	case "saved":
		return drivers.Saved
	case "poweroff", "aborted":
		return drivers.Stopped
	case "starting", "restoring":
		return drivers.Starting
	case "stopping", "saving":
		return drivers.Stopping
	}
	return drivers.Error // gurumeditation (the VM crashed), teleporting, ...
}

// look finds VBoxManage and reads the VM's showvminfo.
func (d *Driver) look(ctx context.Context) (Runner, MachineInfo, error) {
	r, err := d.runner()
	if err != nil {
		return nil, MachineInfo{}, err
	}
	info, err := d.info(ctx, r)
	return r, info, err
}

// GetState reads the VM's state from showvminfo.
func (d *Driver) GetState(ctx context.Context) (drivers.State, error) {
	_, info, err := d.look(ctx)
	if err != nil {
		return drivers.Error, err
	}
	st := stateOf(info.State())
	if st == drivers.Error {
		return st, fmt.Errorf("virtualbox: the VM %s is %q", d.MachineName, info.State())
	}
	return st, nil
}

// Start boots the stopped or saved VM, resumes a paused one, and waits for
// its SSH banner.
func (d *Driver) Start(ctx context.Context) error {
	r, info, err := d.look(ctx)
	if err != nil {
		return err
	}
	switch info.State() {
	case "running":
		return nil
	case "paused":
		if _, err := r.Run(ctx, "controlvm", d.MachineName, "resume"); err != nil {
			return d.explain(err)
		}
		return nil
	}
	ports := []int{d.SSHPort, d.EnginePort}
	if d.DockerMachine {
		ports = ports[:1]
	}
	if _, err := loopport.Hold(ports...); err != nil {
		var te *loopport.TakenError
		if !errors.As(err, &te) {
			return fmt.Errorf("virtualbox: %w", err)
		}
		return fmt.Errorf("virtualbox: the ports of %s (SSH 127.0.0.1:%d, engine 127.0.0.1:%d) are fixed at create, and %d is taken by another program since: end that program, or rm the machine and create it again",
			d.MachineName, d.SSHPort, d.EnginePort, te.Port)
	}
	if s := info.State(); s == "poweroff" || s == "aborted" {
		if err := d.repairHostOnly(ctx, r); err != nil {
			return err
		}
	}
	return d.boot(ctx, r)
}

// repairHostOnly makes sure, before a stopped VM boots, that its host-only
// interface still exists with the CIDR's address, as docker-machine did on
// each start: a VirtualBox upgrade can drop host-only interfaces, and
// VirtualBox on Windows sometimes loses an interface's address. A lost
// address is set again; a lost interface is found or made again (under the
// store's network lock) and attached to the VM's second NIC.
func (d *Driver) repairHostOnly(ctx context.Context, r Runner) error {
	if d.HostOnly.Name == "" || d.HostOnly.Kind == KindNetwork {
		return nil
	}
	cidr, err := ParseCIDR(d.Settings.HostOnlyCIDR)
	if err != nil {
		return nil
	}
	v, err := ParseVersion(d.Version)
	if err != nil {
		if v, err = d.version(ctx, r); err != nil {
			return err
		}
	}
	n := d.network(r, v)
	ifs, err := n.listIfs(ctx)
	if err != nil {
		return err
	}
	for _, i := range ifs {
		if i.Name != d.HostOnly.Name {
			continue
		}
		if i.Prefix == cidr {
			return nil
		}
		d.say(fmt.Sprintf("virtualbox: the host-only interface %s has %s, not %s; setting it again", i.Name, i.Prefix, cidr))
		if _, err := r.Run(ctx, "hostonlyif", "ipconfig", i.Name, "--ip", cidr.Addr().String(), "--netmask", maskOf(cidr.Bits())); err != nil {
			return fmt.Errorf("virtualbox: host-only interface %s: %w", i.Name, err)
		}
		return nil
	}
	lock, err := d.lockNetworks()
	if err != nil {
		return err
	}
	defer func() { _ = lock.Unlock() }()
	old := d.HostOnly
	var h HostOnly
	if _, err := n.ensure(ctx, cidr, d.Settings.HostOnlyNoDHCP, &h); err != nil {
		return err
	}
	d.HostOnly = h
	d.say(fmt.Sprintf("virtualbox: the host-only interface %s of %s is gone; %s takes its place", old.Name, d.MachineName, h.Name))
	if _, err := r.Run(ctx, "modifyvm", d.MachineName, "--hostonlyadapter2", h.Name); err != nil {
		return d.explain(err)
	}
	return nil
}

// boot starts the VM and waits for its SSH banner, with progress.
func (d *Driver) boot(ctx context.Context, r Runner) error {
	if _, err := r.Run(ctx, "startvm", d.MachineName, "--type", d.Settings.UIType); err != nil {
		return d.explain(startError(err, d.MachineName, d.hostOS()))
	}
	return vmready.WaitBoot(ctx, vmready.Boot{
		Serial: d.path(SerialLog), SSHAddr: net.JoinHostPort(loopback, strconv.Itoa(d.SSHPort)), Bound: bootBound,
		Say: func(line string) { d.say("virtualbox: " + line) },
		Gone: func(ctx context.Context) string {
			if info, err := d.info(ctx, r); err == nil && info.State() != "running" {
				return fmt.Sprintf("the VM is %s, not running", info.State())
			}
			return ""
		},
	})
}

// bootError says the VM did not come up, with the last lines of its
// serial console.
func (d *Driver) bootError(reason string) error {
	return vmready.NewBootError(reason, d.path(SerialLog))
}

// Stop powers the VM down through ACPI, powering it off when the guest
// does not within a minute.
func (d *Driver) Stop(ctx context.Context) error {
	r, info, err := d.look(ctx)
	if err != nil {
		return err
	}
	switch info.State() {
	case "paused":
		if _, err := r.Run(ctx, "controlvm", d.MachineName, "resume"); err != nil {
			return d.explain(err)
		}
	case "running":
	default:
		return nil
	}
	if _, err := r.Run(ctx, "controlvm", d.MachineName, "acpipowerbutton"); err != nil {
		return d.explain(err)
	}
	grace := d.stopGrace
	if grace == 0 {
		grace = stopGrace
	}
	wctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	err = retry.Poll(wctx, time.Second, time.Second, func(ctx context.Context) error {
		info, err := d.info(ctx, r)
		if err != nil {
			return retry.Stop(err)
		}
		if s := info.State(); s == "running" || s == "stopping" {
			return errors.New("still running")
		}
		return nil
	})
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	d.say(fmt.Sprintf("virtualbox: %s did not power down within %s; powering it off", d.MachineName, grace))
	return d.Kill(ctx)
}

// Restart stops the VM and starts it again.
func (d *Driver) Restart(ctx context.Context) error {
	if err := d.Stop(ctx); err != nil {
		return err
	}
	return d.Start(ctx)
}

// Kill powers the VM off at once.
func (d *Driver) Kill(ctx context.Context) error {
	r, info, err := d.look(ctx)
	if err != nil {
		return err
	}
	switch info.State() {
	case "running", "paused", "gurumeditation", "starting", "stopping":
	default:
		return nil
	}
	if _, err := r.Run(ctx, "controlvm", d.MachineName, "poweroff"); err != nil {
		return d.explain(err)
	}
	return nil
}

// Remove powers the VM off and deletes it with its disk (`unregistervm
// --delete`), the seed, the host-only network when this machine made it
// and no other VM uses it, and its files. A VM of the machine's name whose
// settings are elsewhere is left alone. A machine already gone is no
// error.
func (d *Driver) Remove(ctx context.Context) error {
	if d.MachineName == "" || d.StorePath == "" {
		return nil
	}
	r, err := d.runner()
	if err != nil {
		if d.HostOnly.Name == "" && !exists(d.path(DiskFile)) {
			return nil // nothing was made in VirtualBox
		}
		return err
	}
	var errs []error
	info, err := d.info(ctx, r)
	switch {
	case errors.Is(err, drivers.ErrNotFound):
	case err != nil:
		return err
	case !d.ours(info):
		d.debugf("leaving the VirtualBox VM %s alone: its settings (%s) are not in %s", d.MachineName, info["CfgFile"], d.dir())
	default:
		if s := info.State(); s != "poweroff" && s != "aborted" && s != "saved" {
			if _, err := r.Run(ctx, "controlvm", d.MachineName, "poweroff"); err != nil && !errors.Is(err, drivers.ErrNotFound) {
				return d.explain(err)
			}
			d.waitOff(ctx, r)
		}
		if _, err := r.Run(ctx, "unregistervm", d.MachineName, "--delete"); err != nil && !errors.Is(err, drivers.ErrNotFound) {
			return d.explain(err)
		}
	}
	// A disk made but never attached is in VirtualBox's media registry
	// (modifymedium registered it); an attached one went with the VM. The
	// seed stays registered after `unregistervm --delete`, which deletes
	// hard disks only.
	for _, m := range []struct{ kind, file string }{{"disk", DiskFile}, {"dvd", SeedFile}, {"dvd", ISOFile}} {
		if p := d.path(m.file); exists(p) {
			if _, err := r.Run(ctx, "closemedium", m.kind, p); err != nil {
				d.debugf("closemedium %s: %v", p, err)
			}
		}
	}
	if err := d.releaseHostOnly(ctx, r); err != nil {
		errs = append(errs, err)
	}
	for _, name := range []string{DiskFile, SeedFile, ISOFile, formatMeFile, SerialLog, AddressFile} {
		if err := os.Remove(d.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(d.vmDir()); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("virtualbox: remove: %w", err)
	}
	return nil
}

// waitOff waits a little for a powered-off VM to release its session.
func (d *Driver) waitOff(ctx context.Context, r Runner) {
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_ = retry.Poll(wctx, 200*time.Millisecond, time.Second, func(ctx context.Context) error {
		info, err := d.info(ctx, r)
		if err != nil || info.State() == "poweroff" || info.State() == "aborted" {
			return nil
		}
		return errors.New("still running")
	})
}

// releaseHostOnly removes the host-only network this machine made, unless
// another VM or another machine of the store on that network uses it.
func (d *Driver) releaseHostOnly(ctx context.Context, r Runner) error {
	h := d.HostOnly
	if !h.Created || h.Name == "" {
		return nil
	}
	lock, err := d.lockNetworks()
	if err != nil {
		return err
	}
	defer func() { _ = lock.Unlock() }()
	if cidr, err := ParseCIDR(d.Settings.HostOnlyCIDR); err == nil {
		others, err := d.pool().Others(d.MachineName)
		if err != nil {
			return err
		}
		for _, o := range others {
			if a, err := netip.ParseAddr(o); err == nil && cidr.Masked().Contains(a) {
				d.debugf("keeping the host-only %s %s: another machine of the store has %s on it", h.Kind, h.Name, o)
				return nil
			}
		}
	}
	n := network{vbm: r}
	users, err := n.users(ctx, h, d.dir())
	if err != nil {
		return err
	}
	if len(users) > 0 {
		d.debugf("keeping the host-only %s %s: another VM uses it", h.Kind, h.Name)
		return nil
	}
	if err := n.remove(ctx, h); err != nil {
		return err
	}
	d.HostOnly.Created, d.HostOnly.DHCPAdded = false, false
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// GetSSHHostname is the loopback address the SSH port is forwarded on.
func (d *Driver) GetSSHHostname(ctx context.Context) (string, error) {
	if d.SSHPort == 0 {
		return "", fmt.Errorf("machine %q has no SSH port yet", d.MachineName)
	}
	return loopback, nil
}

// GetURL is the engine's loopback forward, tcp://127.0.0.1:EnginePort.
func (d *Driver) GetURL(context.Context) (string, error) {
	if d.EnginePort == 0 {
		return "", fmt.Errorf("machine %q has no engine port yet", d.MachineName)
	}
	if d.DockerMachine {
		return drivers.DockerURL(d.IPAddress, d.EnginePort), nil
	}
	return drivers.DockerURL(loopback, d.EnginePort), nil
}

// GetPrivateIP is the machine's host-only address, which swarm
// advertises: the same as its IP.
func (d *Driver) GetPrivateIP(ctx context.Context) (string, error) { return d.GetIP(ctx) }

// GetEndpoint returns the machine's addresses: its host-only address, and
// loopback with the forwarded ports for SSH and the engine, fixed at
// create. They are static but for a boot2docker machine, whose host-only
// address DHCP gives.
func (d *Driver) GetEndpoint(ctx context.Context) (drivers.Endpoint, error) {
	return drivers.EndpointOf(ctx, d, !d.boot2docker())
}

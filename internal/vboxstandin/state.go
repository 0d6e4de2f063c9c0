package vboxstandin

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/machine-cli/machine/internal/fsutil"
)

// HomeEnv names the state directory.
const HomeEnv = "VBOX_STANDIN_HOME"

// The files of the state directory.
const (
	// SettingsFile holds Settings; optional.
	SettingsFile = "settings.json"
	// StateFile holds the registry (State).
	StateFile = "state.json"
	// lockFile serialises invocations.
	lockFile = ".lock"
	// runDir holds each running VM's QEMU files, by the VM's UUID's first
	// block (short: QEMU's control socket is a unix socket).
	runDir = "run"
)

// The versions the stand-in answers as.
const (
	Version70 = "7.0"
	Version61 = "6.1"
)

// The --version outputs: VBOX_VERSION_STRING "r" revision, as
// errorGetOpt prints them (7.0.14 and 6.1.50, their releases' revisions).
var versionStrings = map[string]string{
	Version70: "7.0.14r161095",
	Version61: "6.1.50r161033",
}

// Settings choose how the stand-in behaves; the test writes them to
// SettingsFile in the state directory.
type Settings struct {
	// Version is 7.0 (the default) or 6.1.
	Version string `json:"version,omitempty"`
	// VTxHeldBy makes startvm fail as on a host where another hypervisor
	// holds the CPU's virtualization: "vmx" (Intel VT-x,
	// VERR_VMX_IN_VMX_ROOT_MODE) or "svm" (AMD-V, VERR_SVM_IN_USE).
	VTxHeldBy string `json:"vtxHeldBy,omitempty"`
	// NetworksConf is the path of the networks.conf that limits host-only
	// addresses, /etc/vbox/networks.conf (where VirtualBox >= 6.1.28
	// reads it) when empty; without the file, VirtualBox's default range
	// 192.168.56.0/21.
	NetworksConf string `json:"networksConf,omitempty"`
	// LockedVMs are VMs whose write lock another session holds (a GUI
	// or another VBoxManage): modifyvm, storagectl, sharedfolder,
	// startvm and unregistervm fail on them as on a running VM;
	// shared-lock commands (storageattach, setextradata) work.
	LockedVMs []string `json:"lockedVMs,omitempty"`
	// MachineFolder is the default machine folder; "VirtualBox VMs" in the
	// state directory when empty.
	MachineFolder string `json:"machineFolder,omitempty"`
	// QEMU is the QEMU binary; qemu-system-x86_64 on PATH when empty.
	QEMU string `json:"qemu,omitempty"`
	// Accel is QEMU's accelerator; tcg when empty.
	Accel string `json:"accel,omitempty"`
}

// State is VirtualBox's registry as the stand-in keeps it.
type State struct {
	// Extra is the global extra data (setextradata global).
	Extra        map[string]string `json:"extraData,omitempty"`
	VMs          []*VM             `json:"vms"`
	Media        []*Medium         `json:"media"`
	HostOnlyIfs  []*HostOnlyIf     `json:"hostOnlyIfs"`
	HostOnlyNets []*HostOnlyNet    `json:"hostOnlyNets"`
	DHCPServers  []*DHCPServer     `json:"dhcpServers"`
}

// VM is one registered machine.
type VM struct {
	Name    string `json:"name"`
	UUID    string `json:"uuid"`
	CfgFile string `json:"cfgFile"`
	OSType  string `json:"osType"`
	// State is the machine state as last seen: poweroff, running or
	// aborted (see Machine.state for how running ends).
	State       string    `json:"state"`
	StateChange time.Time `json:"stateChange"`
	// PowerButton records an ACPI power button press since the start, so
	// that QEMU's exit afterwards is a power-off, not an abort.
	PowerButton bool `json:"powerButton,omitempty"`
	// QEMUPID is the QEMU process startvm launched, so that a VM whose
	// QEMU is still exiting is stopping, not off.
	QEMUPID int `json:"qemuPID,omitempty"`

	MemoryMB  int               `json:"memory"`
	CPUs      int               `json:"cpus"`
	VRAMMB    int               `json:"vram"`
	Firmware  string            `json:"firmware"` // BIOS, EFI, EFI32, EFI64, EFIDUAL
	Chipset   string            `json:"chipset"`  // piix3, ich9
	Boot      [4]string         `json:"boot"`     // floppy, dvd, disk, net, none
	Bools     map[string]bool   `json:"bools"`    // acpi, ioapic, rtcuseutc, hwvirtex, ... by showvminfo key
	Strings   map[string]string `json:"strings"`  // other accepted modifyvm options, by option name
	NICs      [8]NIC            `json:"nics"`
	UARTs     [4]UART           `json:"uarts"`
	Storage   []*Controller     `json:"storage"`
	Shared    []SharedFolder    `json:"sharedFolders"`
	Extra     map[string]string `json:"extraData,omitempty"`
	Groups    string            `json:"groups"`
	HWUUID    string            `json:"hardwareUUID"`
	Directory string            `json:"directory"`
}

// NIC is one network adapter of a VM.
type NIC struct {
	// Attachment is none (disabled), null, nat, bridged, intnet,
	// hostonly, hostonlynet, generic, natnetwork.
	Attachment      string    `json:"attachment"`
	Type            string    `json:"type"` // 82540EM, virtio, Am79C973, ...
	MAC             string    `json:"mac"`  // 12 hex digits, as VirtualBox keeps it
	Cable           bool      `json:"cable"`
	HostOnlyAdapter string    `json:"hostOnlyAdapter,omitempty"`
	HostOnlyNet     string    `json:"hostOnlyNet,omitempty"`
	Bridge          string    `json:"bridge,omitempty"`
	IntNet          string    `json:"intnet,omitempty"`
	Promisc         string    `json:"promisc,omitempty"` // deny, allow-vms, allow-all
	NATDNSProxy     bool      `json:"natDNSProxy,omitempty"`
	NATDNSHost      bool      `json:"natDNSHostResolver,omitempty"`
	Forwards        []Forward `json:"forwards,omitempty"`
}

// UART is a serial port.
type UART struct {
	Enabled bool   `json:"enabled"`
	IOBase  int    `json:"ioBase"`
	IRQ     int    `json:"irq"`
	Mode    string `json:"mode"` // disconnected, file, server, client, tcpserver, tcpclient, device
	Path    string `json:"path"`
	Type    string `json:"type"` // 16450, 16550A, 16750
}

// Forward is one NAT port forwarding rule.
type Forward struct {
	Name      string `json:"name"`
	Proto     string `json:"proto"` // tcp, udp
	HostIP    string `json:"hostIP"`
	HostPort  int    `json:"hostPort"`
	GuestIP   string `json:"guestIP"`
	GuestPort int    `json:"guestPort"`
}

// Controller is a storage controller and what is attached to it.
type Controller struct {
	Name        string        `json:"name"`
	Bus         string        `json:"bus"`  // ide, sata, scsi, sas, usb, pcie, virtio, floppy
	Type        string        `json:"type"` // IntelAhci, PIIX4, ...
	PortCount   int           `json:"portCount"`
	Bootable    bool          `json:"bootable"`
	HostIOCache bool          `json:"hostIOCache"`
	Attachments []*Attachment `json:"attachments"`
}

// Attachment is a device on a controller's port.
type Attachment struct {
	Port   int    `json:"port"`
	Device int    `json:"device"`
	Type   string `json:"type"`             // hdd, dvddrive
	Medium string `json:"medium,omitempty"` // a medium's UUID; empty: an empty drive
	// NonRotational, Discard and HotPluggable are storageattach's flags.
	NonRotational bool `json:"nonRotational,omitempty"`
	Discard       bool `json:"discard,omitempty"`
	HotPluggable  bool `json:"hotPluggable,omitempty"`
}

// attachment is what is attached at port and device, nil when nothing is.
func (ctl *Controller) attachment(port, device int) *Attachment {
	for _, a := range ctl.Attachments {
		if a.Port == port && a.Device == device {
			return a
		}
	}
	return nil
}

// maxPorts is a controller's maximum port count (ISystemProperties), by bus.
func maxPorts(bus string) int {
	switch bus {
	case "sata":
		return 30
	case "ide":
		return 2
	case "scsi":
		return 16
	case "sas":
		return 255
	case "pcie":
		return 255
	case "virtio":
		return 256
	case "usb":
		return 8
	}
	return 1
}

// devicesPerPort is a controller's devices per port, by bus.
func devicesPerPort(bus string) int {
	switch bus {
	case "ide":
		return 2
	case "floppy":
		return 2
	}
	return 1
}

// SharedFolder is a folder of the host shared with the guest.
type SharedFolder struct {
	Name      string `json:"name"`
	HostPath  string `json:"hostPath"`
	Writable  bool   `json:"writable"`
	AutoMount bool   `json:"autoMount"`
}

// Medium is a registered disk or DVD image.
type Medium struct {
	UUID     string `json:"uuid"`
	Location string `json:"location"`
	Format   string `json:"format"`     // VDI, VMDK, VHD, RAW
	Device   string `json:"deviceType"` // HardDisk, DVD
}

// HostOnlyIf is a host-only interface (vboxnetN).
type HostOnlyIf struct {
	Name    string `json:"name"`
	GUID    string `json:"guid"`
	IP      string `json:"ip"`
	Netmask string `json:"netmask"`
	MAC     string `json:"mac"`
}

// HostOnlyNet is a VirtualBox 7 host-only network (hostonlynet).
type HostOnlyNet struct {
	Name    string `json:"name"`
	GUID    string `json:"guid"`
	Netmask string `json:"netmask"`
	LowerIP string `json:"lowerIP"`
	UpperIP string `json:"upperIP"`
	Enabled bool   `json:"enabled"`
}

// DHCPServer is a DHCP server of a network.
type DHCPServer struct {
	Network string `json:"network"` // HostInterfaceNetworking-vboxnet0, ...
	IP      string `json:"ip"`
	Netmask string `json:"netmask"`
	LowerIP string `json:"lowerIP"`
	UpperIP string `json:"upperIP"`
	Enabled bool   `json:"enabled"`
}

// store is the state directory, locked while a command runs.
type store struct {
	home     string
	settings Settings
	state    State
	lock     *fsutil.Lock
}

// openStore locks the state directory home (making it if needed) and
// reads its settings and state.
func openStore(home string) (*store, error) {
	if home == "" {
		return nil, fmt.Errorf("%s is not set: the stand-in keeps its state there", HomeEnv)
	}
	if err := os.MkdirAll(home, 0o755); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	lock, err := fsutil.LockFile(filepath.Join(home, lockFile))
	if err != nil {
		return nil, fmt.Errorf("lock the state directory: %w", err)
	}
	s := &store{home: home, lock: lock}
	if err := readJSON(filepath.Join(home, SettingsFile), &s.settings); err != nil {
		lock.Unlock()
		return nil, err
	}
	switch s.settings.Version {
	case "":
		s.settings.Version = Version70
	case Version70, Version61:
	default:
		lock.Unlock()
		return nil, fmt.Errorf("%s: version %q: want %s or %s", SettingsFile, s.settings.Version, Version70, Version61)
	}
	if err := readJSON(filepath.Join(home, StateFile), &s.state); err != nil {
		lock.Unlock()
		return nil, err
	}
	return s, nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// save writes the state atomically.
func (s *store) save() error {
	data, err := json.MarshalIndent(&s.state, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(filepath.Join(s.home, StateFile), append(data, '\n'), 0o644)
}

// close releases the lock.
func (s *store) close() { _ = s.lock.Unlock() }

// machineFolder is the default machine folder.
func (s *store) machineFolder() string {
	if s.settings.MachineFolder != "" {
		return s.settings.MachineFolder
	}
	return filepath.Join(s.home, "VirtualBox VMs")
}

// v7 tells whether the stand-in answers as VirtualBox 7.
func (s *store) v7() bool { return s.settings.Version == Version70 }

// findVM finds a VM by name or UUID (with or without braces), as
// IVirtualBox::FindMachine does.
func (s *store) findVM(nameOrUUID string) *VM {
	id := strings.Trim(nameOrUUID, "{}")
	for _, vm := range s.state.VMs {
		if vm.Name == nameOrUUID || strings.EqualFold(vm.UUID, id) {
			return vm
		}
	}
	return nil
}

// findMedium finds a medium by UUID or location.
func (s *store) findMedium(idOrPath string) *Medium {
	id := strings.Trim(idOrPath, "{}")
	abs, _ := filepath.Abs(idOrPath)
	for _, m := range s.state.Media {
		if strings.EqualFold(m.UUID, id) || m.Location == abs || m.Location == idOrPath {
			return m
		}
	}
	return nil
}

func (s *store) findHostOnlyIf(name string) *HostOnlyIf {
	for _, h := range s.state.HostOnlyIfs {
		if h.Name == name {
			return h
		}
	}
	return nil
}

func (s *store) findHostOnlyNet(name string) *HostOnlyNet {
	for _, h := range s.state.HostOnlyNets {
		if h.Name == name {
			return h
		}
	}
	return nil
}

func (s *store) findDHCP(network string) *DHCPServer {
	for _, d := range s.state.DHCPServers {
		if d.Network == network {
			return d
		}
	}
	return nil
}

// locked tells whether another session holds vm's lock.
func (s *store) locked(vm *VM) bool {
	for _, n := range s.settings.LockedVMs {
		if n == vm.Name || strings.EqualFold(n, vm.UUID) {
			return true
		}
	}
	return false
}

// newUUID is a random (version 4) UUID in VirtualBox's lower-case form.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newMAC is a MAC address in VirtualBox's range (08:00:27, Oracle's OUI),
// as 12 hex digits the way VirtualBox keeps it.
func newMAC() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("080027%02X%02X%02X", b[0], b[1], b[2])
}

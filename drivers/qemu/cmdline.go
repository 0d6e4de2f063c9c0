package qemu

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
)

// The files of a running VM in its machine's directory.
const (
	// PIDFile holds QEMU's process id while it runs.
	PIDFile = "qemu.pid"
	// QMPSocket is QEMU's machine protocol socket.
	QMPSocket = "qmp.sock"
	// SerialLog receives the guest's serial console, anew at each start.
	SerialLog = "serial.log"
	// QEMULog receives what QEMU itself says while it starts.
	QEMULog = "qemu.log"
	// VarsFile is the machine's copy of the firmware's variable store.
	VarsFile = "efi-vars.fd"
)

// guestSSHPort is the guest port QEMU forwards the SSH loopback port to.
// The engine's loopback port is forwarded to the same port in the guest:
// the provisioner makes dockerd listen on the port of the machine's URL.
const guestSSHPort = 22

// Config describes one VM for QEMU's command line.
type Config struct {
	Name     string // the machine's name, shown as QEMU's process name
	Binary   string // qemu-system-ARCH
	Arch     string // x86_64 or aarch64
	Accel    Accel  // kvm, hvf or tcg (resolved, not auto)
	Firmware Firmware
	CPUs     int
	MemoryMB int
	Disk     string // the machine's qcow2 disk
	Seed     string // the cloud-init seed ISO; none when empty
	// SSHPort and EnginePort are the loopback ports forwarded to the
	// guest's SSH server and Docker engine.
	SSHPort    int
	EnginePort int
	// Dir is the machine's directory: pidfile, QMP socket, serial log,
	// firmware variables.
	Dir string
	// MAC is the address of the NIC on user-mode networking (QEMU's
	// default when empty), for the seed's network-config to match.
	MAC string
	// Mesh, when set, gives the VM a second NIC on which the local VMs of
	// one store reach each other.
	Mesh *Mesh

	// The fields below let another hypervisor's configuration run under
	// QEMU (the VirtualBox stand-in, internal/vboxstandin); their zero
	// values keep the qemu driver's VM as above.

	// DiskFormat is the disk's format as QEMU names it (qcow2, vdi, vmdk,
	// raw); qcow2 when empty.
	DiskFormat string
	// Forwards, when not nil, are the user-mode network's host forwards
	// instead of the SSHPort and EnginePort pair, which may then be 0.
	Forwards []Forward
	// NICModel is QEMU's device for the NICs (e1000, pcnet, ...);
	// virtio-net-pci when empty.
	NICModel string
	// BIOS boots the machine's legacy BIOS (SeaBIOS) instead of the UEFI
	// Firmware, which is then not needed.
	BIOS bool
}

// Forward is one host forward of the user-mode network: HostIP:HostPort
// on the host to GuestPort in the guest, over Proto (tcp or udp).
type Forward struct {
	Proto     string
	HostIP    string
	HostPort  int
	GuestPort int
}

// Mesh is a network joining the local VMs of one store: a QEMU socket
// netdev on a multicast group sent through the loopback interface, which
// every VM of the store joins, so that any number of them form one
// Ethernet segment without a switch process or privileges. (QEMU's
// listen/connect sockets link exactly two VMs.) The guest's address on it
// comes from the seed's network-config, matched by MAC.
type Mesh struct {
	Group string // multicast group and port, "239.X.Y.Z:PORT"; see MeshGroup
	MAC   string // the VM's address on the mesh
}

// MeshGroup is the multicast group of the store at storePath: an
// organization-local address (239.0.0.0/8) and port derived from the path,
// so that two stores on one host do not share a segment.
func MeshGroup(storePath string) string {
	h := sha256.Sum256([]byte("mesh\x00" + storePath))
	port := 40000 + int(binary.BigEndian.Uint16(h[3:5]))%20000
	return fmt.Sprintf("239.%d.%d.%d:%d", h[0], h[1], h[2]|1, port)
}

// MAC is a stable, locally unique MAC address for key (a store path,
// machine name and NIC), in QEMU's 52:54:00 range.
func MAC(key string) string {
	h := sha256.Sum256([]byte("mac\x00" + key))
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", h[0], h[1], h[2])
}

// Path is the path of one of the VM's files (PIDFile, ...) in its directory.
func (c Config) Path(name string) string { return filepath.Join(c.Dir, name) }

// Validate checks what QEMU would otherwise refuse with a less clear message.
func (c Config) Validate() error {
	switch {
	case c.Binary == "":
		return fmt.Errorf("no QEMU binary")
	case c.Accel != AccelKVM && c.Accel != AccelHVF && c.Accel != AccelTCG:
		return fmt.Errorf("accelerator %q is not resolved: use kvm, hvf or tcg", c.Accel)
	case c.CPUs < 1:
		return fmt.Errorf("--qemu-cpu-count %d: give at least 1", c.CPUs)
	case c.MemoryMB < 256:
		return fmt.Errorf("--qemu-memory %d: give at least 256 (MB)", c.MemoryMB)
	case c.Disk == "":
		return fmt.Errorf("no disk for the VM")
	case c.Forwards == nil && (c.SSHPort < 1 || c.EnginePort < 1):
		return fmt.Errorf("no loopback ports for SSH and the engine")
	case !c.BIOS && c.Firmware.Code == "":
		return fmt.Errorf("no UEFI firmware for the VM")
	}
	for _, f := range c.Forwards {
		if (f.Proto != "tcp" && f.Proto != "udp") || f.HostPort < 1 || f.HostPort > 65535 || f.GuestPort < 1 || f.GuestPort > 65535 {
			return fmt.Errorf("host forward %s %s:%d to guest port %d: want tcp or udp and ports 1 to 65535", f.Proto, f.HostIP, f.HostPort, f.GuestPort)
		}
	}
	for _, p := range []string{c.Dir, c.Disk, c.Seed, c.Firmware.Code} {
		if p != "" && !filepath.IsAbs(p) {
			return fmt.Errorf("path %q is relative: QEMU leaves its working directory when it detaches; give an absolute path", p)
		}
	}
	if c.Mesh != nil {
		host, _, err := net.SplitHostPort(c.Mesh.Group)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsMulticast() || ip.To4() == nil {
			return fmt.Errorf("mesh group %q is not an IPv4 multicast address and port", c.Mesh.Group)
		}
		if _, err := net.ParseMAC(c.Mesh.MAC); err != nil {
			return fmt.Errorf("mesh MAC %q: %w", c.Mesh.MAC, err)
		}
	}
	if c.MAC != "" {
		if _, err := net.ParseMAC(c.MAC); err != nil {
			return fmt.Errorf("MAC %q: %w", c.MAC, err)
		}
	}
	// A unix socket's path is limited to about 104 bytes (sun_path).
	if n := len(c.Path(QMPSocket)); n > 100 {
		return fmt.Errorf("the machine directory %s is too long for QEMU's control socket (%d bytes, at most 100): use a shorter MACHINE_STORAGE_PATH", c.Dir, n)
	}
	for _, p := range []string{c.Dir, c.Disk, c.Seed, c.Firmware.Code} {
		if strings.Contains(p, ",") {
			return fmt.Errorf("path %q has a comma, which QEMU's options cannot hold: use another directory", p)
		}
	}
	return nil
}

// Args is QEMU's command line (without the binary) for c: detached
// (-daemonize) with its pidfile, QMP socket and serial log in c.Dir, UEFI
// firmware as pflash, the disk as virtio, the seed as a CD on virtio-scsi,
// and user-mode networking forwarding 127.0.0.1's SSHPort and EnginePort
// to the guest's 22 and to EnginePort (where the provisioner makes dockerd
// listen: the port of the machine's URL). The firmware boots the disk and
// nothing else (strict boot order, no network boot ROMs): a disk without a
// boot loader stops in the firmware's shell at once instead of trying the
// network for minutes.
func (c Config) Args() []string {
	machine := "q35"
	if c.Arch == "aarch64" {
		machine = "virt"
	}
	args := []string{
		"-name", c.Name + ",process=machine-" + c.Name,
		"-machine", machine,
		"-accel", string(c.Accel),
		"-cpu", cpuModel(c.Accel),
		"-smp", strconv.Itoa(c.CPUs),
		"-m", strconv.Itoa(c.MemoryMB),
		"-nodefaults", "-no-user-config",
		"-display", "none",
	}
	if !c.BIOS {
		args = append(args,
			"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+c.Firmware.Code,
			"-drive", "if=pflash,format=raw,unit=1,file="+c.Path(VarsFile),
		)
	}
	format := c.DiskFormat
	if format == "" {
		format = "qcow2"
	}
	args = append(args,
		"-drive", "if=none,id=disk0,format="+format+",discard=unmap,file="+c.Disk,
		"-device", "virtio-blk-pci,drive=disk0,bootindex=0",
		"-boot", "strict=on",
	)
	if c.Seed != "" {
		args = append(args,
			"-device", "virtio-scsi-pci,id=scsi0",
			"-drive", "if=none,id=seed,media=cdrom,readonly=on,format=raw,file="+c.Seed,
			"-device", "scsi-cd,bus=scsi0.0,drive=seed",
		)
	}
	nic := c.NICModel
	if nic == "" {
		nic = "virtio-net-pci"
	}
	forwards := c.Forwards
	if forwards == nil {
		forwards = []Forward{
			{Proto: "tcp", HostIP: "127.0.0.1", HostPort: c.SSHPort, GuestPort: guestSSHPort},
			{Proto: "tcp", HostIP: "127.0.0.1", HostPort: c.EnginePort, GuestPort: c.EnginePort},
		}
	}
	user := "user,id=net0"
	for _, f := range forwards {
		user += fmt.Sprintf(",hostfwd=%s:%s:%d-:%d", f.Proto, f.HostIP, f.HostPort, f.GuestPort)
	}
	args = append(args,
		"-netdev", user,
		"-device", nic+",netdev=net0,romfile="+macOption(c.MAC),
	)
	if c.Mesh != nil {
		args = append(args,
			"-netdev", "socket,id=mesh0,mcast="+c.Mesh.Group+",localaddr=127.0.0.1",
			"-device", nic+",netdev=mesh0,romfile="+macOption(c.Mesh.MAC),
		)
	}
	args = append(args,
		"-device", "virtio-rng-pci",
		"-serial", "file:"+c.Path(SerialLog),
		"-qmp", "unix:"+c.Path(QMPSocket)+",server=on,wait=off",
		"-pidfile", c.Path(PIDFile),
		"-daemonize",
	)
	return args
}

func macOption(mac string) string {
	if mac == "" {
		return ""
	}
	return ",mac=" + mac
}

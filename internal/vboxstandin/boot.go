package vboxstandin

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/machine-cli/machine/drivers/qemu"
)

// qemuArch is the guest architecture the stand-in runs (VirtualBox 7.0
// and 6.1 run x86 guests).
const qemuArch = "x86_64"

// blankDisk is the disk QEMU gets when the VM has none attached: an empty
// one, so that the firmware finds no bootable medium, as VirtualBox's does.
const blankDisk = "no-bootable-medium.raw"

// nicModels maps VirtualBox's NIC types to QEMU's devices.
var nicModels = map[string]string{
	"82540EM":   "e1000",
	"82543GC":   "e1000-82544gc",
	"82545EM":   "e1000-82545em",
	"virtio":    "virtio-net-pci",
	"Am79C970A": "pcnet",
	"Am79C973":  "pcnet",
	"Am79C960":  "pcnet",
	"NE2000":    "ne2k_pci",
	"NE1000":    "ne2k_pci",
	"WD8003":    "ne2k_pci",
	"WD8013":    "ne2k_pci",
	"3C503":     "ne2k_pci",
	"3C501":     "ne2k_pci",
}

// qemuFormats maps VirtualBox's medium formats to QEMU's.
var qemuFormats = map[string]string{"VDI": "vdi", "VMDK": "vmdk", "VHD": "vpc", "RAW": "raw"}

// colonMAC writes a MAC kept as 12 hex digits with colons, in lower case.
func colonMAC(mac string) string {
	mac = strings.ToLower(mac)
	var parts []string
	for i := 0; i+2 <= len(mac); i += 2 {
		parts = append(parts, mac[i:i+2])
	}
	return strings.Join(parts, ":")
}

// meshGroup is the multicast segment of a host-only interface or network.
func (c *invocation) meshGroup(name string) string {
	return qemu.MeshGroup(c.s.home + "\x00hostonly\x00" + name)
}

// qemuConfig is QEMU's configuration for what vm's settings hold: the
// first hard disk (booted by BIOS or EFI as the firmware setting says),
// the first DVD, NIC1's NAT with its forwards, the first host-only NIC on
// its interface's segment. What VirtualBox would refuse to start fails
// with VirtualBox's message.
func (c *invocation) qemuConfig(vm *VM) (qemu.Config, *comError) {
	cfg := qemu.Config{
		Name: vm.Name, Arch: qemuArch, CPUs: vm.CPUs, MemoryMB: vm.MemoryMB,
		Dir: c.runPath(vm), Accel: qemu.Accel(c.s.settings.Accel),
	}
	if cfg.Accel == "" {
		cfg.Accel = qemu.AccelTCG
	}
	bin, err := qemu.FindBinary(c.s.settings.QEMU, qemuArch)
	if err != nil {
		return cfg, consoleError(fmt.Sprintf("stand-in: %v", err))
	}
	cfg.Binary = bin
	if strings.HasPrefix(vm.Firmware, "EFI") {
		fw, err := qemu.FindFirmware("/", qemuArch)
		if err != nil {
			return cfg, consoleError(fmt.Sprintf("stand-in: %v", err))
		}
		cfg.Firmware = fw
	} else {
		cfg.BIOS = true
	}
	for _, ctl := range vm.Storage {
		for _, a := range ctl.Attachments {
			m := c.s.findMedium(a.Medium)
			if m == nil {
				continue
			}
			switch {
			case a.Type == "hdd" && cfg.Disk == "":
				if _, err := os.Stat(m.Location); err != nil {
					return cfg, &comError{
						Text: fmt.Sprintf("Could not open the medium '%s'.\nVD: error VERR_FILE_NOT_FOUND opening image file '%s' (VERR_FILE_NOT_FOUND)", m.Location, m.Location),
						Code: vboxObjectNotFound, Component: "MediumWrap", Interface: "IMedium",
					}
				}
				cfg.Disk, cfg.DiskFormat = m.Location, qemuFormats[m.Format]
			case a.Type == "dvddrive" && cfg.Seed == "":
				cfg.Seed = m.Location
			}
		}
	}
	if cfg.Disk == "" {
		blank := filepath.Join(cfg.Dir, blankDisk)
		if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
			return cfg, consoleError(fmt.Sprintf("stand-in: %v", err))
		}
		if err := os.WriteFile(blank, make([]byte, 1<<20), 0o644); err != nil {
			return cfg, consoleError(fmt.Sprintf("stand-in: %v", err))
		}
		cfg.Disk, cfg.DiskFormat = blank, "raw"
	}
	nat := vm.NICs[0]
	if nat.Attachment != "nat" {
		return cfg, consoleError(fmt.Sprintf("stand-in: NIC 1 is attached to %s: the stand-in boots VMs whose NIC 1 is NAT", nat.Attachment))
	}
	cfg.NICModel = nicModels[nat.Type]
	cfg.MAC = colonMAC(nat.MAC)
	cfg.Forwards = []qemu.Forward{}
	for _, f := range nat.Forwards {
		cfg.Forwards = append(cfg.Forwards, qemu.Forward{Proto: f.Proto, HostIP: f.HostIP, HostPort: f.HostPort, GuestPort: f.GuestPort})
	}
	for _, nic := range vm.NICs[1:] {
		switch nic.Attachment {
		case "hostonly":
			if c.s.findHostOnlyIf(nic.HostOnlyAdapter) == nil {
				return cfg, consoleError(fmt.Sprintf("Nonexistent host networking interface, name '%s' (VERR_INTERNAL_ERROR)", nic.HostOnlyAdapter))
			}
			cfg.Mesh = &qemu.Mesh{Group: c.meshGroup(nic.HostOnlyAdapter), MAC: colonMAC(nic.MAC)}
		case "hostonlynet":
			if c.s.findHostOnlyNet(nic.HostOnlyNet) == nil {
				return cfg, consoleError(fmt.Sprintf("Host-only network '%s' not found (VERR_NOT_FOUND)", nic.HostOnlyNet))
			}
			cfg.Mesh = &qemu.Mesh{Group: c.meshGroup(nic.HostOnlyNet), MAC: colonMAC(nic.MAC)}
		default:
			continue
		}
		break
	}
	return cfg, nil
}

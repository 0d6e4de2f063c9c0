package vboxstandin

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// showVMInfo answers `showvminfo VM --machinereadable` (and without it,
// the same keys: the stand-in has one format) (VBoxManageInfo.cpp).
func (c *invocation) showVMInfo(args []string) int {
	opts, code, ok := c.parse(args, []optDef{
		{names: []string{"--machinereadable", "-machinereadable"}},
		{names: []string{"--details", "-details"}},
		{names: []string{"--log"}, value: true},
		{names: []string{"--password-id"}, value: true},
		{names: []string{"--password"}, value: true},
	})
	if !ok {
		return code
	}
	var name string
	for _, o := range opts {
		if o.name == "" {
			if name != "" {
				return c.syntaxError("Invalid parameter '%s'", o.operand)
			}
			name = o.operand
		}
	}
	if name == "" {
		return c.syntaxError("VM name or UUID required")
	}
	vm := c.s.findVM(name)
	if vm == nil {
		return c.fail(vmNotFound(name, siteShowVMInfoFind))
	}
	state := c.state(vm)
	c.out.Write([]byte(c.machineReadable(vm, state)))
	return exitOK
}

// mrQuote writes a machine-readable string value: quoted, with '"' and
// '\' escaped (outputMachineReadableStringWorker).
func mrQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// stateTime is VMStateChangeTime as VBoxManage prints it: RTTimeSpecToString
// into a 30-byte buffer, which cuts the trailing "Z" off.
func stateTime(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d.%09d", t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), (t.Nanosecond()/1e6)*1e6)
}

// machineReadable is showVMInfo's VMINFO_MACHINEREADABLE output for vm in
// state, in VirtualBox's order, for 7.0 or 6.1.
func (c *invocation) machineReadable(vm *VM, state string) string {
	v7 := c.s.v7()
	var b strings.Builder
	str := func(k, v string) { fmt.Fprintf(&b, "%s=%s\n", k, mrQuote(v)) }
	num := func(k string, v int) { fmt.Fprintf(&b, "%s=%d\n", k, v) }
	flag := func(k string, v bool) {
		s := "off"
		if v {
			s = "on"
		}
		str(k, s)
	}
	on := func(k string) bool { return vm.Bools[k] }

	str("name", vm.Name)
	if v7 {
		// 7.0's showVMInfo prints this line in every format (VBoxManageInfo.cpp, 7.0.10).
		b.WriteString("Encryption:     disabled\n")
	}
	groups := vm.Groups
	if groups == "" {
		groups = "/"
	}
	str("groups", groups)
	str("ostype", osDescription(vm.OSType))
	str("UUID", vm.UUID)
	str("CfgFile", vm.CfgFile)
	str("SnapFldr", filepath.Join(vm.Directory, "Snapshots"))
	str("LogFldr", filepath.Join(vm.Directory, "Logs"))
	str("hardwareuuid", vm.HWUUID)
	num("memory", vm.MemoryMB)
	flag("pagefusion", on("pagefusion"))
	num("vram", vm.VRAMMB)
	num("cpuexecutioncap", 100)
	flag("hpet", on("hpet"))
	str("cpu-profile", "host")
	str("chipset", vm.Chipset)
	str("firmware", vm.Firmware)
	num("cpus", vm.CPUs)
	flag("pae", on("pae"))
	flag("longmode", on("longmode"))
	flag("triplefaultreset", on("triplefaultreset"))
	flag("apic", true)
	flag("x2apic", true)
	flag("nested-hw-virt", on("nested-hw-virt"))
	num("cpuid-portability-level", 0)
	str("bootmenu", "messageandmenu")
	for i, d := range vm.Boot {
		str(fmt.Sprintf("boot%d", i+1), d)
	}
	flag("acpi", on("acpi"))
	flag("ioapic", on("ioapic"))
	str("biosapic", "apic")
	num("biossystemtimeoffset", 0)
	if v7 && strings.HasPrefix(vm.Firmware, "EFI") {
		str("BIOS NVRAM File", strings.TrimSuffix(vm.CfgFile, ".vbox")+".nvram")
	}
	flag("rtcuseutc", on("rtcuseutc"))
	flag("hwvirtex", on("hwvirtex"))
	flag("nestedpaging", on("nestedpaging"))
	flag("largepages", on("largepages"))
	flag("vtxvpid", on("vtxvpid"))
	flag("vtxux", on("vtxux"))
	if v7 {
		flag("virtvmsavevmload", true)
		str("iommu", "none")
	}
	str("paravirtprovider", "default")
	str("effparavirtprovider", "kvm")
	fmt.Fprintf(&b, "VMState=\"%s\"\n", state)
	fmt.Fprintf(&b, "VMStateChangeTime=\"%s\"\n", stateTime(vm.StateChange))
	str("graphicscontroller", "vboxvga")
	num("monitorcount", 1)
	flag("accelerate3d", false)
	flag("accelerate2dvideo", false)
	flag("teleporterenabled", false)
	num("teleporterport", 0)
	str("teleporteraddress", "")
	str("teleporterpassword", "")
	flag("tracing-enabled", false)
	flag("tracing-allow-vm-access", false)
	str("tracing-config", "")
	flag("autostart-enabled", false)
	num("autostart-delay", 0)
	str("defaultfrontend", "")
	str("vmprocpriority", "default")

	for i, ctl := range vm.Storage {
		str(fmt.Sprintf("storagecontrollername%d", i), ctl.Name)
		str(fmt.Sprintf("storagecontrollertype%d", i), ctl.Type)
		fmt.Fprintf(&b, "storagecontrollerinstance%d=\"%d\"\n", i, 0)
		fmt.Fprintf(&b, "storagecontrollermaxportcount%d=\"%d\"\n", i, maxPorts(ctl.Bus))
		fmt.Fprintf(&b, "storagecontrollerportcount%d=\"%d\"\n", i, ctl.PortCount)
		fmt.Fprintf(&b, "storagecontrollerbootable%d=\"%s\"\n", i, onOffString(ctl.Bootable))
	}
	for _, ctl := range vm.Storage {
		c.writeAttachments(&b, ctl, v7)
	}

	for i, nic := range vm.NICs {
		n := i + 1
		if nic.Attachment == "none" {
			fmt.Fprintf(&b, "nic%d=\"none\"\n", n)
			continue
		}
		attachment := nic.Attachment
		var natSettings, forwards string
		switch nic.Attachment {
		case "nat":
			fmt.Fprintf(&b, "natnet%d=\"nat\"\n", n)
			natSettings = "mtu=\"0\"\nsockSnd=\"64\"\nsockRcv=\"64\"\ntcpWndSnd=\"64\"\ntcpWndRcv=\"64\"\n"
			for j, f := range sortedForwards(nic.Forwards) {
				forwards += fmt.Sprintf("Forwarding(%d)=\"%s,%s,%s,%d,%s,%d\"\n", j, f.Name, f.Proto, f.HostIP, f.HostPort, f.GuestIP, f.GuestPort)
			}
		case "hostonly":
			fmt.Fprintf(&b, "hostonlyadapter%d=\"%s\"\n", n, nic.HostOnlyAdapter)
		case "hostonlynet":
			fmt.Fprintf(&b, "hostonly-network%d=\"%s\"\n", n, nic.HostOnlyNet)
			attachment = "hostonlynetwork"
		case "bridged":
			fmt.Fprintf(&b, "bridgeadapter%d=\"%s\"\n", n, nic.Bridge)
		case "intnet":
			fmt.Fprintf(&b, "intnet%d=\"%s\"\n", n, nic.IntNet)
		}
		fmt.Fprintf(&b, "macaddress%d=\"%s\"\n", n, nic.MAC)
		fmt.Fprintf(&b, "cableconnected%d=\"%s\"\n", n, onOffString(nic.Cable))
		fmt.Fprintf(&b, "nic%d=\"%s\"\n", n, attachment)
		fmt.Fprintf(&b, "nictype%d=\"%s\"\n", n, nic.Type)
		fmt.Fprintf(&b, "nicspeed%d=\"0\"\n", n)
		b.WriteString(natSettings)
		b.WriteString(forwards)
	}
	str("hidpointing", "ps2mouse")
	str("hidkeyboard", "ps2kbd")
	for i, u := range vm.UARTs {
		if !u.Enabled {
			fmt.Fprintf(&b, "uart%d=\"off\"\n", i+1)
			continue
		}
		fmt.Fprintf(&b, "uart%d=\"0x%04x,%d\"\n", i+1, u.IOBase, u.IRQ) // C's %#06x
		switch u.Mode {
		case "", "disconnected":
			fmt.Fprintf(&b, "uartmode%d=\"disconnected\"\n", i+1)
		case "device":
			fmt.Fprintf(&b, "uartmode%d=%s\n", i+1, mrQuote(u.Path))
		default:
			fmt.Fprintf(&b, "uartmode%d=%s\n", i+1, mrQuote(u.Mode+","+u.Path))
		}
		t := u.Type
		if t == "" {
			t = "16550A"
		}
		fmt.Fprintf(&b, "uarttype%d=\"%s\"\n", i+1, t)
	}
	fmt.Fprintf(&b, "lpt1=\"off\"\nlpt2=\"off\"\n")
	str("audio", "none")
	flag("audio_out", false)
	flag("audio_in", false)
	str("clipboard", "disabled")
	str("draganddrop", "disabled")
	if state == "running" || state == "paused" {
		str("SessionName", "headless")
		// The display of a headless VM in text mode (IDisplay::GetScreenResolution).
		b.WriteString("VideoMode=\"720,400,0\"@0,0 1\n")
	}
	str("vrde", "off")
	flag("usb", false)
	flag("ehci", false)
	flag("xhci", false)
	for i, sf := range vm.Shared {
		str(fmt.Sprintf("SharedFolderNameMachineMapping%d", i+1), sf.Name)
		str(fmt.Sprintf("SharedFolderPathMachineMapping%d", i+1), sf.HostPath)
	}
	flag("recording_enabled", false)
	num("GuestMemoryBalloon", 0)
	return b.String()
}

// writeAttachments is showMediumAttachments' machine-readable part: each
// port and device of the controller, "none" where nothing is attached.
func (c *invocation) writeAttachments(b *strings.Builder, ctl *Controller, v7 bool) {
	for port := 0; port < ctl.PortCount; port++ {
		for dev := 0; dev < devicesPerPort(ctl.Bus); dev++ {
			a := ctl.attachment(port, dev)
			key := fmt.Sprintf("%s-%d-%d", ctl.Name, port, dev)
			bits := func(tag string) string {
				if v7 {
					return fmt.Sprintf("%s-%s-%d-%d", ctl.Name, tag, port, dev)
				}
				return ctl.Name + "-" + tag
			}
			if a == nil {
				fmt.Fprintf(b, "%q=\"none\"\n", key)
				continue
			}
			m := c.s.findMedium(a.Medium)
			if m == nil {
				fmt.Fprintf(b, "%q=\"emptydrive\"\n", key)
				if a.Type == "dvddrive" {
					fmt.Fprintf(b, "%q=\"off\"\n", bits("IsEjected"))
				}
				continue
			}
			fmt.Fprintf(b, "%q=%s\n", key, mrQuote(m.Location))
			fmt.Fprintf(b, "%q=\"%s\"\n", fmt.Sprintf("%s-ImageUUID-%d-%d", ctl.Name, port, dev), m.UUID)
			if a.Type == "dvddrive" {
				fmt.Fprintf(b, "%q=\"off\"\n", bits("tempeject"))
				fmt.Fprintf(b, "%q=\"off\"\n", bits("IsEjected"))
			}
			if strings.EqualFold(ctl.Name, "SATA") || strings.EqualFold(ctl.Name, "USB") {
				fmt.Fprintf(b, "%q=\"%s\"\n", bits("hot-pluggable"), onOffString(a.HotPluggable))
			}
			fmt.Fprintf(b, "%q=\"%s\"\n", bits("nonrotational"), onOffString(a.NonRotational))
			fmt.Fprintf(b, "%q=\"%s\"\n", bits("discard"), onOffString(a.Discard))
		}
	}
}

func onOffString(v bool) string {
	if v {
		return "on"
	}
	return "off"
}

// sortedForwards is a NIC's rules in VirtualBox's order (by name: the NAT
// engine keeps them in a map).
func sortedForwards(fs []Forward) []Forward {
	out := append([]Forward(nil), fs...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Name < out[j-1].Name; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// osDescription is IGuestOSType's description of an OS type ID, as
// showvminfo's "ostype" shows it.
func osDescription(id string) string {
	if d, ok := osTypes[id]; ok {
		return d
	}
	return id
}

// osTypes are the guest OS types a driver may pick, with their
// descriptions (src/VBox/Main/src-all/Global.cpp).
var osTypes = map[string]string{
	"Other":        "Other/Unknown",
	"Other_64":     "Other/Unknown (64-bit)",
	"Linux":        "Other Linux (32-bit)",
	"Linux26":      "Linux 2.6 / 3.x / 4.x / 5.x (32-bit)",
	"Linux26_64":   "Linux 2.6 / 3.x / 4.x / 5.x (64-bit)",
	"Linux_64":     "Other Linux (64-bit)",
	"Debian":       "Debian (32-bit)",
	"Debian_64":    "Debian (64-bit)",
	"Ubuntu":       "Ubuntu (32-bit)",
	"Ubuntu_64":    "Ubuntu (64-bit)",
	"Fedora_64":    "Fedora (64-bit)",
	"RedHat_64":    "Red Hat (64-bit)",
	"Oracle_64":    "Oracle (64-bit)",
	"OpenSUSE_64":  "openSUSE (64-bit)",
	"ArchLinux_64": "Arch Linux (64-bit)",
}

package vboxstandin

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// modifyvm's options, as VirtualBox's g_aModifyVMOptions lists them.
var (
	//go:embed modifyvm-options-7.0.txt
	modifyVMOptions70 string
	//go:embed modifyvm-options-6.1.txt
	modifyVMOptions61 string
)

// optType is an option's RTGetOpt type.
type optType struct {
	kind  string // string, bool, uint32, int32, int64, nothing, pair
	index bool   // RTGETOPT_FLAG_INDEX: --nicN
}

// parseOptionList reads a modifyvm-options-*.txt list.
func parseOptionList(text string) map[string]optType {
	m := map[string]optType{}
	for _, line := range strings.Split(text, "\n") {
		name, t, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		ot := optType{index: strings.Contains(t, "RTGETOPT_FLAG_INDEX")}
		switch {
		case strings.Contains(t, "REQ_STRING"):
			ot.kind = "string"
		case strings.Contains(t, "REQ_BOOL_ONOFF"):
			ot.kind = "bool"
		case strings.Contains(t, "OPTIONAL_PAIR"):
			ot.kind = "pair"
		case strings.Contains(t, "REQ_UINT32"):
			ot.kind = "uint32"
		case strings.Contains(t, "REQ_INT32"):
			ot.kind = "int32"
		case strings.Contains(t, "REQ_INT64"):
			ot.kind = "int64"
		default:
			ot.kind = "nothing"
		}
		m[name] = ot
	}
	return m
}

var trailingDigits = regexp.MustCompile(`^(--[a-z0-9-]*?[a-z-])([0-9]+)$`)

// lookupOption finds name in opts as RTGetOpt does: exactly, or as an
// indexed option followed by its index.
func lookupOption(opts map[string]optType, name string) (string, optType, int, bool) {
	if t, ok := opts[name]; ok && !t.index {
		return name, t, 0, true
	}
	if m := trailingDigits.FindStringSubmatch(name); m != nil {
		if t, ok := opts[m[1]]; ok && t.index {
			n, _ := strconv.Atoi(m[2])
			return m[1], t, n, true
		}
	}
	return "", optType{}, 0, false
}

// canonical maps an option's names (new and old spelling) to one.
var canonical = map[string]string{
	"--os-type": "--ostype", "--cpu-count": "--cpus", "--vram-size": "--vram",
	"--nic-type": "--nictype", "--mac-address": "--macaddress", "--cable-connected": "--cableconnected",
	"--host-only-adapter": "--hostonlyadapter", "--host-only-net": "--hostonlynet", "--nat-pf": "--natpf",
	"--nic-promisc": "--nicpromisc", "--nat-dns-proxy": "--natdnsproxy", "--nat-dns-host-resolver": "--natdnshostresolver",
	"--bridge-adapter": "--bridgeadapter", "--internal-network": "--intnet", "--rtc-use-utc": "--rtcuseutc",
	"--hw-virt-ex": "--hwvirtex", "--nested-paging": "--nestedpaging", "--large-pages": "--largepages",
	"--vtx-vpid": "--vtxvpid", "--vtx-ux": "--vtxux", "--long-mode": "--longmode", "--page-fusion": "--pagefusion",
	"--triple-fault-reset": "--triplefaultreset", "--nested-hw-virt": "--nested-hw-virt",
	"--uart-mode": "--uartmode", "--uart-type": "--uarttype",
}

// boolKeys are the on/off options showvminfo shows, by option name.
var boolKeys = map[string]string{
	"--acpi": "acpi", "--ioapic": "ioapic", "--rtcuseutc": "rtcuseutc", "--hwvirtex": "hwvirtex",
	"--nestedpaging": "nestedpaging", "--largepages": "largepages", "--vtxvpid": "vtxvpid", "--vtxux": "vtxux",
	"--pae": "pae", "--longmode": "longmode", "--hpet": "hpet", "--pagefusion": "pagefusion",
	"--triplefaultreset": "triplefaultreset", "--nested-hw-virt": "nested-hw-virt",
}

// nicTypes are the NIC types modifyvm accepts (case-insensitively).
var nicTypes = []string{"Am79C970A", "Am79C973", "Am79C960", "82540EM", "82543GC", "82545EM", "virtio", "NE1000", "NE2000", "WD8003", "WD8013", "3C503", "3C501"}

// nicCount is the NICs a VM has (NetworkAdapterCount of PIIX3), uartCount
// its serial ports.
const (
	nicCount  = 8
	uartCount = 4
)

// modifyVM answers `modifyvm VM OPTION...` (VBoxManageModifyVM.cpp):
// every option VirtualBox accepts, unknown ones refused as RTGetOpt
// refuses them. Nothing is saved when an option fails, as VirtualBox
// discards the session's changes.
func (c *invocation) modifyVM(args []string) int {
	if len(args) < 2 {
		return c.syntaxError("Not enough parameters")
	}
	known := parseOptionList(modifyVMOptions70)
	if !c.s.v7() {
		known = parseOptionList(modifyVMOptions61)
	}
	vm := c.s.findVM(args[0])
	if vm == nil {
		return c.fail(vmNotFound(args[0], siteModifyVMFind))
	}
	if code, ok := c.mutable(vm, siteModifyVMLock); !ok {
		return code
	}
	// Work on a copy: commit only when every option succeeded.
	data, _ := json.Marshal(vm)
	var next VM
	_ = json.Unmarshal(data, &next)
	failed := false
	rest := args[1:]
	// An argument RTGetOpt refuses is reported (errorGetOpt) and parsing
	// goes on; modifyvm then fails with exit 1 (VBoxManageModifyVM.cpp:
	// "default: errorGetOpt(c, &ValueUnion); hrc = E_FAIL;").
	for i := 0; i < len(rest); i++ {
		arg := rest[i]
		if !strings.HasPrefix(arg, "-") {
			c.getOptError("Invalid parameter '%s'", arg)
			failed = true
			continue
		}
		name, value, hasValue := strings.Cut(arg, "=")
		opt, t, index, ok := lookupOption(known, name)
		if !ok {
			c.getOptError("Unknown option: %s", name)
			failed = true
			continue
		}
		if t.kind != "nothing" && !hasValue {
			if i+1 >= len(rest) {
				c.getOptError("%s: RTGetOpt: Command line option needs argument.", name)
				failed = true
				continue
			}
			i++
			value = rest[i]
		}
		valid := true
		switch t.kind {
		case "bool":
			_, valid = onOff(value)
		case "uint32":
			_, err := strconv.ParseUint(value, 0, 32)
			valid = err == nil
		case "int32", "int64":
			_, err := strconv.ParseInt(value, 0, 64)
			valid = err == nil
		}
		if !valid {
			c.getOptError("Invalid argument format: %s", value)
			failed = true
			continue
		}
		if cn, ok := canonical[opt]; ok {
			opt = cn
		}
		// natpfN delete, uartN IOBASE and uartmodeN MODE take a second value.
		second := ""
		switch {
		case opt == "--natpf" && value == "delete":
			second = "Not enough parameters"
		case opt == "--uart" && !strings.EqualFold(value, "off") && !strings.EqualFold(value, "disable"),
			opt == "--uartmode" && contains([]string{"server", "client", "tcpserver", "tcpclient", "file"}, strings.ToLower(value)):
			second = fmt.Sprintf("Missing or invalid argument to '%s'", name)
		}
		if second != "" {
			if i+1 >= len(rest) {
				return c.syntaxError("%s", second)
			}
			i++
			value += "\x00" + rest[i]
		}
		code, ok := c.applyOption(&next, opt, index, value)
		if !ok {
			if code == exitSyntax {
				return code
			}
			failed = true
		}
	}
	if failed {
		return exitFailure
	}
	*vm = next
	c.dirty = true
	return exitOK
}

// applyOption applies one option to vm; ok is false when it failed (then
// code is the exit code: 2 for errors that end modifyvm at once, 1 for
// those after which it goes on but saves nothing).
func (c *invocation) applyOption(vm *VM, opt string, index int, value string) (code int, ok bool) {
	if opt == "--boot" {
		devices := map[string]string{"none": "Null", "floppy": "Floppy", "dvd": "DVD", "disk": "HardDisk", "net": "Network"}
		d, known := devices[strings.ToLower(value)]
		if known && (index < 1 || index > 4) {
			where := &site{fmt.Sprintf("SetBootOrder(GetOptState.uIndex, DeviceType_%s)", d), "VBoxManageModifyVM.cpp", 1034 + 4*indexOf(d), 1124 + 4*indexOf(d)}
			c.fail(&comError{Text: fmt.Sprintf("Invalid boot position: %d (must be in range [1, 4])", index), Code: eInvalidArg, Component: "MachineWrap", Interface: "IMachine", Callee: "nsISupports", Where: where})
			return exitFailure, false
		}
	} else if strings.HasPrefix(opt, "--uart") && (index < 1 || index > uartCount) {
		lines := map[string][2]int{"--uartmode": {2183, 2391}, "--uarttype": {2243, 2450}, "--uart": {2269, 2475}}[opt]
		where := &site{"GetSerialPort(GetOptState.uIndex - 1, uart.asOutParam())", "VBoxManageModifyVM.cpp", lines[0], lines[1]}
		c.fail(&comError{Text: fmt.Sprintf("Invalid slot number: %d (must be in range [0, %d])", index-1, uartCount-1), Code: eInvalidArg, Component: "SessionMachine", Interface: "IMachine", Callee: "nsISupports", Where: where})
		return exitFailure, false
	} else if parseOptionList(modifyVMOptions70)[opt].index && (index < 1 || index > nicCount) {
		c.argumentError("Invalid NIC number %d", index)
		return exitFailure, false
	}
	if key, ok := boolKeys[opt]; ok {
		b, _ := onOff(value)
		vm.Bools[key] = b
		return exitOK, true
	}
	var nic *NIC
	if index >= 1 && index <= nicCount {
		nic = &vm.NICs[index-1]
	}
	switch opt {
	case "--name":
		vm.Name = value
	case "--ostype":
		vm.OSType = value
	case "--memory":
		vm.MemoryMB, _ = atoi(value)
	case "--cpus":
		vm.CPUs, _ = atoi(value)
	case "--vram":
		vm.VRAMMB, _ = atoi(value)
	case "--groups":
		vm.Groups = value
	case "--chipset":
		switch strings.ToLower(value) {
		case "piix3", "ich9":
			vm.Chipset = strings.ToLower(value)
		default:
			c.argumentError("Invalid --chipset argument '%s' (valid: piix3,ich9)", value)
			return exitFailure, false
		}
	case "--firmware":
		fw := map[string]string{"bios": "BIOS", "efi": "EFI", "efi32": "EFI32", "efi64": "EFI64", "efidual": "EFIDUAL"}[strings.ToLower(value)]
		if fw == "" {
			c.argumentError("Invalid --firmware argument '%s'", value)
			return exitFailure, false
		}
		vm.Firmware = fw
	case "--boot":
		d := map[string]string{"none": "none", "floppy": "floppy", "dvd": "dvd", "disk": "disk", "net": "net"}[strings.ToLower(value)]
		if d == "" {
			return c.argumentError("Invalid boot device '%s'", value), false
		}
		vm.Boot[index-1] = d
	case "--nic":
		kinds := []string{"none", "null", "nat", "bridged", "intnet", "hostonly", "generic", "natnetwork"}
		if c.s.v7() {
			kinds = append(kinds, "hostonlynet", "cloud")
		}
		v := strings.ToLower(value)
		if !contains(kinds, v) {
			c.argumentError("Invalid type '%s' specfied for NIC %d", value, index)
			return exitFailure, false
		}
		nic.Attachment = v
	case "--nictype":
		t := ""
		for _, known := range nicTypes {
			if strings.EqualFold(known, value) {
				t = known
			}
		}
		if t == "" {
			c.argumentError("Invalid NIC type '%s' specified for NIC %d", value, index)
			return exitFailure, false
		}
		nic.Type = t
	case "--macaddress":
		if strings.EqualFold(value, "auto") {
			nic.MAC = newMAC()
			break
		}
		if !validMAC(value) {
			where := &site{"COMSETTER(MACAddress)(Bstr(ValueUnion.psz).raw())", "VBoxManageModifyVM.cpp", 2084, 2276}
			c.fail(&comError{Text: "Invalid MAC address format", Code: eInvalidArg, Component: "NetworkAdapterWrap", Interface: "INetworkAdapter", Callee: "nsISupports", Where: where})
			return exitFailure, false
		}
		nic.MAC = strings.ToUpper(value)
	case "--cableconnected":
		nic.Cable, _ = onOff(value)
	case "--hostonlyadapter":
		nic.HostOnlyAdapter = value
	case "--hostonlynet":
		nic.HostOnlyNet = value
	case "--bridgeadapter":
		nic.Bridge = value
	case "--intnet":
		nic.IntNet = value
	case "--nicpromisc":
		p := map[string]string{"deny": "deny", "allow-vms": "allow-vms", "allow-network": "allow-vms", "allow-all": "allow-all"}[strings.ToLower(value)]
		if p == "" {
			c.argumentError("Unknown promiscuous mode policy '%s'", value)
			return exitFailure, false
		}
		nic.Promisc = p
	case "--uart":
		u := &vm.UARTs[index-1]
		base, irq, both := strings.Cut(value, "\x00")
		if !both {
			u.Enabled = false
			break
		}
		n, err := strconv.ParseUint(base, 0, 32)
		if err != nil || n == 0 {
			return c.argumentError("Error parsing UART I/O base '%s'", base), false
		}
		q, err := strconv.ParseUint(irq, 0, 32)
		if err != nil {
			return c.syntaxError("Missing or invalid argument to '--uart%d'", index), false
		}
		u.Enabled, u.IOBase, u.IRQ = true, int(n), int(q)
	case "--uartmode":
		u := &vm.UARTs[index-1]
		mode, path, _ := strings.Cut(value, "\x00")
		u.Mode, u.Path = strings.ToLower(mode), path
		if u.Mode != "disconnected" && path == "" {
			u.Mode, u.Path = "device", mode
		}
	case "--uarttype":
		t := map[string]string{"16450": "16450", "16550a": "16550A", "16750": "16750"}[strings.ToLower(value)]
		if t == "" {
			return c.syntaxError("Invalid argument to '--uarttype%d'", index), false
		}
		vm.UARTs[index-1].Type = t
	case "--natdnsproxy":
		nic.NATDNSProxy, _ = onOff(value)
	case "--natdnshostresolver":
		nic.NATDNSHost, _ = onOff(value)
	case "--natpf":
		where := &site{"AddRedirect(Bstr(strName).raw(), proto, Bstr(strHostIp).raw(), RTStrToUInt16(strHostPort), Bstr(strGuestIp).raw(), RTStrToUInt16(strGuestPort))", "VBoxManageModifyVM.cpp", 1927, 2102}
		if name, ok := strings.CutPrefix(value, "delete\x00"); ok {
			where = &site{"RemoveRedirect(Bstr(ValueUnion.psz).raw())", "VBoxManageModifyVM.cpp", 1936, 2111}
			return c.removeRule(nic, name, where)
		}
		return c.addRule(nic, index, value, where, "Invalid proto '%s' specfied for NIC %d")
	default:
		vm.Strings[opt] = value
	}
	return exitOK, true
}

// addRule parses "name,proto,hostip,hostport,guestip,guestport" and adds
// the rule as INATEngine::AddRedirect does.
func (c *invocation) addRule(nic *NIC, index int, spec string, where *site, protoErr string) (int, bool) {
	parts := strings.Split(spec, ",")
	if len(parts) != 6 {
		c.argumentError("Invalid NAT rule '%s' for NIC %d", spec, index)
		return exitFailure, false
	}
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	proto := strings.ToLower(parts[1])
	if proto != "tcp" && proto != "udp" {
		c.argumentError(protoErr, spec, index)
		return exitFailure, false
	}
	hostPort, _ := strconv.ParseUint(parts[3], 10, 16)
	guestPort, _ := strconv.ParseUint(parts[5], 10, 16)
	f := Forward{Name: parts[0], Proto: proto, HostIP: parts[2], HostPort: int(hostPort), GuestIP: parts[4], GuestPort: int(guestPort)}
	if f.Name == "" {
		f.Name = fmt.Sprintf("%s_%d_%d", proto, f.HostPort, f.GuestPort)
	}
	invalid := func(text string) (int, bool) {
		c.fail(&comError{Text: text, Code: eInvalidArg, Component: "NATEngineWrap", Interface: "INATEngine", Callee: "nsISupports", Where: where})
		return exitFailure, false
	}
	for _, r := range nic.Forwards {
		if r.Name == f.Name {
			return invalid("A NAT rule of this name already exists")
		}
		if r.HostIP == f.HostIP && r.HostPort == f.HostPort && r.Proto == f.Proto {
			return invalid("A NAT rule for this host port and this host IP already exists")
		}
	}
	nic.Forwards = append(nic.Forwards, f)
	return exitOK, true
}

// removeRule removes a rule by name; a missing one fails without error
// info, as INATEngine::RemoveRedirect does.
func (c *invocation) removeRule(nic *NIC, name string, where *site) (int, bool) {
	for i, r := range nic.Forwards {
		if r.Name == name {
			nic.Forwards = append(nic.Forwards[:i], nic.Forwards[i+1:]...)
			return exitOK, true
		}
	}
	noInfoError(c.errw, eInvalidArg, "One or more arguments are invalid", where, c.s.v7())
	return exitFailure, false
}

// addForward and deleteForward are controlvm's natpfN on a running VM.
func (c *invocation) addForward(vm *VM, n int, spec string) int {
	where := &site{"AddRedirect(Bstr(strName).raw(), proto, Bstr(strHostIp).raw(), RTStrToUInt16(strHostPort), Bstr(strGuestIp).raw(), RTStrToUInt16(strGuestPort))", "VBoxManageControlVM.cpp", 993, 1016}
	if code, ok := c.addRule(&vm.NICs[n-1], n, spec, where, "Invalid proto '%s' specfied for NIC %d"); !ok {
		return code
	}
	c.dirty = true
	return exitOK
}

func (c *invocation) deleteForward(vm *VM, n int, name string) int {
	where := &site{"RemoveRedirect(Bstr(a->argv[3]).raw())", "VBoxManageControlVM.cpp", 942, 966}
	if code, ok := c.removeRule(&vm.NICs[n-1], name, where); !ok {
		return code
	}
	c.dirty = true
	return exitOK
}

// validMAC tells whether mac is 12 hex digits of a unicast address, as
// INetworkAdapter::MACAddress requires.
func validMAC(mac string) bool {
	if len(mac) != 12 {
		return false
	}
	v, err := strconv.ParseUint(mac, 16, 64)
	return err == nil && (v>>40)&1 == 0
}

// indexOf is a boot device's place in modifyvm's chain of ifs.
func indexOf(device string) int {
	for i, d := range []string{"Null", "Floppy", "DVD", "HardDisk", "Network"} {
		if d == device {
			return i
		}
	}
	return 0
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

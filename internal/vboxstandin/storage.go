package vboxstandin

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// busControllers are each bus's default controller type and the types it
// takes (VBoxManageStorageController.cpp, handleStorageController).
var busControllers = map[string][]string{
	"ide":    {"PIIX4", "PIIX3", "ICH6"},
	"sata":   {"IntelAhci"},
	"scsi":   {"LsiLogic", "BusLogic"},
	"sas":    {"LSILogicSAS"},
	"floppy": {"I82078"},
	"usb":    {"USB"},
	"pcie":   {"NVMe"},
	"virtio": {"VirtioSCSI"},
}

// defaultPorts is a new controller's port count, by bus.
var defaultPorts = map[string]int{"ide": 2, "sata": 30, "scsi": 16, "sas": 8, "floppy": 1, "usb": 8, "pcie": 1, "virtio": 1}

// storageCtl answers `storagectl VM --name N [--add BUS] [--controller T]
// [--portcount N] [--bootable on|off] [--hostiocache on|off] [--remove]`.
func (c *invocation) storageCtl(args []string) int {
	if len(args) < 1 {
		return c.syntaxError("Not enough parameters")
	}
	opts, code, ok := c.parse(args[1:], []optDef{
		{names: []string{"--name", "-name"}, value: true},
		{names: []string{"--add", "-add"}, value: true},
		{names: []string{"--controller", "-controller"}, value: true},
		{names: []string{"--portcount", "-portcount"}, value: true},
		{names: []string{"--hostiocache", "-hostiocache"}, value: true},
		{names: []string{"--bootable", "-bootable"}, value: true},
		{names: []string{"--rename"}, value: true},
		{names: []string{"--remove", "-remove"}},
	})
	if !ok {
		return code
	}
	var name, bus, typ, ports, hostIO, bootable string
	remove := false
	for _, o := range opts {
		switch o.name {
		case "":
			return c.syntaxError("Invalid parameter '%s'", o.operand)
		case "--name":
			name = o.value
		case "--add":
			bus = strings.ToLower(o.value)
		case "--controller":
			typ = o.value
		case "--portcount":
			ports = o.value
		case "--hostiocache":
			hostIO = o.value
		case "--bootable":
			bootable = o.value
		case "--remove":
			remove = true
		}
	}
	if name == "" {
		return c.syntaxError("Storage controller name not specified")
	}
	vm := c.s.findVM(args[0])
	if vm == nil {
		return c.fail(vmNotFound(args[0], siteStorageCtlFind))
	}
	if code, ok := c.mutable(vm, siteStorageCtlLock); !ok {
		return code
	}
	ctl := vm.controller(name)
	switch {
	case remove:
		if ctl == nil {
			return c.fail(ctlNotFound(name, &site{"RemoveStorageController(Bstr(pszCtl).raw())", "VBoxManageStorageController.cpp", 1062, 1071}))
		}
		var keep []*Controller
		for _, x := range vm.Storage {
			if x != ctl {
				keep = append(keep, x)
			}
		}
		vm.Storage = keep
		c.dirty = true
		return exitOK
	case bus != "":
		types, known := busControllers[bus]
		if !known {
			return c.argumentError("Invalid --add argument '%s'", bus)
		}
		if ctl != nil {
			busName := map[string]string{"ide": "IDE", "sata": "SATA", "scsi": "SCSI", "sas": "SAS", "floppy": "Floppy", "usb": "USB", "pcie": "PCIe", "virtio": "VirtioSCSI"}[bus]
			return c.fail(&comError{
				Text: fmt.Sprintf("Storage controller named '%s' already exists", name),
				Code: hresult{"VBOX_E_OBJECT_IN_USE", 0x80bb000c}, Component: "SessionMachine", Interface: "IMachine", Callee: "nsISupports",
				Where: &site{fmt.Sprintf("AddStorageController(Bstr(pszCtl).raw(), StorageBus_%s, ctl.asOutParam())", busName), "VBoxManageStorageController.cpp", 1074 + 6*busIndex(bus), 1083 + 6*busIndex(bus)},
			})
		}
		ctl = &Controller{Name: name, Bus: bus, Type: types[0], PortCount: defaultPorts[bus], Bootable: true, HostIOCache: bus != "sata"}
		vm.Storage = append(vm.Storage, ctl)
	case ctl == nil:
		return c.fail(ctlNotFound(name, &site{"GetStorageControllerByName(Bstr(pszCtl).raw(), ctl.asOutParam())", "VBoxManageStorageController.cpp", 1198, 1207}))
	}
	if typ != "" {
		found := ""
		for _, t := range busControllers[ctl.Bus] {
			if strings.EqualFold(t, typ) {
				found = t
			}
		}
		if found == "" {
			c.argumentError("Invalid --type argument '%s'", typ)
			return exitFailure
		}
		ctl.Type = found
	}
	if ports != "" {
		n, ok := atoi(ports)
		if !ok || n < 1 || n > maxPorts(ctl.Bus) {
			c.fail(&comError{
				Text: fmt.Sprintf("Invalid port count: %s (must be in range [%d, %d])", ports, 1, maxPorts(ctl.Bus)),
				Code: eInvalidArg, Component: "StorageControllerWrap", Interface: "IStorageController", Callee: "nsISupports",
				Where: &site{"COMSETTER(PortCount)(portcount)", "VBoxManageStorageController.cpp", 1202, 1211},
			})
			return exitFailure
		}
		ctl.PortCount = n
	}
	if hostIO != "" {
		v, ok := onOff(hostIO)
		if !ok {
			c.argumentError("Invalid --hostiocache argument '%s'", hostIO)
			return exitFailure
		}
		ctl.HostIOCache = v
	}
	if bootable != "" {
		v, ok := onOff(bootable)
		if !ok {
			c.argumentError("Invalid --bootable argument '%s'", bootable)
			return exitFailure
		}
		ctl.Bootable = v
	}
	c.dirty = true
	return exitOK
}

// busIndex is a bus's place in storagectl's chain of ifs.
func busIndex(bus string) int {
	for i, b := range []string{"ide", "sata", "scsi", "sas", "floppy", "usb", "pcie", "virtio"} {
		if b == bus {
			return i
		}
	}
	return 0
}

// ctlNotFound is IMachine's error for a controller the VM lacks.
func ctlNotFound(name string, where *site) *comError {
	return &comError{
		Text: fmt.Sprintf("Could not find a storage controller named '%s'", name),
		Code: vboxObjectNotFound, Component: "SessionMachine", Interface: "IMachine", Callee: "nsISupports", Where: where,
	}
}

// controller finds a VM's controller by name.
func (vm *VM) controller(name string) *Controller {
	for _, ctl := range vm.Storage {
		if ctl.Name == name {
			return ctl
		}
	}
	return nil
}

// storageAttach answers `storageattach VM --storagectl N --port P --device
// D --type hdd|dvddrive --medium PATH|UUID|none|emptydrive [--nonrotational
// on] [--discard on] [--hotpluggable on] [--mtype ...]`: a path not yet
// registered is opened (registered) as VirtualBox does.
func (c *invocation) storageAttach(args []string) int {
	if len(args) < 1 {
		return c.syntaxError("Not enough parameters")
	}
	opts, code, ok := c.parse(args[1:], []optDef{
		{names: []string{"--storagectl", "-storagectl"}, value: true},
		{names: []string{"--port", "-port"}, value: true},
		{names: []string{"--device", "-device"}, value: true},
		{names: []string{"--type", "-type"}, value: true},
		{names: []string{"--medium", "-medium"}, value: true},
		{names: []string{"--mtype", "-mtype"}, value: true},
		{names: []string{"--nonrotational", "-nonrotational"}, value: true},
		{names: []string{"--discard", "-discard"}, value: true},
		{names: []string{"--hotpluggable", "-hotpluggable"}, value: true},
		{names: []string{"--passthrough", "-passthrough"}, value: true},
		{names: []string{"--tempeject", "-tempeject"}, value: true},
		{names: []string{"--setuuid", "-setuuid"}, value: true},
		{names: []string{"--comment", "-comment"}, value: true},
		{names: []string{"--forceunmount"}},
	})
	if !ok {
		return code
	}
	var ctlName, typ, medium, portS, devS string
	flags := map[string]string{}
	for _, o := range opts {
		switch o.name {
		case "":
			return c.syntaxError("Invalid parameter '%s'", o.operand)
		case "--storagectl":
			ctlName = o.value
		case "--port":
			portS = o.value
		case "--device":
			devS = o.value
		case "--type":
			typ = o.value
		case "--medium":
			medium = o.value
		default:
			flags[o.name] = o.value
		}
	}
	if ctlName == "" {
		return c.syntaxError("Storage controller name not specified")
	}
	vm := c.s.findVM(args[0])
	if vm == nil {
		return c.fail(vmNotFound(args[0], siteStorageAttFind))
	}
	ctl := vm.controller(ctlName)
	if ctl == nil {
		c.argumentError("Could not find a controller named '%s'\n", ctlName)
		return exitFailure
	}
	port, dev := 0, 0
	if portS != "" {
		var ok bool
		if port, ok = atoi(portS); !ok {
			return c.getOptError("Invalid argument format: %s", portS)
		}
	}
	if devS != "" {
		var ok bool
		if dev, ok = atoi(devS); !ok {
			return c.getOptError("Invalid argument format: %s", devS)
		}
	}
	// storageattach raises a controller's port count to reach the port.
	if port >= ctl.PortCount && port < maxPorts(ctl.Bus) {
		ctl.PortCount = port + 1
		c.dirty = true
	}
	if port < 0 || port >= ctl.PortCount || dev < 0 || dev >= devicesPerPort(ctl.Bus) {
		return c.msgError("Invalid port or device number: port=%d, device=%d (must be in range port [0, %d], device [0, %d])", port, dev, ctl.PortCount-1, devicesPerPort(ctl.Bus)-1)
	}
	if c.state(vm) == "running" {
		return c.fail(&comError{
			Text: "The machine is not mutable (state is Running)",
			Code: vboxInvalidVMState, Component: "SessionMachine", Interface: "IMachine", Callee: "nsISupports",
			Where: &site{"AttachDevice(Bstr(pszCtl).raw(), port, device, devTypeRequested, pMedium2Mount)", "VBoxManageStorageController.cpp", 776, 785},
		})
	}
	existing := ctl.attachment(port, dev)
	detach := func() {
		var keep []*Attachment
		for _, a := range ctl.Attachments {
			if a != existing {
				keep = append(keep, a)
			}
		}
		ctl.Attachments = keep
		c.dirty = true
	}
	switch strings.ToLower(medium) {
	case "none":
		if existing != nil {
			detach()
		}
		return exitOK
	case "":
		if existing == nil {
			c.argumentError("Missing --medium argument")
			return exitFailure
		}
	case "emptydrive":
		if typ != "" && typ != "dvddrive" && typ != "fdd" {
			return c.argumentError("Invalid medium 'emptydrive' for a %s", typ)
		}
		if existing != nil {
			detach()
		}
		ctl.Attachments = append(ctl.Attachments, &Attachment{Port: port, Device: dev, Type: "dvddrive"})
		c.dirty = true
		return exitOK
	}
	if medium != "" {
		switch typ {
		case "hdd", "dvddrive":
		case "":
			if existing == nil {
				c.argumentError("Argument --type must be specified\n")
				return exitFailure
			}
			typ = existing.Type
		default:
			return c.argumentError("Invalid --type argument '%s'", typ)
		}
		m, e := c.openMedium(medium, typ)
		if e != nil {
			return c.fail(e)
		}
		if existing != nil {
			detach()
		}
		existing = &Attachment{Port: port, Device: dev, Type: typ, Medium: m.UUID}
		ctl.Attachments = append(ctl.Attachments, existing)
	}
	for name, v := range flags {
		b, _ := onOff(v)
		switch name {
		case "--nonrotational":
			existing.NonRotational = b
		case "--discard":
			existing.Discard = b
		case "--hotpluggable":
			existing.HotPluggable = b
		}
	}
	c.dirty = true
	return exitOK
}

// openMedium finds a registered medium by UUID or path, or registers the
// file at path as IVirtualBox::OpenMedium does, its format read from its
// header.
func (c *invocation) openMedium(ref, typ string) (*Medium, *comError) {
	if m := c.s.findMedium(ref); m != nil {
		return m, nil
	}
	path, err := filepath.Abs(ref)
	if err != nil {
		path = ref
	}
	if _, err := os.Stat(path); err != nil {
		return nil, &comError{
			Text: fmt.Sprintf("Could not find file for the medium '%s' (VERR_FILE_NOT_FOUND)", path),
			Code: vboxFileError, Component: "MediumWrap", Interface: "IMedium", Callee: "nsISupports", Where: siteOpenMedium,
		}
	}
	device, format := "HardDisk", imageFormat(path)
	if typ == "dvddrive" {
		device, format = "DVD", "RAW"
	}
	m := &Medium{UUID: newUUID(), Location: path, Format: format, Device: device}
	c.s.state.Media = append(c.s.state.Media, m)
	c.dirty = true
	return m, nil
}

// imageFormat is a disk image's format by its header: VDI, VMDK (sparse
// or a descriptor), VHD, else RAW.
func imageFormat(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "RAW"
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := f.Read(head)
	head = head[:n]
	switch {
	case len(head) >= 0x44 && bytes.Equal(head[0x40:0x44], []byte{0x7f, 0x10, 0xda, 0xbe}):
		return "VDI" // the VDI signature, after the banner
	case bytes.HasPrefix(head, []byte("KDMV")), bytes.HasPrefix(head, []byte("# Disk DescriptorFile")):
		return "VMDK"
	case bytes.HasPrefix(head, []byte("conectix")):
		return "VHD"
	}
	return "RAW"
}

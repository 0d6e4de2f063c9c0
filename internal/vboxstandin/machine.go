package vboxstandin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/machine-cli/machine/drivers/qemu"
	"github.com/machine-cli/machine/internal/fsutil"
	"github.com/machine-cli/machine/internal/retry"
)

// powerDownMark is what a Linux guest's kernel prints on its serial
// console as it powers off: the QEMU process that ended after it powered
// off, not aborted.
var powerDownMark = []byte("reboot: Power down")

// runPath is the directory of vm's QEMU files.
func (c *invocation) runPath(vm *VM) string {
	return filepath.Join(c.s.home, runDir, vm.UUID[:8])
}

// state is vm's machine state (machineStateToName's short names): a VM
// started here runs while its QEMU process runs; when QEMU is gone, it
// was powered off if the guest powered down (its console says so, or the
// ACPI power button was pressed), else it aborted.
func (c *invocation) state(vm *VM) string {
	if vm.State != "running" && vm.State != "paused" {
		return vm.State
	}
	pid, err := qemu.Open(c.runPath(vm)).PID()
	if err == nil && pid != 0 {
		return vm.State
	}
	if exiting(vm.QEMUPID) {
		return "stopping"
	}
	next := "aborted"
	if vm.PowerButton {
		next = "poweroff"
	} else if serial, err := os.ReadFile(filepath.Join(c.runPath(vm), qemu.SerialLog)); err == nil && bytes.Contains(serial, powerDownMark) {
		next = "poweroff"
	}
	c.setState(vm, next)
	return next
}

// exiting tells whether QEMU process pid (the one startvm launched) is
// still in the process table though the VM's pidfile no longer names it
// (QEMU removes its pidfile as it begins to exit, then closes its disks),
// and is not a zombie. Its name tells it from a process that reused the pid.
func exiting(pid int) bool {
	if pid <= 0 {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if open < 0 || end < open || end+2 >= len(stat) || stat[end+2] == 'Z' {
		return false
	}
	comm := string(stat[open+1 : end])
	return strings.HasPrefix(comm, "machine-") || strings.HasPrefix(comm, "qemu")
}

// waitExited waits up to bound for QEMU process pid to leave the process
// table.
func waitExited(ctx context.Context, pid int, bound time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	_ = retry.Poll(ctx, 50*time.Millisecond, 200*time.Millisecond, func(context.Context) error {
		if exiting(pid) {
			return errors.New("QEMU still exits")
		}
		return nil
	})
}

func (c *invocation) setState(vm *VM, state string) {
	vm.State, vm.StateChange, vm.PowerButton = state, c.now(), false
	c.dirty = true
}

// mutable tells whether vm's settings may change now; otherwise it
// reports LockMachine's failure at where.
func (c *invocation) mutable(vm *VM, where *site) (int, bool) {
	if c.running(vm) || c.s.locked(vm) {
		return c.fail(lockedError(vm.Name, where)), false
	}
	return exitOK, true
}

// running tells whether vm's QEMU runs (the VM runs or is paused).
func (c *invocation) running(vm *VM) bool {
	s := c.state(vm)
	return s == "running" || s == "paused"
}

// setExtraData answers `setextradata global|VM KEY [VALUE]`: no value
// removes the key.
func (c *invocation) setExtraData(args []string) int {
	switch {
	case len(args) < 2:
		return c.syntaxError("Not enough parameters")
	case len(args) > 3:
		return c.syntaxError("Too many parameters")
	}
	extra := &c.s.state.Extra
	if args[0] != "global" {
		vm := c.s.findVM(args[0])
		if vm == nil {
			return c.fail(vmNotFound(args[0], &site{"FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())", "VBoxManageMisc.cpp", 935, 1399}))
		}
		extra = &vm.Extra
	}
	if *extra == nil {
		*extra = map[string]string{}
	}
	if len(args) == 2 {
		delete(*extra, args[1])
	} else {
		(*extra)[args[1]] = args[2]
	}
	c.dirty = true
	return exitOK
}

// getExtraData answers `getextradata global|VM KEY`.
func (c *invocation) getExtraData(args []string) int {
	if len(args) != 2 {
		return c.syntaxError("Incorrect number of parameters")
	}
	extra := c.s.state.Extra
	if args[0] != "global" {
		vm := c.s.findVM(args[0])
		if vm == nil {
			return c.fail(vmNotFound(args[0], &site{"FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())", "VBoxManageMisc.cpp", 875, 1339}))
		}
		extra = vm.Extra
	}
	if v, ok := extra[args[1]]; ok {
		fmt.Fprintf(c.out, "Value: %s\n", v)
	} else {
		fmt.Fprintln(c.out, "No value set!")
	}
	return exitOK
}

// createVM answers `createvm --name N [--basefolder D] [--ostype T]
// [--register] [--uuid U] [--groups G] [--default]` (VBoxManageMisc.cpp,
// handleCreateVM). The settings file is the stand-in's JSON, not
// VirtualBox's XML.
func (c *invocation) createVM(args []string) int {
	opts, code, ok := c.parse(args, []optDef{
		{names: []string{"--name", "-name"}, value: true},
		{names: []string{"--groups"}, value: true},
		{names: []string{"--basefolder", "-basefolder"}, value: true},
		{names: []string{"--ostype", "-ostype"}, value: true},
		{names: []string{"--uuid", "-uuid"}, value: true},
		{names: []string{"--register", "-register"}},
		{names: []string{"--default"}},
		{names: []string{"--platform-architecture", "--platform-arch"}, value: true},
	})
	if !ok {
		return code
	}
	var name, base, ostype, id, groups string
	register := false
	for _, o := range opts {
		switch o.name {
		case "":
			return c.syntaxError("Invalid parameter '%s'", o.operand)
		case "--name":
			name = o.value
		case "--basefolder":
			base = o.value
		case "--ostype":
			ostype = o.value
		case "--uuid":
			id = strings.Trim(o.value, "{}")
		case "--groups":
			groups = o.value
		case "--register":
			register = true
		case "--platform-architecture":
			if !c.s.v7() {
				return c.unknownOption("--platform-architecture")
			}
		}
	}
	if name == "" {
		return c.syntaxError("Parameter --name is required")
	}
	// The OS type picks 64-bit-ness; without one, or with one VirtualBox
	// does not know, a 64-bit host's default (MachineImpl.cpp, Machine::init).
	longMode := true
	if _, known := osTypes[ostype]; known {
		longMode = strings.HasSuffix(ostype, "_64")
	}
	if ostype == "" {
		ostype = "Other"
	}
	if base == "" {
		base = c.s.machineFolder()
	}
	if abs, err := filepath.Abs(base); err == nil {
		base = abs
	}
	cfg := filepath.Join(base, name, name+".vbox")
	where := siteCreateVM70
	if !c.s.v7() {
		where = siteCreateVM61
	}
	if exists, _ := fsutil.Exists(cfg); exists {
		return c.fail(&comError{
			Text: fmt.Sprintf("Machine settings file '%s' already exists", cfg),
			Code: vboxFileError, Component: "MachineWrap", Interface: "IMachine", Callee: "nsISupports", Where: where,
		})
	}
	if id == "" {
		id = newUUID()
	} else if !isUUID(id) {
		return c.argumentError("Invalid UUID format %s", id)
	}
	vm := &VM{
		Name: name, UUID: strings.ToLower(id), CfgFile: cfg, OSType: ostype, Groups: groups,
		State: "poweroff", StateChange: c.now(),
		MemoryMB: 128, CPUs: 1, VRAMMB: 8, Firmware: "BIOS", Chipset: "piix3",
		Boot:      [4]string{"floppy", "dvd", "disk", "none"},
		Bools:     map[string]bool{"acpi": true, "ioapic": true, "rtcuseutc": false, "hwvirtex": true, "nestedpaging": true, "largepages": true, "vtxvpid": true, "vtxux": true, "pae": true, "longmode": longMode, "hpet": false},
		Strings:   map[string]string{},
		HWUUID:    strings.ToLower(id),
		Directory: filepath.Dir(cfg),
	}
	for i := range vm.NICs {
		vm.NICs[i] = NIC{Attachment: "none", Type: "Am79C973", MAC: newMAC(), Cable: true, Promisc: "deny"}
	}
	vm.NICs[0].Attachment = "nat"
	if err := c.writeCfg(vm); err != nil {
		return c.msgError("%v", err)
	}
	created := ""
	if register {
		c.s.state.VMs = append(c.s.state.VMs, vm)
		c.dirty = true
		created = " and registered"
	}
	fmt.Fprintf(c.out, "Virtual machine '%s' is created%s.\nUUID: %s\nSettings file: '%s'\n", name, created, vm.UUID, cfg)
	return exitOK
}

// writeCfg writes vm's settings file (the stand-in's JSON of the VM).
func (c *invocation) writeCfg(vm *VM) error {
	if err := os.MkdirAll(filepath.Dir(vm.CfgFile), 0o755); err != nil {
		return fmt.Errorf("create the machine folder: %w", err)
	}
	return fsutil.WriteFileAtomic(vm.CfgFile, []byte(fmt.Sprintf("{\"standin\": \"VBoxManage stand-in\", \"name\": %q, \"uuid\": %q}\n", vm.Name, vm.UUID)), 0o644)
}

// startVM answers `startvm VM... [--type gui|headless|sdl|separate]`
// (VBoxManageMisc.cpp, handleStartVM): it boots the VM's configuration
// under QEMU.
func (c *invocation) startVM(args []string) int {
	opts, code, ok := c.parse(args, []optDef{
		{names: []string{"--type", "-type"}, value: true},
		{names: []string{"--putenv", "-E"}, value: true},
		{names: []string{"--password"}, value: true},
		{names: []string{"--password-id"}, value: true},
	})
	if !ok {
		return code
	}
	var vms []string
	for _, o := range opts {
		switch o.name {
		case "":
			vms = append(vms, o.operand)
		case "--type":
			switch o.value {
			case "gui", "headless", "sdl", "separate":
			default:
				return c.syntaxError("Invalid session type '%s'", o.value)
			}
		}
	}
	if len(vms) == 0 {
		return c.syntaxError("at least one VM name or uuid required")
	}
	failed := false
	for _, name := range vms {
		vm := c.s.findVM(name)
		if vm == nil {
			c.fail(vmNotFound(name, siteStartVMFind))
			failed = true
			continue
		}
		if c.running(vm) || c.s.locked(vm) {
			c.fail(&comError{
				Text: fmt.Sprintf("The machine '%s' is already locked by a session (or being locked or unlocked)", vm.Name),
				Code: vboxInvalidObjectStat, Component: "MachineWrap", Interface: "IMachine", Callee: "nsISupports", Where: siteStartVMLaunch,
			})
			failed = true
			continue
		}
		fmt.Fprintf(c.out, "Waiting for VM \"%s\" to power on...\n", name)
		if e := c.boot(vm); e != nil {
			e.print(c.errw, c.s.v7())
			failed = true
			continue
		}
		fmt.Fprintf(c.out, "VM \"%s\" has been successfully started.\n", name)
	}
	if failed {
		return exitFailure
	}
	return exitOK
}

// consoleError is a VM start's failure as the progress object reports it:
// no callee and no context.
func consoleError(text string) *comError {
	return &comError{Text: text, Code: nsErrorFailure, Component: "ConsoleWrap", Interface: "IConsole"}
}

// boot starts vm under QEMU.
func (c *invocation) boot(vm *VM) *comError {
	switch c.s.settings.VTxHeldBy {
	// HM's error, then VMR3Create's, joined by Console's error callback
	// (VMMR3/HM.cpp, VMMR3/VM.cpp, ConsoleImpl.cpp i_genericVMSetErrorCallback).
	case "vmx":
		return consoleError("VT-x is being used by another hypervisor (VERR_VMX_IN_VMX_ROOT_MODE).\nVirtualBox can't operate in VMX root mode. Please disable the KVM kernel extension, recompile your kernel and reboot (VERR_VMX_IN_VMX_ROOT_MODE)")
	case "svm":
		return consoleError("AMD-V is being used by another hypervisor (VERR_SVM_IN_USE).\nVirtualBox can't enable the AMD-V extension. Please disable the KVM kernel extension, recompile your kernel and reboot (VERR_SVM_IN_USE)")
	}
	cfg, e := c.qemuConfig(vm)
	if e != nil {
		return e
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return consoleError(fmt.Sprintf("Failed to create the VM's run directory: %v", err))
	}
	ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
	defer cancel()
	q, err := qemu.Start(ctx, cfg)
	if err != nil {
		return consoleError(fmt.Sprintf("Failed to start the VM: %v (VERR_GENERAL_FAILURE)", err))
	}
	c.setState(vm, "running")
	vm.QEMUPID, _ = q.PID()
	// A serial port writing to a file: the guest's console goes there (a
	// link to QEMU's serial log).
	if u := vm.UARTs[0]; u.Enabled && u.Mode == "file" && u.Path != "" {
		_ = os.Remove(u.Path)
		_ = os.Symlink(filepath.Join(cfg.Dir, qemu.SerialLog), u.Path)
	}
	return nil
}

// controlVM answers `controlvm VM acpipowerbutton|poweroff|natpfN ...`
// (VBoxManageControlVM.cpp).
func (c *invocation) controlVM(args []string) int {
	if len(args) < 2 {
		return c.syntaxError("Not enough parameters")
	}
	vm := c.s.findVM(args[0])
	if vm == nil {
		return c.fail(vmNotFound(args[0], siteControlVMFind))
	}
	if !c.running(vm) {
		if c.s.v7() {
			return c.msgError("Machine '%s' is not currently running.", args[0])
		}
		return c.msgError("Machine '%s' is not currently running", args[0])
	}
	v := qemu.Open(c.runPath(vm))
	switch sub := args[1]; {
	case sub == "acpipowerbutton":
		ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
		defer cancel()
		if err := v.PowerDown(ctx); err != nil {
			return c.msgError("Failed to press the power button: %v", err)
		}
		vm.PowerButton = true
		c.dirty = true
	case sub == "poweroff":
		ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
		defer cancel()
		if err := v.Kill(ctx); err != nil {
			return c.msgError("Failed to power off the VM: %v", err)
		}
		waitExited(ctx, vm.QEMUPID, 10*time.Second)
		c.progress()
		c.setState(vm, "poweroff")
	case sub == "pause", sub == "resume":
		ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
		defer cancel()
		if err := v.Pause(ctx, sub == "pause"); err != nil {
			return c.msgError("Failed to %s the VM: %v", sub, err)
		}
		next := "running"
		if sub == "pause" {
			next = "paused"
		}
		vm.State, vm.StateChange = next, c.now()
		c.dirty = true
	case strings.HasPrefix(sub, "natpf"):
		return c.controlNATPF(vm, sub, args[2:])
	default:
		return c.syntaxError("Invalid parameter '%s'", sub)
	}
	return exitOK
}

// controlNATPF changes a running VM's NAT rules; QEMU's user network
// takes them at the next start (the stand-in does not add forwards to a
// running QEMU).
func (c *invocation) controlNATPF(vm *VM, sub string, rest []string) int {
	n, ok := atoi(strings.TrimPrefix(sub, "natpf"))
	if !ok || n < 1 || n > len(vm.NICs) {
		return c.syntaxError("Invalid parameter '%s'", sub)
	}
	if len(rest) == 0 {
		return c.syntaxError("Not enough parameters")
	}
	if rest[0] == "delete" {
		if len(rest) < 2 {
			return c.syntaxError("Not enough parameters")
		}
		return c.deleteForward(vm, n, rest[1])
	}
	return c.addForward(vm, n, rest[0])
}

// unregisterVM answers `unregistervm VM [--delete] [--delete-all]`
// (VBoxManageMisc.cpp, handleUnregisterVM): --delete deletes the
// settings, the machine folder and the hard disks attached (DVDs are only
// detached, as Machine::Unregister(CleanupMode_DetachAllReturnHardDisksOnly)).
func (c *invocation) unregisterVM(args []string) int {
	opts, code, ok := c.parse(args, []optDef{{names: []string{"--delete", "-delete"}}, {names: []string{"--delete-all"}}})
	if !ok {
		return code
	}
	var name string
	del, delAll := false, false
	for _, o := range opts {
		switch o.name {
		case "":
			if name != "" {
				return c.syntaxError("Invalid parameter '%s'", o.operand)
			}
			name = o.operand
		case "--delete":
			del = true
		case "--delete-all":
			if !c.s.v7() {
				return c.unknownOption("--delete-all")
			}
			del, delAll = true, true
		}
	}
	if name == "" {
		return c.syntaxError("VM name required")
	}
	vm := c.s.findVM(name)
	if vm == nil {
		return c.fail(vmNotFound(name, siteUnregisterFind))
	}
	if c.running(vm) || c.s.locked(vm) {
		where := siteUnregister61
		if c.s.v7() {
			where = siteUnregister70
		}
		return c.fail(&comError{
			Text: fmt.Sprintf("Cannot unregister the machine '%s' while it is locked", vm.Name),
			Code: vboxInvalidObjectStat, Component: "MachineWrap", Interface: "IMachine", Callee: "nsISupports", Where: where,
		})
	}
	var media []string
	for _, ctl := range vm.Storage {
		for _, a := range ctl.Attachments {
			if a.Medium != "" && (a.Type == "hdd" || delAll) {
				media = append(media, a.Medium)
			}
		}
	}
	c.removeVM(vm)
	// DVD images were in the machine's media registry, which is gone:
	// VirtualBox keeps them in no registry (VirtualBoxImpl.cpp,
	// i_unregisterMachine moves only hard disks to another registry), so
	// they are not registered once VBoxSVC restarts. Hard disks not
	// deleted move to the global registry.
	for _, ctl := range vm.Storage {
		for _, a := range ctl.Attachments {
			if m := c.s.findMedium(a.Medium); m != nil && a.Type == "dvddrive" && c.attachedTo(m) == 0 {
				c.removeMedium(m)
			}
		}
	}
	if del {
		c.progress()
		for _, id := range media {
			if m := c.s.findMedium(id); m != nil {
				if err := os.Remove(m.Location); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return c.msgError("Could not delete the medium storage unit '%s': %v", m.Location, err)
				}
				c.removeMedium(m)
			}
		}
		if err := os.Remove(vm.CfgFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return c.msgError("Could not delete the settings file '%s': %v", vm.CfgFile, err)
		}
		_ = os.RemoveAll(filepath.Join(vm.Directory, "Logs"))
		_ = os.Remove(vm.Directory) // as VirtualBox: only when empty
	}
	waitExited(c.ctx, vm.QEMUPID, 10*time.Second)
	_ = os.RemoveAll(c.runPath(vm))
	return exitOK
}

// removeVM unregisters vm, detaching its media (those no other VM uses
// stay registered, as after Unregister).
func (c *invocation) removeVM(vm *VM) {
	vms := c.s.state.VMs[:0]
	for _, v := range c.s.state.VMs {
		if v != vm {
			vms = append(vms, v)
		}
	}
	c.s.state.VMs = vms
	c.dirty = true
}

func (c *invocation) removeMedium(m *Medium) {
	media := c.s.state.Media[:0]
	for _, x := range c.s.state.Media {
		if x != m {
			media = append(media, x)
		}
	}
	c.s.state.Media = media
	c.dirty = true
}

package vboxstandin

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Env is what an invocation sees of its process: its state directory and
// its output streams.
type Env struct {
	Home   string // $VBOX_STANDIN_HOME
	Stdout io.Writer
	Stderr io.Writer
	// Now is the clock of state changes; time.Now when nil.
	Now func() time.Time
}

// Run runs one VBoxManage invocation (args without the program name) and
// returns its exit code.
func Run(ctx context.Context, env Env, args []string) int {
	s, err := openStore(env.Home)
	if err != nil {
		fmt.Fprintf(env.Stderr, "VBoxManage: error: stand-in: %v\n", err)
		return exitFailure
	}
	defer s.close()
	c := &invocation{ctx: ctx, s: s, out: env.Stdout, errw: env.Stderr, clock: env.Now}
	code := c.dispatch(args)
	if c.dirty {
		if err := s.save(); err != nil {
			fmt.Fprintf(env.Stderr, "VBoxManage: error: stand-in: save the state: %v\n", err)
			return exitFailure
		}
	}
	return code
}

// invocation is one run of VBoxManage on a locked store.
type invocation struct {
	ctx   context.Context
	s     *store
	out   io.Writer
	errw  io.Writer
	cmd   string // the command, for usage lines
	logo  bool   // the logo was shown (once per invocation, as showLogo)
	dirty bool   // the state changed and is saved at the end
	clock func() time.Time
}

// now is the time of a state change, in UTC.
func (c *invocation) now() time.Time {
	if c.clock != nil {
		return c.clock().UTC()
	}
	return time.Now().UTC()
}

// commands maps VBoxManage's commands (and their aliases) to handlers.
func (c *invocation) commands() map[string]func([]string) int {
	m := map[string]func([]string) int{
		"list":           c.list,
		"showvminfo":     c.showVMInfo,
		"createvm":       c.createVM,
		"modifyvm":       c.modifyVM,
		"storagectl":     c.storageCtl,
		"storageattach":  c.storageAttach,
		"convertfromraw": c.convertFromRaw,
		"clonemedium":    c.cloneMedium,
		"clonehd":        c.cloneMedium,
		"clonevdi":       c.cloneMedium,
		"modifymedium":   c.modifyMedium,
		"modifyhd":       c.modifyMedium,
		"modifyvdi":      c.modifyMedium,
		"closemedium":    c.closeMedium,
		"hostonlyif":     c.hostOnlyIf,
		"dhcpserver":     c.dhcpServer,
		"sharedfolder":   c.sharedFolder,
		"startvm":        c.startVM,
		"controlvm":      c.controlVM,
		"unregistervm":   c.unregisterVM,
		"setextradata":   c.setExtraData,
		"getextradata":   c.getExtraData,
	}
	if c.s.v7() {
		m["hostonlynet"] = c.hostOnlyNet
	}
	return m
}

func (c *invocation) dispatch(args []string) int {
	for len(args) > 0 && (args[0] == "-q" || args[0] == "--nologo") {
		args = args[1:]
	}
	if len(args) == 0 {
		c.showLogo()
		fmt.Fprintln(c.errw, "Usage:\n\nVBoxManage [<general option>] <command>")
		return exitSyntax
	}
	switch args[0] {
	case "--version", "-v", "-version", "-V":
		fmt.Fprintln(c.out, versionStrings[c.s.settings.Version])
		return exitOK
	}
	c.cmd = args[0]
	run, ok := c.commands()[args[0]]
	if !ok {
		return c.syntaxError("Invalid command '%s'", args[0])
	}
	return run(args[1:])
}

// showLogo writes VBoxManage's logo to stderr, once (VBoxManageHelp.cpp).
func (c *invocation) showLogo() {
	if c.logo {
		return
	}
	c.logo = true
	if c.s.v7() {
		fmt.Fprint(c.errw, "Oracle VM VirtualBox Command Line Management Interface Version 7.0.14\nCopyright (C) 2005-2024 Oracle and/or its affiliates\n\n")
		return
	}
	fmt.Fprint(c.errw, "Oracle VM VirtualBox Command Line Management Interface Version 6.1.50\n(C) 2005-2024 Oracle Corporation\nAll rights reserved.\n\n")
}

// syntaxError is errorSyntax, exit 2. 7.0 (and 6.1's dhcpserver): the
// logo, the error and the command's usage (its synopsis); the rest of
// 6.1: the logo, the usage, then "Syntax error: ..." (VBoxManageHelp.cpp,
// errorSyntax(USAGECATEGORY, ...)).
func (c *invocation) syntaxError(format string, a ...any) int {
	c.showLogo()
	if c.newStyle() {
		fmt.Fprintf(c.errw, "VBoxManage: error: "+format+"\n", a...)
		c.usage()
		return exitSyntax
	}
	c.usage()
	fmt.Fprintf(c.errw, "\nSyntax error: "+format+"\n", a...)
	return exitSyntax
}

// getOptError is errorGetOpt for an argument RTGetOpt refused, exit 2:
// the logo, the error and the usage (6.1: the usage before the error).
func (c *invocation) getOptError(format string, a ...any) int {
	c.showLogo()
	if !c.newStyle() {
		c.usage()
	}
	fmt.Fprintf(c.errw, "VBoxManage: error: "+format+"\n", a...)
	if c.newStyle() {
		c.usage()
	}
	return exitSyntax
}

// newStyle tells whether the command reports syntax errors as 7.0 does
// (6.1 had converted only some commands, dhcpserver among those used here).
func (c *invocation) newStyle() bool { return c.s.v7() || c.cmd == "dhcpserver" }

// usage writes the command's synopsis as its usage (abbreviated).
func (c *invocation) usage() {
	fmt.Fprintf(c.errw, "\nUsage:\n\nVBoxManage %s %s\n", c.cmd, synopsis[c.cmd])
}

// argumentError is errorArgument: the error alone, exit 2.
func (c *invocation) argumentError(format string, a ...any) int {
	fmt.Fprintf(c.errw, "VBoxManage: error: "+format+"\n", a...)
	return exitSyntax
}

// unknownOption is errorGetOpt for an option the command does not know.
func (c *invocation) unknownOption(opt string) int {
	return c.getOptError("Unknown option: %s", opt)
}

// fail prints a COM error and returns exit code 1.
func (c *invocation) fail(e *comError) int {
	e.print(c.errw, c.s.v7())
	return exitFailure
}

// msgError is RTMsgError: one error line, exit 1.
func (c *invocation) msgError(format string, a ...any) int {
	fmt.Fprintf(c.errw, "VBoxManage: error: "+format+"\n", a...)
	return exitFailure
}

// progress writes showProgress's percentages to stderr.
func (c *invocation) progress() {
	fmt.Fprint(c.errw, "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n")
}

// synopsis is each command's usage line in errorSyntax's output
// (abbreviated from VBoxManage's help).
var synopsis = map[string]string{
	"list":           "[--long] [--sorted] bridgedifs | dhcpservers | hostinfo | hostonlyifs | hostonlynets | runningvms | systemproperties | vms | ...",
	"showvminfo":     "<uuid|vmname> [--details] [--machinereadable] [--password-id] [--password]",
	"createvm":       "--name=name [--basefolder=basefolder] [--default] [--groups=group-ID,...] [--ostype=ostype] [--register] [--uuid=uuid]",
	"modifyvm":       "<uuid|vmname> [--name=name] [--memory=size-in-MB] [--cpus=CPU-count] [--firmware=bios | efi | efi32 | efi64] [--nicN=none | null | nat | bridged | intnet | hostonly | hostonlynet | generic | natnetwork | cloud] ...",
	"storagectl":     "<uuid|vmname> --name=controller-name [--add=floppy | ide | pcie | sas | sata | scsi | usb] [--controller=type] [--bootable=on | off] [--hostiocache=on | off] [--portcount=count] [--remove]",
	"storageattach":  "<uuid|vmname> --storagectl=name [--device=number] [--type=dvddrive | fdd | hdd] [--medium=none | emptydrive | additions | uuid | filename | host:drive] [--port=number] ...",
	"convertfromraw": "<inputfile> <outputfile> [--format=VDI | VMDK | VHD] [--uuid=uuid] [--variant=Standard,Fixed,Split2G,Stream,ESX]",
	"clonemedium":    "[disk | dvd | floppy] <uuid|source-medium> <uuid|target-medium> [--existing] [--format=VDI | VMDK | VHD | RAW | other] [--variant=Standard,Fixed,Split2G,Stream,ESX]",
	"modifymedium":   "[disk | dvd | floppy] <uuid|filename> [--autoreset=on | off] [--compact] [--resize=megabytes | --resizebyte=bytes] [--type=normal | writethrough | immutable | shareable | readonly | multiattach] ...",
	"closemedium":    "[disk | dvd | floppy] <uuid|filename> [--delete]",
	"hostonlyif":     "ipconfig <ifname> [--dhcp | --ip=IPv4-address --netmask=IPv4-netmask | --ipv6=IPv6-address --netmasklengthv6=length] | create | remove <ifname>",
	"hostonlynet":    "add --name=netname [--id=netid] --netmask=mask --lower-ip=address --upper-ip=address [--enable | --disable] | remove <--name=netname | --id=netid>",
	"dhcpserver":     "add <--network=netname | --interface=ifname> --server-ip=address --netmask=mask --lower-ip=address --upper-ip=address <--enable | --disable> | modify ... | remove <--network=netname | --interface=ifname>",
	"sharedfolder":   "add <uuid|vmname> --name=name --hostpath=hostpath [--readonly] [--transient] [--automount] | remove <uuid|vmname> --name=name [--transient]",
	"startvm":        "<uuid|vmname...> [--putenv=name[=value]] [--type= [gui | headless | sdl | separate] ]",
	"controlvm":      "<uuid|vmname> pause | resume | reset | poweroff | savestate | acpipowerbutton | acpisleepbutton | natpfN ...",
	"unregistervm":   "<uuid|vmname> [--delete] [--delete-all]",
	"setextradata":   "global | <uuid|vmname> <keyword> [value]",
	"getextradata":   "global | <uuid|vmname> <keyword | enumerate>",
}

// optDef is one option of a command: its names and whether it takes a
// value.
type optDef struct {
	names []string
	value bool
}

// parsedOpt is one option or operand as the parser met it.
type parsedOpt struct {
	name    string // the option's first name; "" for an operand
	value   string
	operand string
}

// parseOpts parses args against defs as RTGetOpt does: "--opt value",
// "--opt=value", operands anywhere. An unknown option returns its name.
func parseOpts(args []string, defs []optDef) ([]parsedOpt, string, string) {
	var out []parsedOpt
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			out = append(out, parsedOpt{operand: a})
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		def := findDef(defs, name)
		if def == nil {
			return nil, a, ""
		}
		p := parsedOpt{name: def.names[0]}
		if def.value {
			if !hasVal {
				if i+1 >= len(args) {
					return nil, "", name
				}
				i++
				val = args[i]
			}
			p.value = val
		}
		out = append(out, p)
	}
	return out, "", ""
}

func findDef(defs []optDef, name string) *optDef {
	for i := range defs {
		for _, n := range defs[i].names {
			if n == name {
				return &defs[i]
			}
		}
	}
	return nil
}

// parse runs parseOpts and reports an unknown option or a missing value
// as VBoxManage does; ok is false when it did (code is the exit code).
func (c *invocation) parse(args []string, defs []optDef) (opts []parsedOpt, code int, ok bool) {
	opts, unknown, missing := parseOpts(args, defs)
	switch {
	case unknown != "":
		return nil, c.unknownOption(unknown), false
	case missing != "":
		return nil, c.getOptError("%s: RTGetOpt: Command line option needs argument.", missing), false
	}
	return opts, exitOK, true
}

// onOff parses an RTGETOPT_REQ_BOOL_ONOFF value.
func onOff(v string) (bool, bool) {
	switch v {
	case "on":
		return true, true
	case "off":
		return false, true
	}
	return false, false
}

// atoi parses a decimal option value.
func atoi(v string) (int, bool) {
	n, err := strconv.Atoi(v)
	return n, err == nil
}

package virtualbox

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// fakeVBox is a recording fake of VBoxManage for unit tests: it keeps the
// little state the driver's commands change (registered VMs and their
// state, host-only interfaces or networks, DHCP servers), answers in
// VirtualBox's formats, fails commands as told, and records every
// command line. Its startvm listens on the VM's SSH forward and sends an
// SSH banner, as VirtualBox's NAT forward to a booted guest would.
type fakeVBox struct {
	t       *testing.T
	version string
	mu      sync.Mutex
	calls   [][]string
	vms     map[string]*fakeVM
	ifs     []HostOnlyIf
	nets    []HostOnlyNet
	dhcp    []DHCPServer
	// fail maps a command prefix (its words joined by spaces) to the
	// stderr the command fails with.
	fail map[string]string
	// acpiIgnored makes acpipowerbutton do nothing (a guest that does not
	// power down).
	acpiIgnored bool
	// guru makes a started VM abort at once (a guest that crashes early).
	guru bool
}

type fakeVM struct {
	name, cfg, state, hostonly string
	disks                      []string
	sshPort                    string
	listener                   net.Listener
	info                       MachineInfo
}

func newFake(t *testing.T, version string) *fakeVBox {
	f := &fakeVBox{t: t, version: version, vms: map[string]*fakeVM{}, fail: map[string]string{}}
	t.Cleanup(func() {
		for _, vm := range f.vms {
			if vm.listener != nil {
				vm.listener.Close()
			}
		}
	})
	return f
}

// failWith makes commands starting with prefix fail with the stderr in
// testdata/file.
func (f *fakeVBox) failWith(prefix, file string) {
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[prefix] = string(data)
}

func (f *fakeVBox) Run(ctx context.Context, args ...string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, append([]string(nil), args...))
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("VBoxManage %s: %w", args[0], err)
	}
	line := strings.Join(args, " ")
	for prefix, stderr := range f.fail {
		if strings.HasPrefix(line, prefix) {
			return "", ParseError(args, stderr, fmt.Errorf("exit status 1"))
		}
	}
	return f.answer(args)
}

func (f *fakeVBox) notFound(args []string, name string) error {
	return ParseError(args, fmt.Sprintf("VBoxManage: error: Could not find a registered machine named '%s'\nVBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001), component VirtualBoxWrap, interface IVirtualBox, callee nsISupports\n", name), fmt.Errorf("exit status 1"))
}

func (f *fakeVBox) vm(args []string, name string) (*fakeVM, error) {
	if vm, ok := f.vms[name]; ok {
		return vm, nil
	}
	return nil, f.notFound(args, name)
}

func (f *fakeVBox) answer(args []string) (string, error) {
	opt := func(name string) string {
		for i, a := range args {
			if a == name && i+1 < len(args) {
				return args[i+1]
			}
		}
		return ""
	}
	switch args[0] {
	case "--version":
		return f.version + "\n", nil
	case "list":
		var b strings.Builder
		switch args[1] {
		case "hostonlyifs":
			for _, h := range f.ifs {
				fmt.Fprintf(&b, "Name:            %s\nGUID:            786f6276-656e-4074-8000-0a0027000000\nDHCP:            Disabled\nIPAddress:       %s\nNetworkMask:     %s\nIPV6Address:     \nIPV6NetworkMaskPrefixLength: 0\nHardwareAddress: 0a:00:27:00:00:00\nMediumType:      Ethernet\nWireless:        No\nStatus:          Up\nVBoxNetworkName: HostInterfaceNetworking-%s\n\n",
					h.Name, h.Prefix.Addr(), maskOf(h.Prefix.Bits()), h.Name)
			}
		case "hostonlynets":
			for _, n := range f.nets {
				fmt.Fprintf(&b, "Name:            %s\nGUID:            331df2f8-cac1-4c80-93f6-367eaa31454d\n\nState:           Enabled\nNetworkMask:     %s\nLowerIP:         %s\nUpperIP:         %s\nVBoxNetworkName: hostonly-%s\n\n", n.Name, n.Mask, n.Lower, n.Upper, n.Name)
			}
		case "dhcpservers":
			for i, s := range f.dhcp {
				if i > 0 {
					b.WriteString("\n")
				}
				en := "No"
				if s.Enabled {
					en = "Yes"
				}
				fmt.Fprintf(&b, "NetworkName:    %s\nDhcpd IP:       %s\nLowerIPAddress: %s\nUpperIPAddress: %s\nNetworkMask:    %s\nEnabled:        %s\nGlobal Configuration:\n    minLeaseTime:     default\nGroups:               None\nIndividual Configs:   None\n", s.NetworkName, s.Server, s.Lower, s.Upper, s.Mask, en)
			}
		case "vms":
			names := make([]string, 0, len(f.vms))
			for n := range f.vms {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintf(&b, "%q {uuid-%s}\n", n, n)
			}
		}
		return b.String(), nil
	case "showvminfo":
		name := strings.TrimPrefix(args[1], "uuid-")
		vm, err := f.vm(args, name)
		if err != nil {
			return "", err
		}
		if vm.info != nil {
			var b strings.Builder
			for k, v := range vm.info {
				fmt.Fprintf(&b, "%q=%q\n", k, v)
			}
			return b.String(), nil
		}
		out := fmt.Sprintf("name=%q\nCfgFile=%q\nmemory=1024\ncpus=1\nVMState=%q\n", vm.name, vm.cfg, vm.state)
		if vm.hostonly != "" {
			out += fmt.Sprintf("hostonlyadapter2=%q\nnic2=\"hostonly\"\n", vm.hostonly)
		}
		return out, nil
	case "createvm":
		name := opt("--name")
		f.vms[name] = &fakeVM{name: name, state: "poweroff", cfg: filepath.Join(opt("--basefolder"), name, name+".vbox")}
		return fmt.Sprintf("Virtual machine '%s' is created and registered.\n", name), nil
	case "modifyvm":
		vm, err := f.vm(args, args[1])
		if err != nil {
			return "", err
		}
		if a := opt("--hostonlyadapter2"); a != "" {
			vm.hostonly = a
		}
		if a := opt("--host-only-net2"); a != "" {
			vm.hostonly = a
		}
		for i, a := range args {
			if a == "--natpf1" && strings.HasPrefix(args[i+1], "ssh,") {
				vm.sshPort = strings.Split(args[i+1], ",")[3]
			}
		}
		return "", nil
	case "storagectl", "storageattach", "sharedfolder", "setextradata":
		name := args[1]
		if args[0] == "sharedfolder" {
			name = args[2]
		}
		vm, err := f.vm(args, name)
		if err == nil && args[0] == "storageattach" && opt("--type") == "hdd" {
			vm.disks = append(vm.disks, opt("--medium"))
		}
		return "", err
	case "startvm":
		vm, err := f.vm(args, args[1])
		if err != nil {
			return "", err
		}
		vm.state = "running"
		if f.guru {
			vm.state = "aborted"
			return fmt.Sprintf("Waiting for VM %q to power on...\nVM %q has been successfully started.\n", vm.name, vm.name), nil
		}
		if vm.sshPort != "" {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", vm.sshPort))
			if err != nil {
				return "", ParseError(args, "VBoxManage: error: NAT#0: configuration error: failed to set up redirection of "+vm.sshPort+" to 22. Probably a conflict with existing services or other rules (VERR_NAT_REDIR_SETUP).\nVBoxManage: error: Details: code NS_ERROR_FAILURE (0x80004005), component ConsoleWrap, interface IConsole\n", fmt.Errorf("exit status 1"))
			}
			vm.listener = l
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					c.Write([]byte("SSH-2.0-OpenSSH_10.0p2 Debian-7\r\n"))
					c.Close()
				}
			}()
		}
		return fmt.Sprintf("Waiting for VM %q to power on...\nVM %q has been successfully started.\n", vm.name, vm.name), nil
	case "controlvm":
		vm, err := f.vm(args, args[1])
		if err != nil {
			return "", err
		}
		switch args[2] {
		case "acpipowerbutton":
			if f.acpiIgnored {
				return "", nil
			}
			f.powerOff(vm)
		case "poweroff":
			if vm.state != "running" && vm.state != "paused" {
				return "", ParseError(args, fmt.Sprintf("VBoxManage: error: Machine '%s' is not currently running\n", vm.name), fmt.Errorf("exit status 1"))
			}
			f.powerOff(vm)
			return "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n", nil
		case "resume":
			vm.state = "running"
		}
		return "", nil
	case "unregistervm":
		vm, err := f.vm(args, args[1])
		if err != nil {
			return "", err
		}
		for _, disk := range vm.disks {
			_ = os.Remove(disk)
		}
		delete(f.vms, args[1])
		return "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n", nil
	case "convertfromraw":
		return "Converting from raw image file=\"" + args[1] + "\" to file=\"" + args[2] + "\"...\nCreating dynamic image with size 3221225472 bytes (3072MB)...\n", os.WriteFile(args[2], []byte("vdi"), 0o600)
	case "clonemedium":
		return "0%...10%...100%\nClone medium created in format 'VDI'. UUID: 4b1e1b52-5c3a-4a8e-9d66-2f3b7c9a1e01\n", os.WriteFile(args[3], []byte("vdi"), 0o600)
	case "modifymedium":
		return "0%...10%...100%\n", nil
	case "closemedium":
		return "", ParseError(args, "VBoxManage: error: Could not find file for the medium '"+args[2]+"' (VERR_FILE_NOT_FOUND)\nVBoxManage: error: Details: code VBOX_E_FILE_ERROR (0x80bb0004), component MediumWrap, interface IMedium, callee nsISupports\n", fmt.Errorf("exit status 1"))
	case "hostonlyif":
		switch args[1] {
		case "create":
			name := fmt.Sprintf("vboxnet%d", len(f.ifs))
			f.ifs = append(f.ifs, HostOnlyIf{Name: name})
			return "Interface '" + name + "' was successfully created\n", nil
		case "ipconfig":
			for i := range f.ifs {
				if f.ifs[i].Name == args[2] {
					p, _ := prefixOf(opt("--ip"), opt("--netmask"))
					f.ifs[i].Prefix = p
				}
			}
			return "", nil
		case "remove":
			for i := range f.ifs {
				if f.ifs[i].Name == args[2] {
					f.ifs = append(f.ifs[:i], f.ifs[i+1:]...)
					return "0%...100%\n", nil
				}
			}
			return "", ParseError(args, "VBoxManage: error: The host network interface named '"+args[2]+"' could not be found\nVBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001), component HostWrap, interface IHost, callee nsISupports\n", fmt.Errorf("exit status 1"))
		}
	case "hostonlynet":
		switch args[1] {
		case "add":
			f.nets = append(f.nets, HostOnlyNet{Name: opt("--name"), Enabled: true, Mask: opt("--netmask"),
				Lower: addrOf(opt("--lower-ip")), Upper: addrOf(opt("--upper-ip"))})
			return "", nil
		case "remove":
			for i := range f.nets {
				if f.nets[i].Name == opt("--name") {
					f.nets = append(f.nets[:i], f.nets[i+1:]...)
					return "", nil
				}
			}
		}
	case "dhcpserver":
		name := opt("--netname")
		switch args[1] {
		case "add":
			f.dhcp = append(f.dhcp, DHCPServer{NetworkName: name, Server: addrOf(opt("--ip")), Mask: opt("--netmask"),
				Lower: addrOf(opt("--lowerip")), Upper: addrOf(opt("--upperip")), Enabled: true})
		case "modify":
			for i := range f.dhcp {
				if f.dhcp[i].NetworkName == name {
					f.dhcp[i].Enabled = opt("--enable") != "" || args[len(args)-1] == "--enable"
				}
			}
		case "remove":
			for i := range f.dhcp {
				if f.dhcp[i].NetworkName == name {
					f.dhcp = append(f.dhcp[:i], f.dhcp[i+1:]...)
					break
				}
			}
		}
		return "", nil
	}
	f.t.Errorf("fake VBoxManage: unexpected command %q", args)
	return "", ParseError(args, "VBoxManage: error: unknown command\n", fmt.Errorf("exit status 1"))
}

func (f *fakeVBox) powerOff(vm *fakeVM) {
	vm.state = "poweroff"
	if vm.listener != nil {
		vm.listener.Close()
		vm.listener = nil
	}
}

// rendered are the recorded command lines, one a line, with the
// machine's temporary paths, ports and MACs replaced by names.
func (f *fakeVBox) rendered(d *Driver) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	pairs := []string{d.StorePath, "$STORE"}
	if d.SSHPort != 0 {
		pairs = append(pairs, fmt.Sprintf(",%d,,22", d.SSHPort), ",$SSH_PORT,,22",
			fmt.Sprintf(",%d,,%d", d.EnginePort, d.EnginePort), ",$ENGINE_PORT,,$ENGINE_PORT")
	}
	if d.Image != "" {
		pairs = append([]string{d.Image, "$IMAGE"}, pairs...)
	}
	pairs = append(pairs, d.mac("nat"), "$MAC_NAT", d.mac("hostonly"), "$MAC_HOSTONLY")
	r := strings.NewReplacer(pairs...)
	var b strings.Builder
	for _, c := range f.calls {
		b.WriteString(r.Replace("VBoxManage " + strings.Join(quoteArgs(c), " ")))
		b.WriteString("\n")
	}
	return b.String()
}

// reset forgets the recorded calls.
func (f *fakeVBox) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

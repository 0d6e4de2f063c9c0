package vboxstandin

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// fixedNow is the clock of the tests' state changes.
func fixedNow() time.Time { return time.Date(2024, 3, 8, 11, 2, 17, 524_000_000, time.UTC) }

// standin is a state directory the tests run VBoxManage invocations on.
type standin struct {
	t    *testing.T
	home string
}

func newStandin(t *testing.T, settings Settings) *standin {
	t.Helper()
	home := t.TempDir()
	if settings.MachineFolder == "" {
		settings.MachineFolder = filepath.Join(home, "VirtualBox VMs")
	}
	if settings.NetworksConf == "" { // not the host's /etc/vbox/networks.conf
		settings.NetworksConf = filepath.Join(home, "networks.conf")
	}
	data, err := json.Marshal(settings)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, SettingsFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return &standin{t: t, home: home}
}

// run runs one invocation and returns its outputs and exit code.
func (s *standin) run(args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	code = Run(context.Background(), Env{Home: s.home, Stdout: &o, Stderr: &e, Now: fixedNow}, args)
	return o.String(), e.String(), code
}

// ok runs an invocation that must succeed.
func (s *standin) ok(args ...string) string {
	s.t.Helper()
	out, errs, code := s.run(args...)
	if code != 0 {
		s.t.Fatalf("VBoxManage %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// transcript is an invocation as the golden files show it, with the state
// directory written $HOME.
func (s *standin) transcript(args ...string) string {
	out, errs, code := s.run(args...)
	t := fmt.Sprintf("$ VBoxManage %s\n--- stdout\n%s--- stderr\n%s--- exit %d\n", strings.Join(args, " "), out, errs, code)
	return randomUUID.ReplaceAllStringFunc(strings.ReplaceAll(t, s.home, "$HOME"), func(id string) string {
		if id == vmUUID || id == otherUUID || strings.HasPrefix(id, "786f6276-") {
			return id
		}
		return "<random-uuid>"
	})
}

// randomUUID finds the UUIDs the stand-in makes up (media).
var randomUUID = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

const (
	vmUUID    = "a3f1c2d4-8b6e-4f0a-9c1d-2e3f4a5b6c7d"
	otherUUID = "0f1e2d3c-4b5a-4968-8776-aabbccddeeff"
	natMAC    = "0800274A1B2C"
	hostMAC   = "0800275D6E7F"
	diskSize  = 1 << 20
)

// configured is a VM as the virtualbox driver configures one: EFI, NAT
// with forwards, a host-only NIC on vboxnet0, a disk and a DVD on SATA, a
// serial port to a file, a shared folder.
func configured(t *testing.T, version string) *standin {
	t.Helper()
	s := newStandin(t, Settings{Version: version})
	dir := filepath.Join(s.home, "machines", "dev")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	disk, seed := filepath.Join(dir, "disk.vdi"), filepath.Join(dir, "seed.iso")
	raw := filepath.Join(dir, "disk.raw")
	if err := os.WriteFile(raw, make([]byte, diskSize), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(seed, []byte("seed"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.ok("convertfromraw", raw, disk, "--format", "VDI")
	s.ok("hostonlyif", "create")
	s.ok("hostonlyif", "ipconfig", "vboxnet0", "--ip", "192.168.59.1", "--netmask", "255.255.255.0")
	s.ok("createvm", "--basefolder", dir, "--name", "dev", "--register", "--uuid", vmUUID)
	s.ok("modifyvm", "dev", "--ostype", "Debian_64", "--firmware", "efi", "--cpus", "2", "--memory", "2048",
		"--acpi", "on", "--ioapic", "on", "--rtcuseutc", "on", "--pae", "on",
		"--boot1", "disk", "--boot2", "dvd", "--boot3", "none", "--boot4", "none",
		"--uart1", "0x3F8", "4", "--uartmode1", "file", filepath.Join(dir, "serial.log"))
	s.ok("modifyvm", "dev", "--nic1", "nat", "--nictype1", "82540EM", "--cableconnected1", "on", "--macaddress1", natMAC,
		"--natdnsproxy1", "off", "--natdnshostresolver1", "off",
		"--natpf1", "ssh,tcp,127.0.0.1,40022,,22", "--natpf1", "docker,tcp,127.0.0.1,40376,,40376")
	s.ok("modifyvm", "dev", "--nic2", "hostonly", "--hostonlyadapter2", "vboxnet0", "--nictype2", "82540EM",
		"--nicpromisc2", "deny", "--cableconnected2", "on", "--macaddress2", hostMAC)
	s.ok("storagectl", "dev", "--name", "SATA", "--add", "sata", "--controller", "IntelAhci", "--portcount", "2", "--hostiocache", "on")
	s.ok("storageattach", "dev", "--storagectl", "SATA", "--port", "0", "--device", "0", "--type", "hdd", "--medium", disk)
	s.ok("storageattach", "dev", "--storagectl", "SATA", "--port", "1", "--device", "0", "--type", "dvddrive", "--medium", seed)
	s.ok("sharedfolder", "add", "dev", "--name", "hosthome", "--hostpath", "/home", "--automount")
	s.ok("setextradata", "dev", "VBoxInternal2/SharedFoldersEnableSymlinksCreate/hosthome", "1")
	return s
}

// TestOutputs compares each output format with its golden transcript, for
// VirtualBox 7.0 and 6.1.
func TestOutputs(t *testing.T) {
	for _, version := range []string{Version70, Version61} {
		t.Run(version, func(t *testing.T) {
			s := configured(t, version)
			s.ok("dhcpserver", "add", "--netname", "HostInterfaceNetworking-vboxnet0", "--ip", "192.168.59.2",
				"--netmask", "255.255.255.0", "--lowerip", "192.168.59.100", "--upperip", "192.168.59.254", "--enable")
			var b strings.Builder
			for _, args := range [][]string{
				{"--version"},
				{"list", "vms"},
				{"list", "runningvms"},
				{"list", "hostonlyifs"},
				{"list", "dhcpservers"},
				{"list", "hostonlynets"},
				{"showvminfo", "dev", "--machinereadable"},
				{"getextradata", "dev", "VBoxInternal2/SharedFoldersEnableSymlinksCreate/hosthome"},
				{"hostonlyif", "create"},
				{"createvm", "--name", "other", "--uuid", otherUUID},
			} {
				b.WriteString(s.transcript(args...))
			}
			golden(t, "outputs-"+version+".golden", b.String())
		})
	}
}

// TestSystemProperties checks the line a driver reads, in both versions.
func TestSystemProperties(t *testing.T) {
	for _, version := range []string{Version70, Version61} {
		s := newStandin(t, Settings{Version: version, MachineFolder: "/home/me/VirtualBox VMs"})
		out := s.ok("list", "systemproperties")
		if !strings.Contains(out, "\nDefault machine folder:          /home/me/VirtualBox VMs\n") {
			t.Errorf("%s: list systemproperties lacks the machine folder:\n%s", version, out)
		}
		if !strings.HasPrefix(out, "API version:                     "+strings.ReplaceAll(version, ".", "_")+"\n") {
			t.Errorf("%s: list systemproperties starts %q", version, strings.SplitN(out, "\n", 2)[0])
		}
	}
}

// TestFailures runs each failure VirtualBox answers with and compares its
// transcript (exit code, stdout, stderr) with the golden one.
func TestFailures(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings Settings
		setup    func(t *testing.T, s *standin)
		args     []string
	}{
		{name: "showvminfo missing VM", args: []string{"showvminfo", "nope", "--machinereadable"}},
		{name: "showvminfo missing UUID", args: []string{"showvminfo", "{0F1E2D3C-4B5A-4968-8776-AABBCCDDEEFF}"}},
		{name: "showvminfo missing VM 6.1", settings: Settings{Version: Version61}, args: []string{"showvminfo", "nope", "--machinereadable"}},
		{name: "modifyvm missing VM", args: []string{"modifyvm", "nope", "--memory", "1024"}},
		{name: "startvm missing VM", args: []string{"startvm", "nope", "--type", "headless"}},
		{name: "controlvm missing VM", args: []string{"controlvm", "nope", "poweroff"}},
		{name: "unregistervm missing VM", args: []string{"unregistervm", "nope", "--delete"}},
		{name: "setextradata missing VM", args: []string{"setextradata", "nope", "k", "v"}},
		{name: "modifyvm locked", settings: Settings{LockedVMs: []string{"dev"}}, args: []string{"modifyvm", "dev", "--memory", "1024"}},
		{name: "modifyvm locked 6.1", settings: Settings{Version: Version61, LockedVMs: []string{"dev"}}, args: []string{"modifyvm", "dev", "--memory", "1024"}},
		{name: "startvm locked", settings: Settings{LockedVMs: []string{"dev"}}, args: []string{"startvm", "dev", "--type", "headless"}},
		{name: "startvm locked 6.1", settings: Settings{Version: Version61, LockedVMs: []string{"dev"}}, args: []string{"startvm", "dev", "--type", "headless"}},
		{name: "unregistervm locked", settings: Settings{LockedVMs: []string{"dev"}}, args: []string{"unregistervm", "dev", "--delete"}},
		{name: "sharedfolder locked", settings: Settings{LockedVMs: []string{"dev"}}, args: []string{"sharedfolder", "add", "dev", "--name", "x", "--hostpath", "/tmp"}},
		{name: "startvm VT-x held", settings: Settings{VTxHeldBy: "vmx"}, args: []string{"startvm", "dev", "--type", "headless"}},
		{name: "startvm AMD-V held", settings: Settings{VTxHeldBy: "svm"}, args: []string{"startvm", "dev", "--type", "headless"}},
		{name: "controlvm not running", args: []string{"controlvm", "dev", "acpipowerbutton"}},
		{name: "controlvm not running 6.1", settings: Settings{Version: Version61}, args: []string{"controlvm", "dev", "poweroff"}},
		{name: "modifyvm unknown option", args: []string{"modifyvm", "dev", "--no-such-option", "on"}},
		{name: "modifyvm hostonlynet on 6.1", settings: Settings{Version: Version61}, args: []string{"modifyvm", "dev", "--nic2", "hostonlynet"}},
		{name: "modifyvm host-only-net on 6.1", settings: Settings{Version: Version61}, args: []string{"modifyvm", "dev", "--host-only-net2", "x"}},
		{name: "modifyvm bad on-off", args: []string{"modifyvm", "dev", "--acpi", "yes"}},
		{name: "modifyvm bad number", args: []string{"modifyvm", "dev", "--memory", "lots"}},
		{name: "modifyvm missing value", args: []string{"modifyvm", "dev", "--memory"}},
		{name: "modifyvm nic type", args: []string{"modifyvm", "dev", "--nictype1", "rtl8139"}},
		{name: "modifyvm nic kind", args: []string{"modifyvm", "dev", "--nic3", "wifi"}},
		{name: "modifyvm nic number", args: []string{"modifyvm", "dev", "--nic9", "nat"}},
		{name: "modifyvm firmware", args: []string{"modifyvm", "dev", "--firmware", "coreboot"}},
		{name: "modifyvm boot device", args: []string{"modifyvm", "dev", "--boot1", "usb"}},
		{name: "modifyvm MAC", args: []string{"modifyvm", "dev", "--macaddress1", "010027000000"}},
		{name: "modifyvm promisc", args: []string{"modifyvm", "dev", "--nicpromisc2", "maybe"}},
		{name: "modifyvm natpf same name", args: []string{"modifyvm", "dev", "--natpf1", "ssh,tcp,127.0.0.1,40023,,22"}},
		{name: "modifyvm natpf same port", args: []string{"modifyvm", "dev", "--natpf1", "ssh2,tcp,127.0.0.1,40022,,2222"}},
		{name: "modifyvm natpf proto", args: []string{"modifyvm", "dev", "--natpf1", "x,sctp,127.0.0.1,1,,1"}},
		{name: "modifyvm natpf delete missing", args: []string{"modifyvm", "dev", "--natpf1", "delete", "nope"}},
		{name: "modifyvm natpf delete no name", args: []string{"modifyvm", "dev", "--natpf1", "delete"}},
		{name: "storagectl exists", args: []string{"storagectl", "dev", "--name", "SATA", "--add", "sata"}},
		{name: "storagectl bad bus", args: []string{"storagectl", "dev", "--name", "X", "--add", "nvme"}},
		{name: "storageattach no controller", args: []string{"storageattach", "dev", "--storagectl", "IDE", "--port", "0", "--device", "0", "--type", "hdd", "--medium", "/nonexistent.vdi"}},
		{name: "storageattach missing file", args: []string{"storageattach", "dev", "--storagectl", "SATA", "--port", "0", "--device", "0", "--type", "hdd", "--medium", "/nonexistent.vdi"}},
		{name: "closemedium attached", setup: func(t *testing.T, s *standin) {}, args: []string{"closemedium", "disk", "$HOME/machines/dev/disk.vdi"}},
		{name: "modifymedium shrink", args: []string{"modifymedium", "disk", "$HOME/machines/dev/disk.vdi", "--resize", "0"}},
		{name: "convertfromraw missing", args: []string{"convertfromraw", "/nonexistent.raw", "$HOME/x.vdi"}},
		{name: "hostonlyif ipconfig refused", args: []string{"hostonlyif", "ipconfig", "vboxnet0", "--ip", "10.20.30.1", "--netmask", "255.255.255.0"}},
		{name: "hostonlyif ipconfig refused 6.1", settings: Settings{Version: Version61}, args: []string{"hostonlyif", "ipconfig", "vboxnet0", "--ip", "192.168.99.1", "--netmask", "255.255.255.0"}},
		{name: "hostonlyif ipconfig missing", args: []string{"hostonlyif", "ipconfig", "vboxnet7", "--ip", "192.168.56.1"}},
		{name: "hostonlyif remove missing", args: []string{"hostonlyif", "remove", "vboxnet7"}},
		{name: "hostonlynet add refused", args: []string{"hostonlynet", "add", "--name", "n", "--netmask", "255.255.255.0", "--lower-ip", "10.9.8.100", "--upper-ip", "10.9.8.200", "--enable"}},
		{name: "hostonlynet on 6.1", settings: Settings{Version: Version61}, args: []string{"hostonlynet", "add", "--name", "n"}},
		{name: "hostonlynet remove missing", args: []string{"hostonlynet", "remove", "--name", "n"}},
		{name: "dhcpserver modify missing", args: []string{"dhcpserver", "modify", "--netname", "HostInterfaceNetworking-vboxnet0", "--enable"}},
		{name: "dhcpserver bad range", args: []string{"dhcpserver", "add", "--interface", "vboxnet0", "--server-ip", "192.168.59.2", "--netmask", "255.255.255.0", "--lower-ip", "192.168.60.100", "--upper-ip", "192.168.59.254", "--enable"}},
		{name: "dhcpserver missing interface", args: []string{"dhcpserver", "add", "--interface", "vboxnet9", "--server-ip", "192.168.59.2", "--netmask", "255.255.255.0", "--lower-ip", "192.168.59.100", "--upper-ip", "192.168.59.254"}},
		{name: "unknown command", args: []string{"frobnicate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			version := tc.settings.Version
			if version == "" {
				version = Version70
			}
			s := configured(t, version)
			settings := tc.settings
			settings.Version = version
			settings.MachineFolder = filepath.Join(s.home, "VirtualBox VMs")
			settings.NetworksConf = filepath.Join(s.home, "networks.conf")
			data, _ := json.Marshal(settings)
			if err := os.WriteFile(filepath.Join(s.home, SettingsFile), data, 0o644); err != nil {
				t.Fatal(err)
			}
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = strings.ReplaceAll(a, "$HOME", s.home)
			}
			before, _ := os.ReadFile(filepath.Join(s.home, StateFile))
			_, _, code := s.run(args...)
			if code == 0 {
				t.Fatalf("VBoxManage %s: exit 0, want a failure", strings.Join(tc.args, " "))
			}
			after, _ := os.ReadFile(filepath.Join(s.home, StateFile))
			if !bytes.Equal(before, after) {
				t.Errorf("a failed command changed the state:\n%s\n---\n%s", before, after)
			}
			name := strings.ReplaceAll(tc.name, " ", "-")
			golden(t, "fail-"+name+".golden", s.transcript(args...))
		})
	}
}

// TestModifyVMOptionLists checks the option lists taken from VirtualBox's
// source: their sizes, and options a driver uses in each version.
func TestModifyVMOptionLists(t *testing.T) {
	v70, v61 := parseOptionList(modifyVMOptions70), parseOptionList(modifyVMOptions61)
	if len(v70) < 300 || len(v61) < 170 {
		t.Fatalf("option lists hold %d (7.0) and %d (6.1) options", len(v70), len(v61))
	}
	for _, tc := range []struct {
		arg        string
		in70, in61 bool
		index      int
	}{
		{"--memory", true, true, 0},
		{"--nic1", true, true, 1},
		{"--nictype2", true, true, 2},
		{"--natpf1", true, true, 1},
		{"--nat-pf1", true, false, 1},
		{"--host-only-net2", true, false, 2},
		{"--hostonlyadapter2", true, true, 2},
		{"--macaddress8", true, true, 8},
		{"--uart1", true, true, 1},
		{"--uartmode1", true, true, 1},
		{"--boot4", true, true, 4},
		{"--firmware", true, true, 0},
		{"--nic", false, false, 0},
		{"--memory1", false, false, 0},
		{"--no-such-option", false, false, 0},
	} {
		for _, v := range []struct {
			opts map[string]optType
			want bool
			name string
		}{{v70, tc.in70, "7.0"}, {v61, tc.in61, "6.1"}} {
			_, _, index, ok := lookupOption(v.opts, tc.arg)
			if ok != v.want || (ok && index != tc.index) {
				t.Errorf("%s %s: found %v index %d, want %v index %d", v.name, tc.arg, ok, index, v.want, tc.index)
			}
		}
	}
}

// TestStateMachine drives a VM through its states without QEMU: created
// powered off, a start that VT-x refuses leaves it off, modifyvm and
// storage changes while off, unregistervm --delete removes its files
// and hard disk, and unregisters but keeps its DVD image.
func TestStateMachine(t *testing.T) {
	s := configured(t, Version70)
	state := func() string {
		out := s.ok("showvminfo", "dev", "--machinereadable")
		for _, l := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(l, "VMState="); ok {
				return strings.Trim(v, `"`)
			}
		}
		t.Fatalf("no VMState in\n%s", out)
		return ""
	}
	if st := state(); st != "poweroff" {
		t.Fatalf("state after createvm = %q", st)
	}
	writeSettings(t, s, Settings{VTxHeldBy: "vmx"})
	if _, _, code := s.run("startvm", "dev"); code != 1 {
		t.Fatalf("startvm with VT-x held: exit %d", code)
	}
	if st := state(); st != "poweroff" {
		t.Errorf("state after a refused start = %q", st)
	}
	if out := s.ok("list", "runningvms"); out != "" {
		t.Errorf("runningvms after a refused start: %q", out)
	}
	s.ok("modifyvm", "dev", "--natpf1", "delete", "docker", "--memory", "1024")
	info := s.ok("showvminfo", "dev", "--machinereadable")
	if strings.Contains(info, "docker,") || !strings.Contains(info, "memory=1024\n") {
		t.Errorf("modifyvm did not apply:\n%s", info)
	}
	// A failed option leaves everything as it was.
	if _, _, code := s.run("modifyvm", "dev", "--memory", "512", "--nictype1", "bogus"); code != 1 {
		t.Errorf("modifyvm with a bad NIC type: exit %d, want 1", code)
	}
	if info := s.ok("showvminfo", "dev", "--machinereadable"); !strings.Contains(info, "memory=1024\n") {
		t.Errorf("a failed modifyvm changed the memory")
	}
	dir := filepath.Join(s.home, "machines", "dev")
	s.ok("unregistervm", "dev", "--delete")
	for _, gone := range []string{filepath.Join(dir, "disk.vdi"), filepath.Join(dir, "dev", "dev.vbox"), filepath.Join(dir, "dev")} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("%s is left after unregistervm --delete (%v)", gone, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "seed.iso")); err != nil {
		t.Errorf("unregistervm --delete deleted the DVD image: %v", err)
	}
	if out := s.ok("list", "vms"); out != "" {
		t.Errorf("list vms after unregistervm: %q", out)
	}
	var st State
	data, _ := os.ReadFile(filepath.Join(s.home, StateFile))
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Media) != 0 {
		t.Errorf("media after unregistervm --delete: %+v, want none (the DVD was in the VM's registry)", st.Media)
	}
}

func writeSettings(t *testing.T, s *standin, set Settings) {
	t.Helper()
	set.MachineFolder = filepath.Join(s.home, "VirtualBox VMs")
	set.NetworksConf = filepath.Join(s.home, "networks.conf")
	data, _ := json.Marshal(set)
	if err := os.WriteFile(filepath.Join(s.home, SettingsFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestNetworksConf checks which host-only addresses each networks.conf
// allows, and VirtualBox's default without one.
func TestNetworksConf(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "networks.conf")
	if err := os.WriteFile(conf, []byte("# lab\n* 10.0.0.0/8 192.168.0.0/16\n* 2001::/64\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	none := filepath.Join(t.TempDir(), "none")
	for _, tc := range []struct {
		conf, ip, mask string
		want           bool
	}{
		{none, "192.168.56.1", "255.255.255.0", true},
		{none, "192.168.63.1", "255.255.255.0", true},
		{none, "192.168.64.1", "255.255.255.0", false},
		{none, "192.168.56.1", "255.255.0.0", false}, // wider than the range
		{none, "10.0.0.1", "255.0.0.0", false},
		{"/nonexistent/networks.conf", "192.168.59.1", "255.255.255.0", true},
		{conf, "10.20.30.1", "255.255.255.0", true},
		{conf, "192.168.99.1", "255.255.255.0", true},
		{conf, "172.16.0.1", "255.255.0.0", false},
		{conf, "192.168.99.1", "255.0.255.0", false}, // not a netmask
	} {
		s := newStandin(t, Settings{NetworksConf: tc.conf})
		st, err := openStore(s.home)
		if err != nil {
			t.Fatal(err)
		}
		c := &invocation{s: st}
		if got := c.allowed(tc.ip, tc.mask); got != tc.want {
			t.Errorf("networks.conf %q: %s/%s allowed = %v, want %v", tc.conf, tc.ip, tc.mask, got, tc.want)
		}
		st.close()
	}
}

// TestDHCPConfig checks IDHCPServer::SetConfiguration's validation.
func TestDHCPConfig(t *testing.T) {
	for _, tc := range []struct {
		d    DHCPServer
		want string
	}{
		{DHCPServer{IP: "192.168.59.2", Netmask: "255.255.255.0", LowerIP: "192.168.59.100", UpperIP: "192.168.59.254"}, ""},
		{DHCPServer{IP: "192.168.59.0", Netmask: "255.255.255.0", LowerIP: "192.168.59.100", UpperIP: "192.168.59.254"}, "Invalid server address: 192.168.59.0 (mask 255.255.255.0)"},
		{DHCPServer{IP: "192.168.59.2", Netmask: "255.255.255.0", LowerIP: "192.168.58.100", UpperIP: "192.168.59.254"}, "Invalid range lower address: 192.168.58.100 (mask 255.255.255.0)"},
		{DHCPServer{IP: "192.168.59.2", Netmask: "255.255.255.0", LowerIP: "192.168.59.100", UpperIP: "192.168.59.255"}, "Invalid range upper address"},
		{DHCPServer{IP: "192.168.59.2", Netmask: "255.0.255.0", LowerIP: "192.168.59.100", UpperIP: "192.168.59.254"}, "Invalid netmask: 255.0.255.0"},
		{DHCPServer{IP: "x", Netmask: "255.255.255.0"}, "Invalid server address: x"},
	} {
		if got := checkDHCPConfig(tc.d); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.d, got, tc.want)
		}
	}
}

// TestStateTime checks VMStateChangeTime's form: RTTimeSpecToString cut
// to 29 characters (no "Z"), milliseconds.
func TestStateTime(t *testing.T) {
	if got := stateTime(fixedNow()); got != "2024-03-08T11:02:17.524000000" {
		t.Errorf("stateTime = %q", got)
	}
}

// TestQEMUConfig checks what startvm boots for a VM's configuration, and
// the configurations VirtualBox could not start either.
func TestQEMUConfig(t *testing.T) {
	s := configured(t, Version70)
	st, err := openStore(s.home)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	c := &invocation{ctx: context.Background(), s: st}
	vm := st.findVM("dev")
	cfg, e := c.qemuConfig(vm)
	if e != nil {
		t.Fatalf("qemuConfig: %s", e.Text)
	}
	dir := filepath.Join(s.home, "machines", "dev")
	if cfg.Disk != filepath.Join(dir, "disk.vdi") || cfg.DiskFormat != "vdi" || cfg.Seed != filepath.Join(dir, "seed.iso") {
		t.Errorf("disk %s (%s), seed %s", cfg.Disk, cfg.DiskFormat, cfg.Seed)
	}
	if cfg.BIOS || cfg.Firmware.Code == "" {
		t.Errorf("firmware efi boots BIOS=%v with %+v", cfg.BIOS, cfg.Firmware)
	}
	if cfg.CPUs != 2 || cfg.MemoryMB != 2048 || cfg.NICModel != "e1000" || cfg.MAC != "08:00:27:4a:1b:2c" {
		t.Errorf("cpus %d, memory %d, NIC %s, MAC %s", cfg.CPUs, cfg.MemoryMB, cfg.NICModel, cfg.MAC)
	}
	if len(cfg.Forwards) != 2 || cfg.Forwards[0].HostPort != 40022 || cfg.Forwards[0].GuestPort != 22 || cfg.Forwards[1].GuestPort != 40376 {
		t.Errorf("forwards %+v", cfg.Forwards)
	}
	if cfg.Mesh == nil || cfg.Mesh.Group != c.meshGroup("vboxnet0") || cfg.Mesh.MAC != "08:00:27:5d:6e:7f" {
		t.Errorf("host-only NIC %+v", cfg.Mesh)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("QEMU's configuration: %v", err)
	}

	for _, tc := range []struct {
		name   string
		change func(*VM)
		check  func(cfgBIOS bool, disk string) string
		fails  string
	}{
		{name: "bios", change: func(vm *VM) { vm.Firmware = "BIOS" }, check: func(bios bool, _ string) string {
			if !bios {
				return "firmware bios boots EFI"
			}
			return ""
		}},
		{name: "no disk", change: func(vm *VM) { vm.Storage = nil }, check: func(_ bool, disk string) string {
			if filepath.Base(disk) != blankDisk {
				return "a VM without a disk boots " + disk
			}
			return ""
		}},
		{name: "NIC1 not NAT", change: func(vm *VM) { vm.NICs[0].Attachment = "bridged" }, fails: "NIC 1 is attached to bridged"},
		{name: "missing host-only interface", change: func(vm *VM) { vm.NICs[1].HostOnlyAdapter = "vboxnet7" },
			fails: "Nonexistent host networking interface, name 'vboxnet7' (VERR_INTERNAL_ERROR)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, _ := json.Marshal(vm)
			var changed VM
			_ = json.Unmarshal(data, &changed)
			tc.change(&changed)
			cfg, e := c.qemuConfig(&changed)
			if tc.fails != "" {
				if e == nil || !strings.Contains(e.Text, tc.fails) {
					t.Fatalf("got %v, want an error with %q", e, tc.fails)
				}
				return
			}
			if e != nil {
				t.Fatal(e.Text)
			}
			if msg := tc.check(cfg.BIOS, cfg.Disk); msg != "" {
				t.Error(msg)
			}
		})
	}
}

// TestMedia converts, clones and resizes images for real with qemu-img.
func TestMedia(t *testing.T) {
	for _, version := range []string{Version70, Version61} {
		t.Run(version, func(t *testing.T) {
			s := newStandin(t, Settings{Version: version})
			raw := filepath.Join(s.home, "in.raw")
			data := bytes.Repeat([]byte("machine!"), diskSize/8)
			if err := os.WriteFile(raw, data, 0o644); err != nil {
				t.Fatal(err)
			}
			vdi, vmdk := filepath.Join(s.home, "a.vdi"), filepath.Join(s.home, "b.vmdk")
			s.ok("convertfromraw", raw, vdi, "--format", "VDI")
			if f := imageFormat(vdi); f != "VDI" {
				t.Errorf("convertfromraw wrote %s", f)
			}
			out := s.ok("clonemedium", "disk", vdi, vmdk, "--format", "VMDK")
			if !strings.HasPrefix(out, "Clone medium created in format 'VMDK'. UUID: ") || imageFormat(vmdk) != "VMDK" {
				t.Errorf("clonemedium: %q, %s", out, imageFormat(vmdk))
			}
			s.ok("modifymedium", "disk", vdi, "--resize", "4")
			c := &invocation{ctx: context.Background()}
			if size, err := c.virtualSize(vdi, "VDI"); err != nil || size != 4<<20 {
				t.Errorf("VDI after --resize 4: %d bytes (%v)", size, err)
			}
			_, errs, code := s.run("modifymedium", "disk", vmdk, "--resize", "4")
			if version == Version61 {
				if code != 1 || !strings.Contains(errs, "Resizing to new size 4194304 is not yet supported") {
					t.Errorf("6.1 resized a VMDK: exit %d\n%s", code, errs)
				}
			} else if size, err := c.virtualSize(vmdk, "VMDK"); code != 0 || err != nil || size != 4<<20 {
				t.Errorf("7.0 VMDK after --resize 4: exit %d, %d bytes (%v)\n%s", code, size, err, errs)
			}
			back := filepath.Join(s.home, "back.raw")
			s.ok("clonemedium", vdi, back, "--format", "RAW")
			got, err := os.ReadFile(back)
			if err != nil || !bytes.Equal(got[:len(data)], data) {
				t.Errorf("the content did not survive convert, resize and clone (%v)", err)
			}
			s.ok("closemedium", "disk", vmdk, "--delete")
			if _, err := os.Stat(vmdk); !os.IsNotExist(err) {
				t.Errorf("closemedium --delete left %s", vmdk)
			}
		})
	}
}

// TestExiting checks how a VM whose QEMU no longer counts as running is
// told from one whose QEMU is gone: the process startvm launched is still
// there (a QEMU, by its name) and not a zombie.
func TestExiting(t *testing.T) {
	qemuLike := filepath.Join(t.TempDir(), "qemu-standin")
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatalf("sleep (coreutils) not on PATH: %v", err)
	}
	data, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(qemuLike, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(qemuLike, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	for _, tc := range []struct {
		name string
		pid  int
		want bool
	}{
		{"a QEMU process", cmd.Process.Pid, true},
		{"another process", os.Getpid(), false},
		{"no process", 999999999, false},
		{"no pid", 0, false},
	} {
		if got := exiting(tc.pid); got != tc.want {
			t.Errorf("%s: exiting = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestStateAfterQEMU checks the state of a VM startvm left running once
// its QEMU is gone: powered off when the guest powered down (its console
// says so) or the ACPI button was pressed, else aborted; the state is kept.
func TestStateAfterQEMU(t *testing.T) {
	for _, tc := range []struct {
		name        string
		console     string
		powerButton bool
		want        string
	}{
		{"guest powered down", "[  109.97] reboot: Power down\n", false, "poweroff"},
		{"power button", "", true, "poweroff"},
		{"died", "[    2.55] NET: Registered PF_XDP protocol family\n", false, "aborted"},
		{"no console", "", false, "aborted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := configured(t, Version70)
			st, err := openStore(s.home)
			if err != nil {
				t.Fatal(err)
			}
			c := &invocation{ctx: context.Background(), s: st, clock: fixedNow}
			vm := st.findVM("dev")
			vm.State, vm.PowerButton = "running", tc.powerButton
			if tc.console != "" {
				if err := os.MkdirAll(c.runPath(vm), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(c.runPath(vm), "serial.log"), []byte(tc.console), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := c.state(vm); got != tc.want {
				t.Errorf("state = %q, want %q", got, tc.want)
			}
			if vm.State != tc.want || vm.PowerButton || !c.dirty {
				t.Errorf("kept state %q (power button %v, saved %v)", vm.State, vm.PowerButton, c.dirty)
			}
			if err := st.save(); err != nil {
				t.Fatal(err)
			}
			st.close()
			if out := s.ok("list", "runningvms"); out != "" {
				t.Errorf("runningvms lists %q", out)
			}
		})
	}
}

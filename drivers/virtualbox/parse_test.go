package virtualbox

import (
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/machine-cli/machine/drivers"
)

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		file  string
		want  string
		least bool // at least 6.1.28
	}{
		{"version-6.1.txt", "6.1.50", true},
		{"version-7.0.txt", "7.0.14", true},
		{"version-6.1-ubuntu-warning.txt", "6.1.38", true},
		{"version-6.0.txt", "6.0.24", false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			v, err := ParseVersion(readFile(t, tc.file))
			if err != nil || v.String() != tc.want || v.AtLeast(6, 1, 28) != tc.least {
				t.Errorf("= %+v, %v; want %s (at least 6.1.28: %v)", v, err, tc.want, tc.least)
			}
		})
	}
	if _, err := ParseVersion("Oracle VM VirtualBox Command Line Management Interface\n"); err == nil {
		t.Error("no version parsed without error")
	}
	if v, _ := ParseVersion("6.1.26r145957"); v.AtLeast(6, 1, 28) || !v.AtLeast(6, 1, 0) || v.AtLeast(7, 0, 0) {
		t.Errorf("6.1.26 compares wrong: %+v", v)
	}
}

func TestParseMachineInfo(t *testing.T) {
	for _, tc := range []struct {
		file, state, name, cfg, hostonly string
		cpus, memory                     int
		disks                            []string
	}{
		{"showvminfo-6.1-running.txt", "running", "dev", "/home/me/.docker/machine/machines/dev/dev/dev.vbox", "vboxnet0", 1, 1024,
			[]string{"/home/me/.docker/machine/machines/dev/disk.vdi"}},
		// 7.0 prints "Encryption:     disabled" among the key=value lines.
		{"showvminfo-7.0-poweroff.txt", "poweroff", "dev", "/home/me/.docker/machine/machines/dev/dev/dev.vbox", "vboxnet1", 2, 2048,
			[]string{"/home/me/.docker/machine/machines/dev/disk.vdi"}},
		{"showvminfo-6.1-boot2docker.txt", "poweroff", "default", "/home/me/.docker/machine/machines/default/default/default.vbox", "vboxnet0", 1, 1024,
			[]string{"/home/me/.docker/machine/machines/default/disk.vmdk"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			m := ParseMachineInfo(readFile(t, tc.file))
			if m.State() != tc.state || m["name"] != tc.name || m["CfgFile"] != tc.cfg || m["hostonlyadapter2"] != tc.hostonly ||
				m.Int("cpus") != tc.cpus || m.Int("memory") != tc.memory {
				t.Errorf("state %q name %q cfg %q hostonly %q cpus %d memory %d", m.State(), m["name"], m["CfgFile"], m["hostonlyadapter2"], m.Int("cpus"), m.Int("memory"))
			}
			if got := m.Disks(); !slices.Equal(got, tc.disks) {
				t.Errorf("disks = %v, want %v", got, tc.disks)
			}
			if _, ok := m["Encryption"]; ok {
				t.Error("a line of another form became a key")
			}
		})
	}
	m := ParseMachineInfo(readFile(t, "showvminfo-6.1-running.txt"))
	if m["Forwarding(1)"] != "ssh,tcp,127.0.0.1,40022,,22" || m["SATA-ImageUUID-0-0"] != "0c0a3d2e-5e1b-4f6e-8a66-9d6a51b7a9c2" || m["VideoMode"] != `"1024,768,32"@0,0 1` {
		t.Errorf("forwarding %q, image %q, video %q", m["Forwarding(1)"], m["SATA-ImageUUID-0-0"], m["VideoMode"])
	}
	if m.HasISO("boot2docker") || !ParseMachineInfo(readFile(t, "showvminfo-6.1-boot2docker.txt")).HasISO("boot2docker") {
		t.Error("HasISO")
	}
	w := ParseMachineInfo(readFile(t, "showvminfo-7.0-windows.txt"))
	if w["CfgFile"] != `C:\Users\me\.docker\machine\machines\dev\dev\dev.vbox` || w.State() != "saved" ||
		w["SharedFolderPathMachineMapping1"] != `\\?\c:\Users` || w["hostonlyadapter2"] != "VirtualBox Host-Only Ethernet Adapter #2" ||
		!slices.Equal(w.Disks(), []string{`C:\Users\me\.docker\machine\machines\dev\disk.vdi`}) {
		t.Errorf("windows: cfg %q state %q share %q disks %q", w["CfgFile"], w.State(), w["SharedFolderPathMachineMapping1"], w.Disks())
	}
	n := ParseMachineInfo(readFile(t, "showvminfo-7.0-hostonlynet-running.txt"))
	if n["hostonly-network2"] != "machine-192.168.59.0-24" || n["nic2"] != "hostonlynetwork" || n.State() != "running" {
		t.Errorf("host-only network %q nic2 %q", n["hostonly-network2"], n["nic2"])
	}
}

func TestParseHostOnlyIfs(t *testing.T) {
	got := ParseHostOnlyIfs(readFile(t, "hostonlyifs-6.1.txt"))
	want := []HostOnlyIf{
		{Name: "vboxnet0", Prefix: netip.MustParsePrefix("192.168.56.1/24"), Status: "Up", NetworkName: "HostInterfaceNetworking-vboxnet0"},
		{Name: "vboxnet1", Prefix: netip.MustParsePrefix("192.168.59.1/24"), Status: "Down", NetworkName: "HostInterfaceNetworking-vboxnet1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("6.1:\n%+v\nwant\n%+v", got, want)
	}
	win := ParseHostOnlyIfs(readFile(t, "hostonlyifs-7.0-windows.txt"))
	if len(win) != 2 || win[1].Name != "VirtualBox Host-Only Ethernet Adapter #2" || win[1].Prefix != netip.MustParsePrefix("192.168.59.1/24") ||
		win[1].NetworkName != "HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter #2" {
		t.Errorf("windows: %+v", win)
	}
	if len(ParseHostOnlyIfs("")) != 0 {
		t.Error("interfaces out of nothing")
	}
}

func TestParseDHCPServers(t *testing.T) {
	a := netip.MustParseAddr
	for _, tc := range []struct {
		file string
		want []DHCPServer
	}{
		{"dhcpservers-6.0.txt", []DHCPServer{{NetworkName: "HostInterfaceNetworking-vboxnet0", Server: a("192.168.56.100"), Mask: "255.255.255.0",
			Lower: a("192.168.56.101"), Upper: a("192.168.56.254"), Enabled: true}}},
		{"dhcpservers-6.1.txt", []DHCPServer{
			{NetworkName: "HostInterfaceNetworking-vboxnet0", Server: a("192.168.56.100"), Mask: "255.255.255.0", Lower: a("192.168.56.101"), Upper: a("192.168.56.254"), Enabled: true},
			{NetworkName: "HostInterfaceNetworking-vboxnet1", Server: a("192.168.59.2"), Mask: "255.255.255.0", Lower: a("192.168.59.100"), Upper: a("192.168.59.254")},
		}},
		{"dhcpservers-7.0.txt", []DHCPServer{
			{NetworkName: "HostInterfaceNetworking-vboxnet0", Server: a("192.168.56.100"), Mask: "255.255.255.0", Lower: a("192.168.56.101"), Upper: a("192.168.56.254"), Enabled: true},
			{NetworkName: "NatNetwork", Server: a("10.0.2.3"), Mask: "255.255.255.0", Lower: a("10.0.2.4"), Upper: a("10.0.2.254"), Enabled: true},
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			if got := ParseDHCPServers(readFile(t, tc.file)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestParseHostOnlyNets(t *testing.T) {
	got := ParseHostOnlyNets(readFile(t, "hostonlynets-7.0.txt"))
	if len(got) != 2 || got[1].Name != "machine-192.168.59.0-24" || !got[1].Enabled || got[1].Lower != netip.MustParseAddr("192.168.59.100") ||
		got[1].Upper != netip.MustParseAddr("192.168.59.254") || got[0].Name != "HostNetwork" {
		t.Fatalf("got %+v", got)
	}
	if p, ok := got[0].Network(); !ok || p != netip.MustParsePrefix("192.168.56.0/24") {
		t.Errorf("network of %s = %v, %v", got[0].Name, p, ok)
	}
}

func TestParseSmall(t *testing.T) {
	if name, ok := ParseCreatedInterface(readFile(t, "hostonlyif-create-6.1.stdout")); !ok || name != "vboxnet2" {
		t.Errorf("created %q, %v", name, ok)
	}
	if name, ok := ParseCreatedInterface("Interface 'VirtualBox Host-Only Ethernet Adapter #3' was successfully created\n"); !ok || name != "VirtualBox Host-Only Ethernet Adapter #3" {
		t.Errorf("created on Windows %q, %v", name, ok)
	}
	if _, ok := ParseCreatedInterface("0%...100%\n"); ok {
		t.Error("a name out of progress")
	}
	vms := ParseVMs(readFile(t, "list-vms.txt"))
	if vms["5b2d0c6e-7f39-4c3a-9a4e-0d5d2f1b8a11"] != "dev" || vms["0f1e2d3c-4b5a-4968-8776-aabbccddeeff"] != "Windows 11 (work)" || len(vms) != 2 {
		t.Errorf("vms = %v", vms)
	}
	for mask, bits := range map[string]int{"255.255.255.0": 24, "255.255.248.0": 21, "255.0.0.0": 8, "255.255.255.252": 30} {
		if b, ok := maskBits(mask); !ok || b != bits || maskOf(bits) != mask {
			t.Errorf("mask %s: %d %v, back %s", mask, b, ok, maskOf(bits))
		}
	}
	if _, ok := maskBits("255.0.255.0"); ok {
		t.Error("a non-contiguous mask")
	}
}

// TestParseError: VBoxManage's error output of 6.1 and 7 becomes one line
// with the result code; a missing object matches drivers.ErrNotFound; the
// VirtualBox status is found.
func TestParseError(t *testing.T) {
	for _, tc := range []struct {
		file, code, status, line string
		notFound, locked         bool
	}{
		{file: "error-notfound-6.1.txt", code: "VBOX_E_OBJECT_NOT_FOUND", notFound: true,
			line: "VBoxManage showvminfo: Could not find a registered machine named 'dev' (VBOX_E_OBJECT_NOT_FOUND)"},
		{file: "error-notfound-7.0.txt", code: "VBOX_E_OBJECT_NOT_FOUND", notFound: true,
			line: "VBoxManage showvminfo: Could not find a registered machine named 'dev' (VBOX_E_OBJECT_NOT_FOUND)"},
		{file: "error-locked-modifyvm.txt", code: "VBOX_E_INVALID_OBJECT_STATE", locked: true,
			line: "VBoxManage showvminfo: The machine 'dev' is already locked for a session (or being unlocked) (VBOX_E_INVALID_OBJECT_STATE)"},
		{file: "error-locked-startvm.txt", code: "VBOX_E_INVALID_OBJECT_STATE", locked: true},
		{file: "error-locked-unregistervm.txt", code: "VBOX_E_INVALID_OBJECT_STATE", locked: true},
		{file: "error-vmx-root.txt", code: "NS_ERROR_FAILURE", status: "VERR_VMX_IN_VMX_ROOT_MODE",
			line: "VBoxManage showvminfo: VT-x is being used by another hypervisor (VERR_VMX_IN_VMX_ROOT_MODE) (NS_ERROR_FAILURE)"},
		{file: "error-svm-in-use.txt", code: "NS_ERROR_FAILURE", status: "VERR_SVM_IN_USE"},
		{file: "error-no-vmx.txt", code: "NS_ERROR_FAILURE", status: "VERR_VMX_NO_VMX"},
		{file: "error-accessdenied.txt", code: "E_ACCESSDENIED",
			line: "VBoxManage showvminfo: Access denied (E_ACCESSDENIED)"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			e := ParseError([]string{"showvminfo", "dev"}, readFile(t, tc.file), errors.New("exit status 1"))
			if e.Code != tc.code || e.Status != tc.status || errors.Is(e, drivers.ErrNotFound) != tc.notFound || isLocked(e) != tc.locked {
				t.Errorf("code %q status %q notFound %v locked %v", e.Code, e.Status, errors.Is(e, drivers.ErrNotFound), isLocked(e))
			}
			if tc.line != "" && e.Error() != tc.line {
				t.Errorf("Error() = %q, want %q", e.Error(), tc.line)
			}
			if strings.Contains(e.Error(), "\n") || strings.Contains(e.Error(), "Context") {
				t.Errorf("Error() = %q", e.Error())
			}
		})
	}
	// No error line: the last other line, never a progress line.
	e := ParseError([]string{"convertfromraw"}, "0%...10%...100%\nSyntax error: Invalid parameter '--bogus'\n", errors.New("exit status 2"))
	if e.Error() != "VBoxManage convertfromraw: Syntax error: Invalid parameter '--bogus'" {
		t.Errorf("Error() = %q", e.Error())
	}
	if e := ParseError([]string{"list"}, "", errors.New("signal: killed")); e.Error() != "VBoxManage list: signal: killed" {
		t.Errorf("Error() = %q", e.Error())
	}
}

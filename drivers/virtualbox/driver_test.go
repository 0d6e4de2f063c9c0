package virtualbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/drivers/drivertest"
	"github.com/machine-cli/machine/internal/sshkey"
	"github.com/machine-cli/machine/internal/testio"
	"github.com/machine-cli/machine/internal/vmready"
	"github.com/machine-cli/machine/libmachine/vmimage"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got with testdata/name, or writes it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to rewrite it):\n--- got\n%s--- want\n%s", name, got, want)
	}
}

// testHost is a Linux host with VT-x, no networks.conf, a LAN on eth0 and
// VirtualBox's fake.
type testHost struct {
	fake    *fakeVBox
	goos    string
	cpuinfo string
	conf    string
	ifaces  []hostInterface
	notes   *testio.Buffer
	debug   *testio.Buffer
}

func newHost(t *testing.T, version string) *testHost {
	return &testHost{
		fake: newFake(t, version), goos: "linux", cpuinfo: filepath.Join("testdata", "cpuinfo-vmx.txt"),
		conf: filepath.Join(t.TempDir(), "networks.conf"),
		ifaces: []hostInterface{
			{Name: "lo", Up: true, Loop: true, Addrs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}},
			{Name: "eth0", Up: true, Addrs: []netip.Prefix{netip.MustParsePrefix("10.20.0.15/24")}},
		},
		notes: new(testio.Buffer), debug: new(testio.Buffer),
	}
}

// driver is a driver for machine name in a new store on host h.
func (h *testHost) driver(t *testing.T, name string) *Driver {
	t.Helper()
	d := NewDriver().(*Driver)
	d.MachineName, d.StorePath = name, t.TempDir()
	h.wire(d)
	if err := os.MkdirAll(d.dir(), 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

// wire points d at h.
func (h *testHost) wire(d *Driver) {
	d.vbm, d.goos, d.goarch, d.cpuinfo, d.networksConf = h.fake, h.goos, "amd64", h.cpuinfo, h.conf
	d.networkLockPath = filepath.Join(filepath.Dir(h.conf), networkLock)
	d.interfaces = func() ([]hostInterface, error) { return h.ifaces, nil }
	d.notify = func(s string) { _, _ = h.notes.Write([]byte(s + "\n")) }
	d.debug = h.debug
	d.stat = func(p string) (os.FileInfo, error) {
		if p == "/home" || p == `C:\Users` || p == "/Users" {
			return nil, nil
		}
		return os.Stat(p)
	}
}

// rawImage writes a small raw disk image and returns its path.
func rawImage(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "debian.raw")
	if err := os.WriteFile(p, bytes.Repeat([]byte{0}, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestVMCommands: the commands that make the VM, per flag combination
// (golden files vm-*.golden).
func TestVMCommands(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts drivers.Options
		goos string
		kind string
	}{
		{name: "defaults", opts: drivers.Options{}},
		{name: "given", opts: drivers.Options{FlagMemory: 4096, FlagCPUCount: 4, FlagNATNicType: "virtio",
			FlagHostOnlyNicType: "Am79C973", FlagHostOnlyPromisc: "allow-all", FlagHostDNSResolver: true, FlagNoDNSProxy: true}},
		{name: "no-share", opts: drivers.Options{FlagNoShare: true}},
		{name: "share-folder", opts: drivers.Options{FlagShareFolder: "/srv/projects:projects"}},
		{name: "windows", goos: "windows", opts: drivers.Options{}},
		{name: "macos-hostonlynet", goos: "darwin", kind: KindNetwork, opts: drivers.Options{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, "7.0.14r161095")
			if tc.goos != "" {
				h.goos = tc.goos
			}
			d := h.driver(t, "dev")
			if err := d.SetConfigFromFlags(t.Context(), tc.opts); err != nil {
				t.Fatal(err)
			}
			if tc.name == "share-folder" {
				d.stat = func(string) (os.FileInfo, error) { return nil, nil }
			}
			d.SSHPort, d.EnginePort, d.IPAddress, d.HostOnlyBits = 40022, 40376, "192.168.59.3", 24
			d.HostOnly = HostOnly{Kind: KindInterface, Name: "vboxnet1"}
			if tc.kind == KindNetwork {
				d.HostOnly = HostOnly{Kind: KindNetwork, Name: "machine-192.168.59.0-24"}
			}
			for _, c := range d.vmCommands() {
				if _, err := h.fake.Run(t.Context(), c...); err != nil {
					t.Fatal(err)
				}
			}
			golden(t, "vm-"+tc.name+".golden", h.fake.rendered(d))
			if tc.goos == "windows" {
				h.fake.reset()
				if _, err := d.setUpHostOnly(t.Context(), h.fake, Version{Major: 7}, netip.MustParsePrefix("192.168.59.1/24")); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(h.notes.String(), "Windows may ask for permission to create and configure a network adapter") {
					t.Errorf("notes:\n%s", h.notes)
				}
			}
		})
	}
}

// TestCreateRollback: a create that fails at startvm (KVM holds VT-x)
// says what to do in one line, and Remove then takes away everything it
// made: the VM, its disk and seed, the host-only interface with its DHCP
// server, the address; the commands of both are golden.
func TestCreateRollback(t *testing.T) {
	for _, tc := range []struct {
		name, version, goos, fail, want string
	}{
		{"virtualbox-6.1", "6.1.50r161033", "linux", "error-vmx-root.txt", "sudo modprobe -r kvm_intel"},
		{"virtualbox-7.0", "7.0.14r161095", "linux", "error-svm-in-use.txt", "sudo modprobe -r kvm_amd"},
		{"virtualbox-7.0-macos", "7.0.14r161095", "darwin", "error-locked-startvm.txt", "is locked by another session"},
		{"createvm-fails", "7.0.14r161095", "linux", "error-createvm-exists.txt", "VBoxManage createvm: Machine settings file '/home/me/.docker/machine/machines/dev/dev/dev.vbox' already exists (VBOX_E_FILE_ERROR)"},
		{"storagectl-fails", "7.0.14r161095", "linux", "error-locked-modifyvm.txt", "the VirtualBox VM dev is locked by another session"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, tc.version)
			h.goos = tc.goos
			cmd, _, _ := strings.Cut(tc.name, "-fails")
			if cmd == tc.name {
				cmd = "startvm"
			}
			h.fake.failWith(cmd, tc.fail)
			d := h.driver(t, "dev")
			if err := d.SetConfigFromFlags(t.Context(), drivers.Options{FlagImageURL: rawImage(t)}); err != nil {
				t.Fatal(err)
			}
			if err := d.PreCreateCheck(t.Context()); err != nil {
				t.Fatal(err)
			}
			err := d.Create(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("create = %v, want one line with %q", err, tc.want)
			}
			if d.IPAddress != "192.168.59.3" {
				t.Errorf("address %q, want 192.168.59.3", d.IPAddress)
			}
			golden(t, "create-"+tc.name+".golden", h.fake.rendered(d))
			// The config travels back to libmachine, which calls Remove
			// on a fresh driver loaded from it.
			data, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			back := NewDriver().(*Driver)
			if err := json.Unmarshal(data, back); err != nil {
				t.Fatal(err)
			}
			h.wire(back)
			h.fake.reset()
			if err := back.Remove(t.Context()); err != nil {
				t.Fatal(err)
			}
			golden(t, "remove-"+tc.name+".golden", h.fake.rendered(back))
			if len(h.fake.vms) != 0 || len(h.fake.ifs) != 0 || len(h.fake.nets) != 0 || len(h.fake.dhcp) != 0 {
				t.Errorf("left in VirtualBox: vms %v, interfaces %v, networks %v, DHCP %v", h.fake.vms, h.fake.ifs, h.fake.nets, h.fake.dhcp)
			}
			left, _ := os.ReadDir(d.dir())
			for _, e := range left {
				if e.Name() != KeyFile && e.Name() != KeyFile+".pub" {
					t.Errorf("left in the machine's directory: %s", e.Name())
				}
			}
		})
	}
}

// TestRemoveKeepsShared: the host-only interface a machine made stays
// while another machine of the store, or another VM, is on it.
func TestRemoveKeepsShared(t *testing.T) {
	h := newHost(t, "7.0.14r161095")
	h.fake.failWith("startvm", "error-vmx-root.txt")
	d := h.driver(t, "a")
	if err := d.SetConfigFromFlags(t.Context(), drivers.Options{FlagImageURL: rawImage(t)}); err != nil {
		t.Fatal(err)
	}
	_ = d.Create(t.Context())
	if !d.HostOnly.Created {
		t.Fatalf("host-only %+v, want created by a", d.HostOnly)
	}
	// Machine b of the same store has an address on the network.
	if err := os.MkdirAll(filepath.Join(d.StorePath, "machines", "b"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := d.pool().Allocate("b", []string{"192.168.59.4"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(h.fake.ifs) != 1 || len(h.fake.dhcp) != 1 {
		t.Errorf("interfaces %v, DHCP %v: want the shared ones kept", h.fake.ifs, h.fake.dhcp)
	}
	// Another VM on it.
	h.fake.vms["other"] = &fakeVM{name: "other", state: "running", hostonly: h.fake.ifs[0].Name}
	if err := d.pool().Release("b"); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(h.fake.ifs) != 1 {
		t.Errorf("interfaces %v: want it kept for VM other", h.fake.ifs)
	}
	delete(h.fake.vms, "other")
	if err := d.Remove(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(h.fake.ifs) != 0 || len(h.fake.dhcp) != 0 {
		t.Errorf("interfaces %v, DHCP %v: want them gone with their last user", h.fake.ifs, h.fake.dhcp)
	}
}

// TestPreCreateCheck: each problem found before anything is made is one
// line saying what to do, and nothing was created.
func TestPreCreateCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version string
		goos    string
		opts    drivers.Options
		setup   func(t *testing.T, h *testHost)
		want    string // "" for no error
		is      error
	}{
		{name: "fine", version: "7.0.14r161095"},
		{name: "VirtualBox 6.0", version: "6.0.24r139119", want: "VirtualBox 6.0.24 is older than 6.1"},
		{name: "no VT-x", version: "7.0.14r161095", setup: func(t *testing.T, h *testHost) { h.cpuinfo = "testdata/cpuinfo-none.txt" },
			want: "no vmx or svm flag in testdata/cpuinfo-none.txt"},
		{name: "AMD-V", version: "7.0.14r161095", setup: func(t *testing.T, h *testHost) { h.cpuinfo = "testdata/cpuinfo-svm.txt" }},
		{name: "no VT-x check", version: "7.0.14r161095", opts: drivers.Options{FlagNoVTXCheck: true},
			setup: func(t *testing.T, h *testHost) { h.cpuinfo = "testdata/cpuinfo-none.txt" }},
		{name: "docker-machine's CIDR", version: "6.1.50r161033", opts: drivers.Options{FlagHostOnlyCIDR: "192.168.99.1/24"},
			want: `--virtualbox-hostonly-cidr 192.168.99.1/24 is outside the host-only ranges VirtualBox allows (192.168.56.0/21; VirtualBox's default, as `},
		{name: "networks.conf names the line", version: "7.0.14r161095", opts: drivers.Options{FlagHostOnlyCIDR: "172.16.5.1/24"},
			setup: func(t *testing.T, h *testHost) { h.conf = "testdata/networks.conf" },
			want:  `(10.0.0.0/8 192.168.0.0/16 2001::/64; testdata/networks.conf): add the line "* 172.16.5.0/24" to testdata/networks.conf (as root)`},
		{name: "networks.conf allows", version: "7.0.14r161095", opts: drivers.Options{FlagHostOnlyCIDR: "10.10.0.1/16"},
			setup: func(t *testing.T, h *testHost) { h.conf = "testdata/networks.conf" }},
		{name: "before 6.1.28", version: "6.1.26r145957", opts: drivers.Options{FlagHostOnlyCIDR: "192.168.99.1/24"}},
		{name: "windows", version: "7.0.14r161095", goos: "windows", opts: drivers.Options{FlagHostOnlyCIDR: "192.168.99.1/24"}},
		{name: "host interface collides", version: "7.0.14r161095",
			setup: func(t *testing.T, h *testHost) {
				h.ifaces = append(h.ifaces, hostInterface{Name: "wlan0", Up: true, Addrs: []netip.Prefix{netip.MustParsePrefix("192.168.59.23/24")}})
			},
			want: "--virtualbox-hostonly-cidr 192.168.59.1/24 collides with the host's interface wlan0 (192.168.59.23/24), which is not VirtualBox's"},
		{name: "VirtualBox's own interface", version: "7.0.14r161095",
			setup: func(t *testing.T, h *testHost) {
				h.fake.ifs = []HostOnlyIf{{Name: "vboxnet0", Prefix: netip.MustParsePrefix("192.168.59.1/24")}}
				h.ifaces = append(h.ifaces, hostInterface{Name: "vboxnet0", Up: true, Addrs: []netip.Prefix{netip.MustParsePrefix("192.168.59.1/24")}})
			}},
		{name: "VirtualBox's own interface on Windows", version: "7.0.14r161095", goos: "windows",
			setup: func(t *testing.T, h *testHost) {
				h.fake.ifs = ParseHostOnlyIfs(readFile(t, "hostonlyifs-7.0-windows.txt"))
				h.ifaces = append(h.ifaces, hostInterface{Name: "Ethernet 3", Up: true, Addrs: []netip.Prefix{netip.MustParsePrefix("192.168.59.1/24")}})
			}},
		{name: "VirtualBox interface of another address", version: "7.0.14r161095",
			setup: func(t *testing.T, h *testHost) {
				h.fake.ifs = []HostOnlyIf{{Name: "vboxnet3", Prefix: netip.MustParsePrefix("192.168.59.5/24")}}
			},
			want: "overlaps VirtualBox's host-only interface vboxnet3 (192.168.59.5/24): give its address, --virtualbox-hostonly-cidr 192.168.59.5/24, to share it"},
		{name: "macOS host-only network", version: "7.0.14r161095", goos: "darwin",
			setup: func(t *testing.T, h *testHost) {
				h.fake.nets = ParseHostOnlyNets(readFile(t, "hostonlynets-7.0.txt"))
				h.ifaces = append(h.ifaces, hostInterface{Name: "bridge101", Up: true, Addrs: []netip.Prefix{netip.MustParsePrefix("192.168.59.1/24")}})
			}},
		{name: "VM name taken", version: "7.0.14r161095",
			setup: func(t *testing.T, h *testHost) {
				h.fake.vms["dev"] = &fakeVM{name: "dev", state: "poweroff", cfg: "/elsewhere/dev.vbox"}
			},
			want: `a VirtualBox VM named "dev" exists already, which this store did not make`, is: drivers.ErrAlreadyExists},
		{name: "import missing", version: "7.0.14r161095", opts: drivers.Options{FlagImportVM: "old"},
			want: "--virtualbox-import-boot2docker-vm old: VirtualBox has no VM of that name", is: drivers.ErrInvalidConfig},
		{name: "import boot2docker", version: "7.0.14r161095", opts: drivers.Options{FlagImportVM: "default"},
			setup: func(t *testing.T, h *testHost) {
				h.fake.vms["default"] = &fakeVM{name: "default", info: ParseMachineInfo(readFile(t, "showvminfo-6.1-boot2docker.txt"))}
			},
			want: "the VM boots boot2docker from its DVD", is: drivers.ErrInvalidConfig},
		{name: "import running", version: "7.0.14r161095", opts: drivers.Options{FlagImportVM: "dev2"},
			setup: func(t *testing.T, h *testHost) {
				h.fake.vms["dev2"] = &fakeVM{name: "dev2", info: ParseMachineInfo(readFile(t, "showvminfo-6.1-running.txt"))}
			},
			want: "--virtualbox-import-boot2docker-vm dev2: the VM is running; stop it first"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, tc.version)
			if tc.goos != "" {
				h.goos = tc.goos
			}
			if tc.setup != nil {
				tc.setup(t, h)
			}
			d := h.driver(t, "dev")
			if err := d.SetConfigFromFlags(t.Context(), tc.opts); err != nil {
				t.Fatal(err)
			}
			err := d.PreCreateCheck(t.Context())
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line with %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, want it to wrap %v", err, tc.is)
			}
			for _, c := range h.fake.calls {
				if c[0] != "--version" && c[0] != "list" && c[0] != "showvminfo" {
					t.Errorf("the check ran %q", c)
				}
			}
		})
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestVBoxManageMissing: without VBoxManage, the check says to install
// VirtualBox, and Remove of a machine that made nothing succeeds.
func TestVBoxManageMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	d := NewDriver().(*Driver)
	d.MachineName, d.StorePath, d.goos = "dev", t.TempDir(), "linux"
	err := d.PreCreateCheck(t.Context())
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "install VirtualBox 6.1 or 7") {
		t.Errorf("err = %v", err)
	}
	if err := d.Remove(t.Context()); err != nil {
		t.Errorf("remove = %v", err)
	}
	if _, err := d.GetState(t.Context()); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("state err = %v", err)
	}
}

// TestLifecycle: start, state, stop, kill, restart and remove of a made
// VM through the fake.
func TestLifecycle(t *testing.T) {
	ctx := t.Context()
	h := newHost(t, "6.1.50r161033")
	d := h.driver(t, "dev")
	if err := d.SetConfigFromFlags(ctx, drivers.Options{}); err != nil {
		t.Fatal(err)
	}
	var err error
	if d.SSHPort, d.EnginePort, err = freePorts(); err != nil {
		t.Fatal(err)
	}
	d.IPAddress, d.HostOnlyBits = "192.168.59.3", 24
	d.HostOnly = HostOnly{Kind: KindInterface, Name: "vboxnet0"}
	for _, c := range d.vmCommands() {
		if _, err := h.fake.Run(ctx, c...); err != nil {
			t.Fatal(err)
		}
	}
	state := func(want drivers.State) {
		t.Helper()
		if st, err := d.GetState(ctx); st != want || err != nil {
			t.Fatalf("state = %s, %v; want %s", st, err, want)
		}
	}
	state(drivers.Stopped)
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	state(drivers.Running)
	if err := d.Start(ctx); err != nil {
		t.Errorf("start of a running VM: %v", err)
	}
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	state(drivers.Stopped)
	if err := d.Stop(ctx); err != nil {
		t.Errorf("stop of a stopped VM: %v", err)
	}
	if err := d.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	state(drivers.Running)
	if err := d.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	state(drivers.Stopped)
	if err := d.Kill(ctx); err != nil {
		t.Errorf("kill of a stopped VM: %v", err)
	}
	// A guest that ignores the power button is powered off.
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	h.fake.acpiIgnored, d.stopGrace = true, 1500*time.Millisecond
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	state(drivers.Stopped)
	if !strings.Contains(h.notes.String(), "did not power down within 1.5s; powering it off") {
		t.Errorf("notes:\n%s", h.notes)
	}
	// A paused VM resumes on start.
	h.fake.vms["dev"].state = "paused"
	state(drivers.Paused)
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	state(drivers.Running)
	var acts []string
	for _, line := range strings.Split(h.fake.rendered(d), "\n") {
		if strings.HasPrefix(line, "VBoxManage startvm") || strings.HasPrefix(line, "VBoxManage controlvm") {
			acts = append(acts, strings.TrimPrefix(line, "VBoxManage "))
		}
	}
	want := []string{
		"startvm dev --type headless", "controlvm dev acpipowerbutton", // start, stop
		"startvm dev --type headless",                                                            // restart of a stopped VM
		"controlvm dev poweroff",                                                                 // kill
		"startvm dev --type headless", "controlvm dev acpipowerbutton", "controlvm dev poweroff", // a deaf guest
		"controlvm dev resume",
	}
	if strings.Join(acts, "\n") != strings.Join(want, "\n") {
		t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(acts, "\n"), strings.Join(want, "\n"))
	}
	if err := d.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.fake.vms["dev"]; ok {
		t.Error("the VM is still registered")
	}
	if st, err := d.GetState(ctx); st != drivers.Error || !errors.Is(err, drivers.ErrNotFound) {
		t.Errorf("state of the removed VM = %s, %v; want Error, ErrNotFound", st, err)
	}
	for name, op := range map[string]func(context.Context) error{"start": d.Start, "stop": d.Stop, "kill": d.Kill} {
		if err := op(ctx); !errors.Is(err, drivers.ErrNotFound) {
			t.Errorf("%s of the removed VM = %v, want ErrNotFound", name, err)
		}
	}
	if err := d.Remove(ctx); err != nil {
		t.Errorf("second remove = %v", err)
	}
}

// TestLifecycleErrors: a locked VM, ports taken since create, a VM of the
// machine's name that is not the machine's.
func TestLifecycleErrors(t *testing.T) {
	ctx := t.Context()
	h := newHost(t, "7.0.14r161095")
	d := h.driver(t, "dev")
	if err := d.SetConfigFromFlags(ctx, drivers.Options{}); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	d.SSHPort, d.EnginePort = l.Addr().(*net.TCPAddr).Port, 1
	h.fake.vms["dev"] = &fakeVM{name: "dev", state: "poweroff", cfg: filepath.Join(d.vmDir(), "dev.vbox")}
	if err := d.Start(ctx); err == nil || !strings.Contains(err.Error(), "are fixed at create") || strings.Contains(err.Error(), "\n") {
		t.Errorf("start with its SSH port taken = %v", err)
	}
	h.fake.vms["dev"].state = "running"
	h.fake.failWith("controlvm dev acpipowerbutton", "error-locked-modifyvm.txt")
	if err := d.Stop(ctx); err == nil || !strings.Contains(err.Error(), "the VirtualBox VM dev is locked by another session (the VirtualBox window or another VBoxManage command): close it") {
		t.Errorf("stop of a locked VM = %v", err)
	}
	// rm of a locked VM says what to do, and keeps the VM's network.
	h.fake.vms["dev"].state = "poweroff"
	h.fake.failWith("unregistervm", "error-locked-unregistervm.txt")
	if err := d.Remove(ctx); err == nil || !strings.Contains(err.Error(), "the VirtualBox VM dev is locked by another session") {
		t.Errorf("remove of a locked VM = %v", err)
	}
	delete(h.fake.fail, "unregistervm")
	// A VM of the same name whose settings are elsewhere is not removed.
	h.fake.vms["dev"].cfg = "/home/someone/VirtualBox VMs/dev/dev.vbox"
	if err := d.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.fake.vms["dev"]; !ok {
		t.Error("remove deleted a VM that is not the machine's")
	}
	if !strings.Contains(h.debug.String(), "leaving the VirtualBox VM dev alone") {
		t.Errorf("debug:\n%s", h.debug)
	}
}

// TestEndpoint: no endpoint before create; the host-only address as IP
// and private IP, loopback with the forwarded ports for SSH and the
// engine, surviving the trip through JSON.
func TestEndpoint(t *testing.T) {
	h := newHost(t, "7.0.14r161095")
	d := h.driver(t, "dev")
	if ep, err := d.GetEndpoint(t.Context()); err == nil {
		t.Errorf("endpoint before create: %+v", ep)
	}
	d.IPAddress, d.HostOnlyBits, d.SSHPort, d.EnginePort = "192.168.59.3", 24, 40022, 40376
	d.SSHKeyPath = d.path(KeyFile)
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	back := NewDriver().(*Driver)
	if err := json.Unmarshal(data, back); err != nil {
		t.Fatal(err)
	}
	ep, err := back.GetEndpoint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := drivers.Endpoint{IP: "192.168.59.3", PrivateIP: "192.168.59.3", URL: "tcp://127.0.0.1:40376", SSHHostname: "127.0.0.1",
		SSHPort: 40022, SSHUser: "docker", SSHKeyPath: d.path(KeyFile), Static: true}
	if ep != want {
		t.Errorf("endpoint = %+v, want %+v", ep, want)
	}
}

// TestSeedConfig: the seed's NICs carry the MACs the VM's NICs get, the
// host-only one its static address.
func TestSeedConfig(t *testing.T) {
	h := newHost(t, "7.0.14r161095")
	d := h.driver(t, "dev")
	d.IPAddress, d.HostOnlyBits = "192.168.59.3", 24
	pub, err := sshkey.Ensure(d.path(KeyFile), "test")
	if err != nil {
		t.Fatal(err)
	}
	c := d.seedConfig(pub)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(c.NICs) != 2 || c.NICs[0].MAC != colonMAC(d.mac("nat")) || !c.NICs[0].DHCP ||
		c.NICs[1].MAC != colonMAC(d.mac("hostonly")) || c.NICs[1].Addresses[0].String() != "192.168.59.3/24" {
		t.Errorf("NICs = %+v", c.NICs)
	}
	if m := d.mac("nat"); len(m) != 12 || !strings.HasPrefix(m, "080027") || colonMAC(m)[:9] != "08:00:27:" {
		t.Errorf("MAC %q", m)
	}
	if other := h.driver(t, "dev2"); other.mac("nat") == d.mac("nat") {
		t.Error("two machines share a MAC")
	}
	if d.osType() != "Debian_64" {
		t.Errorf("OS type on amd64: %s", d.osType())
	}
	if d.goarch = "arm64"; d.osType() != "Debian_arm64" {
		t.Errorf("OS type on arm64: %s", d.osType())
	}
}

// TestConformance runs the drivers' conformance suite on a machine never
// created, VirtualBox answering through the fake.
func TestConformance(t *testing.T) {
	drivertest.Suite(t, func(t *testing.T) drivers.Driver {
		return newHost(t, "7.0.14r161095").driver(t, "suite")
	})
}

// TestRemoveFiles: Remove deletes the driver's files and the VM's folder
// and keeps the machine's key.
func TestRemoveFiles(t *testing.T) {
	h := newHost(t, "7.0.14r161095")
	d := h.driver(t, "dev")
	for _, f := range []string{DiskFile, SeedFile, SerialLog, AddressFile, KeyFile, filepath.Join(d.MachineName, "Logs", "VBox.log")} {
		p := d.path(f)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Remove(t.Context()); err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(d.dir())
	if len(left) != 1 || left[0].Name() != KeyFile {
		t.Errorf("after remove the directory holds %v, want only %s", left, KeyFile)
	}
	if _, err := os.Stat(d.vmDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("VM folder: %v", err)
	}
}

// TestShareNote: --debug says that a cloud image does not mount the
// shared folder by itself; an absent directory is not shared.
func TestShareNote(t *testing.T) {
	h := newHost(t, "7.0.14r161095")
	d := h.driver(t, "dev")
	if err := d.SetConfigFromFlags(t.Context(), drivers.Options{}); err != nil {
		t.Fatal(err)
	}
	if dir, name, ok := d.share(); !ok || dir != "/home" || name != "hosthome" {
		t.Fatalf("share = %q %q %v", dir, name, ok)
	}
	if !strings.Contains(h.debug.String(), "guest additions (vboxsf), which a cloud image lacks") {
		t.Errorf("debug:\n%s", h.debug)
	}
	d.Settings.ShareFolder = filepath.Join(t.TempDir(), "gone") + ":gone"
	if _, _, ok := d.share(); ok {
		t.Error("a missing directory is shared")
	}
	d.Settings.NoShare = true
	if _, _, ok := d.share(); ok {
		t.Error("shared despite --virtualbox-no-share")
	}
}

// TestCreateConcurrent: machines created at once, in one store and in
// another, share one host-only interface for their CIDR and get distinct
// addresses.
func TestCreateConcurrent(t *testing.T) {
	h := newHost(t, "7.0.14r161095")
	h.fake.failWith("startvm", "error-vmx-root.txt")
	img := rawImage(t)
	first, other := h.driver(t, "m0"), h.driver(t, "o0")
	ds := []*Driver{first, other}
	for i, name := range []string{"m1", "m2", "m3", "o1"} {
		d := NewDriver().(*Driver)
		d.MachineName, d.StorePath = name, first.StorePath
		if i == 3 {
			d.StorePath = other.StorePath
		}
		h.wire(d)
		ds = append(ds, d)
	}
	errs := make(chan error, len(ds))
	for _, d := range ds {
		if err := d.SetConfigFromFlags(t.Context(), drivers.Options{FlagImageURL: img}); err != nil {
			t.Fatal(err)
		}
		go func() { errs <- d.Create(t.Context()) }()
	}
	for range ds {
		if err := <-errs; err == nil || !strings.Contains(err.Error(), "VERR_VMX_IN_VMX_ROOT_MODE") {
			t.Errorf("create = %v", err)
		}
	}
	if len(h.fake.ifs) != 1 || len(h.fake.dhcp) != 1 {
		t.Errorf("interfaces %+v, DHCP servers %+v: want one each", h.fake.ifs, h.fake.dhcp)
	}
	seen := map[string]bool{}
	for _, d := range ds {
		if seen[d.IPAddress] || d.HostOnly.Name != h.fake.ifs[0].Name {
			t.Errorf("%s: %s on %s", d.MachineName, d.IPAddress, d.HostOnly.Name)
		}
		seen[d.IPAddress] = true
	}
}

// TestCreateImport: --virtualbox-import-boot2docker-vm clones the other
// VM's disk (leaving it registered) and keeps its CPUs and memory.
func TestCreateImport(t *testing.T) {
	h := newHost(t, "7.0.14r161095")
	h.fake.vms["old"] = &fakeVM{name: "old", info: ParseMachineInfo(readFile(t, "showvminfo-7.0-poweroff.txt"))}
	h.fake.failWith("startvm", "error-no-vmx.txt")
	d := h.driver(t, "dev")
	if err := d.SetConfigFromFlags(t.Context(), drivers.Options{FlagImportVM: "old"}); err != nil {
		t.Fatal(err)
	}
	if err := d.PreCreateCheck(t.Context()); err != nil {
		t.Fatal(err)
	}
	err := d.Create(t.Context())
	if err == nil || !strings.Contains(err.Error(), "VT-x/AMD-V is not available (VERR_VMX_NO_VMX)") {
		t.Fatalf("create = %v", err)
	}
	golden(t, "create-import.golden", h.fake.rendered(d))
	if d.Image != "" || d.Settings.CPUs != 2 || d.Settings.MemoryMB != 2048 {
		t.Errorf("image %q, %d CPUs, %d MB", d.Image, d.Settings.CPUs, d.Settings.MemoryMB)
	}
}

// TestCreateImageChecksum: an image that does not match
// --virtualbox-image-checksum fails the create before VirtualBox is
// asked to make anything.
func TestCreateImageChecksum(t *testing.T) {
	h := newHost(t, "7.0.14r161095")
	d := h.driver(t, "dev")
	if err := d.SetConfigFromFlags(t.Context(), drivers.Options{FlagImageURL: rawImage(t),
		FlagImageChecksum: "sha256:" + strings.Repeat("0", 64)}); err != nil {
		t.Fatal(err)
	}
	if err := d.PreCreateCheck(t.Context()); err != nil {
		t.Fatal(err)
	}
	h.fake.reset()
	err := d.Create(t.Context())
	if !errors.Is(err, vmimage.ErrChecksumMismatch) {
		t.Fatalf("create = %v, want a checksum mismatch", err)
	}
	if len(h.fake.calls) != 0 {
		t.Errorf("VirtualBox was asked: %q", h.fake.calls)
	}
}

// TestStartUIType: --virtualbox-ui-type is startvm's --type.
func TestStartUIType(t *testing.T) {
	h := newHost(t, "6.1.50r161033")
	d := h.driver(t, "dev")
	if err := d.SetConfigFromFlags(t.Context(), drivers.Options{FlagUIType: "gui"}); err != nil {
		t.Fatal(err)
	}
	var err error
	if d.SSHPort, d.EnginePort, err = freePorts(); err != nil {
		t.Fatal(err)
	}
	d.IPAddress, d.HostOnlyBits, d.HostOnly = "192.168.59.3", 24, HostOnly{Kind: KindInterface, Name: "vboxnet0"}
	for _, c := range d.vmCommands() {
		if _, err := h.fake.Run(t.Context(), c...); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.fake.rendered(d), "VBoxManage startvm dev --type gui\n") {
		t.Errorf("commands:\n%s", h.fake.rendered(d))
	}
}

// TestStartRepairsHostOnly: a stopped VM whose host-only interface lost
// its address gets it back, and one whose interface is gone gets a new
// one on its second NIC, before it boots.
func TestStartRepairsHostOnly(t *testing.T) {
	ctx := t.Context()
	h := newHost(t, "6.1.50r161033")
	d := h.driver(t, "dev")
	if err := d.SetConfigFromFlags(ctx, drivers.Options{}); err != nil {
		t.Fatal(err)
	}
	var err error
	if d.SSHPort, d.EnginePort, err = freePorts(); err != nil {
		t.Fatal(err)
	}
	d.Version, d.IPAddress, d.HostOnlyBits = "6.1.50r161033", "192.168.59.3", 24
	d.HostOnly = HostOnly{Kind: KindInterface, Name: "vboxnet0", Created: true}
	h.fake.ifs = []HostOnlyIf{{Name: "vboxnet0", Prefix: netip.MustParsePrefix("169.254.12.7/16")}}
	for _, c := range d.vmCommands() {
		if _, err := h.fake.Run(ctx, c...); err != nil {
			t.Fatal(err)
		}
	}
	h.fake.reset()
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if got := h.fake.rendered(d); !strings.Contains(got, "VBoxManage list hostonlyifs\nVBoxManage hostonlyif ipconfig vboxnet0 --ip 192.168.59.1 --netmask 255.255.255.0\nVBoxManage startvm dev --type headless\n") {
		t.Errorf("commands:\n%s", got)
	}
	if err := d.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	// The interface is gone (a VirtualBox upgrade).
	h.fake.ifs = nil
	h.fake.reset()
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	want := "VBoxManage list hostonlyifs\nVBoxManage list hostonlyifs\nVBoxManage hostonlyif create\n" +
		"VBoxManage hostonlyif ipconfig vboxnet0 --ip 192.168.59.1 --netmask 255.255.255.0\nVBoxManage list dhcpservers\n" +
		"VBoxManage dhcpserver add --netname HostInterfaceNetworking-vboxnet0 --ip 192.168.59.2 --netmask 255.255.255.0 --lowerip 192.168.59.100 --upperip 192.168.59.254 --enable\n" +
		"VBoxManage modifyvm dev --hostonlyadapter2 vboxnet0\nVBoxManage startvm dev --type headless\n"
	if got := h.fake.rendered(d); !strings.Contains(got, want) {
		t.Errorf("commands:\n%s\nwant them to hold:\n%s", got, want)
	}
	if d.HostOnly != (HostOnly{Kind: KindInterface, Name: "vboxnet0", Created: true, DHCPAdded: true}) {
		t.Errorf("host-only %+v", d.HostOnly)
	}
}

// TestBootFails: a VM that stops during its boot fails the start at once,
// with its serial console's last lines.
func TestBootFails(t *testing.T) {
	h := newHost(t, "7.0.14r161095")
	h.fake.guru = true
	d := h.driver(t, "dev")
	if err := d.SetConfigFromFlags(t.Context(), drivers.Options{}); err != nil {
		t.Fatal(err)
	}
	var err error
	if d.SSHPort, d.EnginePort, err = freePorts(); err != nil {
		t.Fatal(err)
	}
	d.HostOnly = HostOnly{Kind: KindNetwork, Name: "machine-192.168.59.0-24"}
	d.IPAddress, d.HostOnlyBits = "192.168.59.3", 24
	for _, c := range d.vmCommands() {
		if _, err := h.fake.Run(t.Context(), c...); err != nil {
			t.Fatal(err)
		}
	}
	console := "BdsDxe: starting Boot0001\r\n[    0.000000] Linux version 6.12.41+deb13-amd64\r\n[    1.2] Kernel panic - not syncing: VFS: Unable to mount root fs\r\n"
	if err := os.WriteFile(d.path(SerialLog), []byte(console), 0o600); err != nil {
		t.Fatal(err)
	}
	err = d.Start(t.Context())
	var be *vmready.BootError
	if !errors.As(err, &be) || !strings.HasPrefix(err.Error(), "the VM is aborted, not running; last lines of its serial console") ||
		!strings.Contains(err.Error(), "Kernel panic - not syncing") {
		t.Fatalf("start = %v", err)
	}
	if !strings.Contains(h.notes.String(), "virtualbox: kernel (0 s)") {
		t.Errorf("notes:\n%s", h.notes)
	}
}

func TestStateOf(t *testing.T) {
	for vbox, want := range map[string]drivers.State{
		"running": drivers.Running, "paused": drivers.Paused, "saved": drivers.Saved, "poweroff": drivers.Stopped,
		"aborted": drivers.Stopped, "starting": drivers.Starting, "restoring": drivers.Starting, "stopping": drivers.Stopping,
		"saving": drivers.Stopping, "gurumeditation": drivers.Error, "teleporting": drivers.Error,
	} {
		if got := stateOf(vbox); got != want {
			t.Errorf("%s: %s, want %s", vbox, got, want)
		}
	}
	h := newHost(t, "7.0.14r161095")
	d := h.driver(t, "dev")
	h.fake.vms["dev"] = &fakeVM{name: "dev", state: "gurumeditation", cfg: filepath.Join(d.vmDir(), "dev.vbox")}
	if st, err := d.GetState(t.Context()); st != drivers.Error || err == nil || !strings.Contains(err.Error(), `the VM dev is "gurumeditation"`) {
		t.Errorf("state = %s, %v", st, err)
	}
	_ = d.Kill(t.Context()) // the fake powers off running and paused VMs only
	if !strings.Contains(h.fake.rendered(d), "VBoxManage controlvm dev poweroff\n") {
		t.Errorf("kill of a crashed VM did not power it off:\n%s", h.fake.rendered(d))
	}
}

package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/drivers/drivertest"
)

// newTestDriver is a driver for machine name in a store at root.
func newTestDriver(t *testing.T, root, name string) *Driver {
	t.Helper()
	d := NewDriver().(*Driver)
	d.MachineName, d.StorePath = name, root
	if err := os.MkdirAll(d.dir(), 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDriverSetConfigFromFlags(t *testing.T) {
	tests := []struct {
		name string
		opts drivers.Options
		want Settings
		err  string
	}{
		{"defaults", drivers.Options{}, Settings{MemoryMB: 2048, CPUs: 2, DiskSizeMB: 20000, Accel: AccelAuto}, ""},
		{"given", drivers.Options{FlagMemory: 4096, FlagCPUCount: 4, FlagImageURL: "http://127.0.0.1:1/i.qcow2", FlagSSHPort: 2222},
			Settings{MemoryMB: 4096, CPUs: 4, DiskSizeMB: 20000, Accel: AccelAuto, ImageURL: "http://127.0.0.1:1/i.qcow2", SSHPort: 2222}, ""},
		{"invalid", drivers.Options{FlagAccel: "xen"}, Settings{}, `--qemu-accel "xen": use auto, kvm, hvf or tcg`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDriver().(*Driver)
			err := d.SetConfigFromFlags(context.Background(), tt.opts)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, drivers.ErrInvalidConfig) {
					t.Fatalf("err = %v, want %q wrapping ErrInvalidConfig", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Settings != tt.want {
				t.Errorf("settings = %+v, want %+v", d.Settings, tt.want)
			}
			if u, _ := d.GetSSHUsername(context.Background()); u != SSHUser {
				t.Errorf("SSH user = %q, want %q", u, SSHUser)
			}
		})
	}
}

// TestDriverMeshIP: each machine of a store gets its own mesh address,
// also when they are allocated at once; a removed machine's address is
// free again; another store starts over.
func TestDriverMeshIP(t *testing.T) {
	root := t.TempDir()
	names := []string{"a", "b", "c", "d", "e"}
	got := make([]string, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		d := newTestDriver(t, root, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ip, err := d.allocateMeshIP()
			if err != nil {
				t.Error(err)
			}
			got[i] = ip
		}()
	}
	wg.Wait()
	sorted := append([]string(nil), got...)
	sort.Strings(sorted)
	want := []string{"192.168.76.2", "192.168.76.3", "192.168.76.4", "192.168.76.5", "192.168.76.6"}
	if strings.Join(sorted, " ") != strings.Join(want, " ") {
		t.Fatalf("addresses = %v, want %v", sorted, want)
	}
	// Machine "a" goes: its address is the next one given.
	gone := newTestDriver(t, root, "a")
	gone.MeshIP = got[0]
	if err := gone.Remove(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ip, err := newTestDriver(t, root, "f").allocateMeshIP(); err != nil || ip != got[0] {
		t.Errorf("after a's removal: %q, %v; want a's %q", ip, err, got[0])
	}
	if ip, err := newTestDriver(t, t.TempDir(), "a").allocateMeshIP(); err != nil || ip != "192.168.76.2" {
		t.Errorf("another store: %q, %v; want 192.168.76.2", ip, err)
	}
}

// TestDriverSeedAndConfig: the seed has the machine's user, key, host name
// and both NICs with the MACs QEMU's command line gives them.
func TestDriverSeedAndConfig(t *testing.T) {
	d := newTestDriver(t, t.TempDir(), "dev")
	d.MeshIP = "192.168.76.7"
	d.Binary, d.Arch, d.Accel = "/usr/bin/qemu-system-x86_64", "x86_64", AccelTCG
	d.Firmware = Firmware{Code: "/fw/CODE.fd", Vars: "/fw/VARS.fd"}
	d.Settings = Settings{MemoryMB: 2048, CPUs: 2, DiskSizeMB: 20000}
	d.SSHPort, d.EnginePort = 40022, 40376
	seed := d.seedConfig("ssh-ed25519 AAAA test")
	if seed.User != "docker" || seed.Hostname != "dev" || len(seed.SSHAuthorizedKeys) != 1 {
		t.Errorf("seed = %+v", seed)
	}
	c := d.config()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(seed.NICs) != 2 || seed.NICs[0].MAC != c.MAC || !seed.NICs[0].DHCP || seed.NICs[1].MAC != c.Mesh.MAC ||
		len(seed.NICs[1].Addresses) != 1 || seed.NICs[1].Addresses[0].String() != "192.168.76.7/24" {
		t.Errorf("NICs = %+v, QEMU's MACs %s and %s", seed.NICs, c.MAC, c.Mesh.MAC)
	}
	if c.Mesh.Group != MeshGroup(d.StorePath) || c.Disk != filepath.Join(d.dir(), DiskFile) || c.Seed != filepath.Join(d.dir(), SeedFile) {
		t.Errorf("config = %+v", c)
	}
	// The NICs' MACs are the machine's own.
	if other := newTestDriver(t, d.StorePath, "dev2"); other.mac("lan") == d.mac("lan") {
		t.Error("two machines share a MAC")
	}
}

// TestDriverEndpoint: no endpoint before create (libmachine then checks
// the address after create); loopback with the forwarded ports and the
// mesh address as private IP after, surviving the trip through JSON.
func TestDriverEndpoint(t *testing.T) {
	ctx := context.Background()
	d := newTestDriver(t, t.TempDir(), "dev")
	if ep, err := d.GetEndpoint(ctx); err == nil {
		t.Errorf("endpoint before create: %+v", ep)
	}
	d.IPAddress, d.SSHPort, d.EnginePort, d.MeshIP = "127.0.0.1", 40022, 40376, "192.168.76.3"
	d.SSHKeyPath = d.path(KeyFile)
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	back := NewDriver().(*Driver)
	if err := json.Unmarshal(data, back); err != nil {
		t.Fatal(err)
	}
	ep, err := back.GetEndpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := drivers.Endpoint{IP: "127.0.0.1", PrivateIP: "192.168.76.3", URL: "tcp://127.0.0.1:40376", SSHHostname: "127.0.0.1",
		SSHPort: 40022, SSHUser: "docker", SSHKeyPath: d.path(KeyFile), Static: true}
	if ep != want {
		t.Errorf("endpoint = %+v, want %+v", ep, want)
	}
}

// TestDriverWithoutVM: a machine whose VM does not run is Stopped, and
// stop, kill and remove succeed; start of a machine never created says so.
func TestDriverWithoutVM(t *testing.T) {
	ctx := context.Background()
	d := newTestDriver(t, t.TempDir(), "dev")
	if st, err := d.GetState(ctx); st != drivers.Stopped || err != nil {
		t.Errorf("state = %s, %v; want Stopped", st, err)
	}
	for name, op := range map[string]func(context.Context) error{"stop": d.Stop, "kill": d.Kill, "remove": d.Remove} {
		if err := op(ctx); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := d.Start(ctx); err == nil || !strings.Contains(err.Error(), "never created") {
		t.Errorf("start = %v", err)
	}
	// A port of the machine taken since create: one line saying so.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	d.Binary, d.SSHPort, d.EnginePort = "/usr/bin/qemu-system-x86_64", l.Addr().(*net.TCPAddr).Port, 1
	if err := d.Start(ctx); !errors.Is(err, ErrPortTaken) || !strings.Contains(err.Error(), "fixed at create") || strings.Contains(err.Error(), "\n") {
		t.Errorf("start with its SSH port taken = %v", err)
	}
	// Remove deletes the driver's files and leaves the machine's key.
	for _, f := range []string{DiskFile, SeedFile, VarsFile, SerialLog, MeshAddressFile, KeyFile} {
		if err := os.WriteFile(d.path(f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(d.dir())
	if len(left) != 1 || left[0].Name() != KeyFile {
		t.Errorf("after remove the directory holds %v, want only %s", left, KeyFile)
	}
}

// TestDriverEnsureKey: the machine's key is made once, ed25519, 0600.
func TestDriverEnsureKey(t *testing.T) {
	d := newTestDriver(t, t.TempDir(), "dev")
	pub, err := d.ensureKey()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pub, "ssh-ed25519 ") {
		t.Errorf("public key %q", pub)
	}
	if fi, err := os.Stat(d.SSHKeyPath); err != nil || fi.Mode().Perm() != 0o600 || d.SSHKeyPath != d.path(KeyFile) {
		t.Errorf("private key %s: %v %v", d.SSHKeyPath, fi, err)
	}
	again, err := d.ensureKey()
	if err != nil || again != pub {
		t.Errorf("second call: %q, %v; want the same key", again, err)
	}
}

// TestDriverConformance runs the drivers' conformance suite on a machine
// never created.
func TestDriverConformance(t *testing.T) {
	drivertest.Suite(t, func(t *testing.T) drivers.Driver {
		return newTestDriver(t, t.TempDir(), "suite")
	})
}

package qemu

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func testConfig() Config {
	return Config{
		Name:       "dev",
		Binary:     "qemu-system-x86_64",
		Arch:       "x86_64",
		Accel:      AccelTCG,
		Firmware:   Firmware{Code: "/usr/share/OVMF/OVMF_CODE_4M.fd", Vars: "/usr/share/OVMF/OVMF_VARS_4M.fd"},
		CPUs:       2,
		MemoryMB:   2048,
		Disk:       "/store/machines/dev/disk.qcow2",
		Seed:       "/store/machines/dev/seed.iso",
		SSHPort:    40022,
		EnginePort: 40376,
		Dir:        "/store/machines/dev",
	}
}

func TestArgsGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
	}{
		{"tcg-x86_64", func(*Config) {}},
		{"tcg-mesh", func(c *Config) {
			c.MAC = "52:54:00:12:34:01"
			c.Mesh = &Mesh{Group: "239.1.2.3:45678", MAC: "52:54:00:aa:00:01"}
		}},
		{"kvm-noseed", func(c *Config) { c.Accel, c.Seed, c.CPUs, c.MemoryMB = AccelKVM, "", 4, 4096 }},
		{"bios-vdi-forwards", func(c *Config) {
			c.BIOS, c.Firmware, c.DiskFormat, c.NICModel = true, Firmware{}, "vdi", "e1000"
			c.Disk = "/store/vms/dev/disk.vdi"
			c.SSHPort, c.EnginePort = 0, 0
			c.Forwards = []Forward{{Proto: "tcp", HostIP: "127.0.0.1", HostPort: 40022, GuestPort: 22}, {Proto: "udp", HostPort: 5353, GuestPort: 53}}
			c.Mesh = &Mesh{Group: "239.1.2.3:45678", MAC: "08:00:27:aa:00:01"}
		}},
		{"hvf-aarch64", func(c *Config) {
			c.Arch, c.Accel, c.Binary = "aarch64", AccelHVF, "qemu-system-aarch64"
			c.Firmware = Firmware{Code: "/opt/homebrew/share/qemu/edk2-aarch64-code.fd", Vars: "/opt/homebrew/share/qemu/edk2-arm-vars.fd"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig()
			tc.change(&c)
			got := render(c.Args())
			golden := filepath.Join("testdata", "args-"+tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("args differ from %s:\n%s", golden, got)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		err    string
	}{
		{"ok", func(*Config) {}, ""},
		{"auto unresolved", func(c *Config) { c.Accel = AccelAuto }, `accelerator "auto" is not resolved`},
		{"no cpus", func(c *Config) { c.CPUs = 0 }, "--qemu-cpu-count 0: give at least 1"},
		{"little memory", func(c *Config) { c.MemoryMB = 64 }, "--qemu-memory 64: give at least 256"},
		{"no ports", func(c *Config) { c.SSHPort = 0 }, "no loopback ports"},
		{"long dir", func(c *Config) { c.Dir = "/" + strings.Repeat("d", 100) }, "too long for QEMU's control socket"},
		{"comma", func(c *Config) { c.Disk = "/a,b/disk.qcow2" }, "has a comma"},
		{"mesh not multicast", func(c *Config) { c.Mesh = &Mesh{Group: "127.0.0.1:4000", MAC: "52:54:00:aa:00:01"} }, "is not an IPv4 multicast address"},
		{"mesh without port", func(c *Config) { c.Mesh = &Mesh{Group: "239.1.2.3", MAC: "52:54:00:aa:00:01"} }, "is not an IPv4 multicast address"},
		{"mesh bad MAC", func(c *Config) { c.Mesh = &Mesh{Group: "239.1.2.3:4000", MAC: "nope"} }, `mesh MAC "nope"`},
		{"bad MAC", func(c *Config) { c.MAC = "52:54" }, `MAC "52:54"`},
		{"relative disk", func(c *Config) { c.Disk = "disk.qcow2" }, `path "disk.qcow2" is relative`},
		{"relative dir", func(c *Config) { c.Dir = "machines/dev" }, "is relative"},
		{"no firmware", func(c *Config) { c.Firmware = Firmware{} }, "no UEFI firmware"},
		{"bios without firmware", func(c *Config) { c.BIOS, c.Firmware = true, Firmware{} }, ""},
		{"forwards without ports", func(c *Config) {
			c.SSHPort, c.EnginePort = 0, 0
			c.Forwards = []Forward{{Proto: "tcp", HostIP: "127.0.0.1", HostPort: 2222, GuestPort: 22}}
		}, ""},
		{"bad forward", func(c *Config) { c.Forwards = []Forward{{Proto: "sctp", HostPort: 2222, GuestPort: 22}} }, "want tcp or udp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig()
			tc.change(&c)
			err := c.Validate()
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.err)
			}
		})
	}
}

// render puts each option on a line with its value.
func render(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			if strings.HasPrefix(a, "-") {
				b.WriteString("\n")
			} else {
				b.WriteString(" ")
			}
		}
		b.WriteString(a)
	}
	return b.String() + "\n"
}

func TestMeshGroupAndMAC(t *testing.T) {
	a, b := MeshGroup("/home/u/.docker/machine"), MeshGroup("/tmp/store")
	if a == b || a != MeshGroup("/home/u/.docker/machine") {
		t.Errorf("groups %s, %s: want stable and different per store", a, b)
	}
	for _, g := range []string{a, b} {
		c := testConfig()
		c.Mesh = &Mesh{Group: g, MAC: MAC("/tmp/store\x00dev\x00mesh")}
		if err := c.Validate(); err != nil {
			t.Errorf("group %s: %v", g, err)
		}
	}
	m1, m2 := MAC("s\x00a"), MAC("s\x00b")
	if m1 == m2 || m1 != MAC("s\x00a") || !strings.HasPrefix(m1, "52:54:00:") {
		t.Errorf("MACs %s, %s: want stable, different, in 52:54:00", m1, m2)
	}
}

package qemu

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/machine-cli/machine/drivers"
)

func TestFlags(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Flags() {
		if seen[f.Name] {
			t.Errorf("flag %s twice", f.Name)
		}
		seen[f.Name] = true
		want := "QEMU_" + strings.ToUpper(strings.ReplaceAll(strings.TrimPrefix(f.Name, "qemu-"), "-", "_"))
		if f.EnvVar != want {
			t.Errorf("flag %s: variable %s, want %s", f.Name, f.EnvVar, want)
		}
		if f.Usage == "" {
			t.Errorf("flag %s has no usage", f.Name)
		}
	}
	if len(seen) != 10 {
		t.Errorf("%d flags, want 10", len(seen))
	}
}

func TestSettingsFromFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts drivers.Options
		want Settings
		errs []string // substrings, all in one joined error
	}{
		{name: "defaults", opts: drivers.Options{},
			want: Settings{MemoryMB: 2048, CPUs: 2, DiskSizeMB: 20000, Accel: AccelAuto}},
		{name: "values", opts: drivers.Options{
			FlagMemory: 4096, FlagCPUCount: 4, FlagDiskSize: 40000, FlagImageURL: "https://example.test/d.qcow2",
			FlagImageChecksum: "sha256:ab", FlagAccel: "TCG", FlagBinary: "/opt/qemu", FlagFirmware: "/fw/OVMF_CODE.fd",
			FlagSSHPort: 2222, FlagEnginePort: float64(2376)},
			want: Settings{MemoryMB: 4096, CPUs: 4, DiskSizeMB: 40000, ImageURL: "https://example.test/d.qcow2",
				ImageChecksum: "sha256:ab", Accel: AccelTCG, Binary: "/opt/qemu", Firmware: "/fw/OVMF_CODE.fd",
				SSHPort: 2222, EnginePort: 2376}},
		{name: "local image path", opts: drivers.Options{FlagImageURL: "/images/debian.raw"},
			want: Settings{MemoryMB: 2048, CPUs: 2, DiskSizeMB: 20000, Accel: AccelAuto, ImageURL: "/images/debian.raw"}},
		{name: "every invalid value", opts: drivers.Options{
			FlagMemory: 128, FlagCPUCount: 0, FlagDiskSize: 10, FlagAccel: "xen", FlagImageURL: "ftp://x/y",
			FlagSSHPort: 70000},
			errs: []string{"--qemu-memory 128: give at least 256 (MB)", "--qemu-cpu-count 0: give at least 1",
				"--qemu-disk-size 10: give at least 1024 (MB)", `--qemu-accel "xen": use auto, kvm, hvf or tcg`,
				`--qemu-image-url "ftp://x/y": give an http(s) URL or a local path`,
				"--qemu-ssh-port 70000 is not a port"}},
		{name: "same ports", opts: drivers.Options{FlagSSHPort: 2222, FlagEnginePort: 2222},
			errs: []string{"--qemu-ssh-port and --qemu-engine-port are both 2222"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := SettingsFromFlags(tc.opts)
			if len(tc.errs) > 0 {
				if !errors.Is(err, drivers.ErrInvalidConfig) {
					t.Fatalf("err = %v, want ErrInvalidConfig", err)
				}
				for _, e := range tc.errs {
					if !strings.Contains(err.Error(), e) {
						t.Errorf("err lacks %q:\n%v", e, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s != tc.want {
				t.Errorf("settings = %+v\nwant       %+v", s, tc.want)
			}
		})
	}
}

// TestResolve resolves settings on a fake host: a file system root with
// firmware or without, and a PATH with a qemu binary or without. The
// accelerator is TCG, or KVM on a root without /dev/kvm.
func TestResolve(t *testing.T) {
	withFW := t.TempDir()
	touch(t, withFW, "usr/share/OVMF/OVMF_CODE_4M.fd", "usr/share/OVMF/OVMF_VARS_4M.fd", "fw/MY_CODE.fd", "fw/MY_VARS.fd")
	noFW := t.TempDir()
	bin := t.TempDir()
	touch(t, bin, "qemu-system-x86_64")
	if err := os.Chmod(filepath.Join(bin, "qemu-system-x86_64"), 0o755); err != nil {
		t.Fatal(err)
	}
	taken := listen(t)
	tcg := Settings{Accel: AccelTCG}
	for _, tc := range []struct {
		name     string
		s        Settings
		root     string
		path     string
		goarch   string
		firmware string // want, below root
		err      string
	}{
		{name: "tcg", s: tcg, root: withFW, path: bin, goarch: "amd64", firmware: "usr/share/OVMF/OVMF_CODE_4M.fd"},
		{name: "firmware given", s: Settings{Accel: AccelTCG, Firmware: filepath.Join(withFW, "fw/MY_CODE.fd")}, root: noFW, path: bin, goarch: "amd64"},
		{name: "no qemu", s: tcg, root: withFW, path: t.TempDir(), goarch: "amd64", err: "qemu-system-x86_64 not found on PATH: install qemu-system-x86"},
		{name: "no firmware", s: tcg, root: noFW, path: bin, goarch: "amd64", err: "no UEFI firmware for x86_64 found: install ovmf"},
		{name: "kvm without /dev/kvm", s: Settings{Accel: AccelKVM}, root: withFW, path: bin, goarch: "amd64", err: "--qemu-accel kvm: " + filepath.Join(withFW, "dev/kvm") + " does not exist"},
		{name: "port taken", s: Settings{Accel: AccelTCG, SSHPort: taken}, root: withFW, path: bin, goarch: "amd64", err: "127.0.0.1:" + strconv.Itoa(taken) + " (--qemu-ssh-port) port is taken"},
		{name: "unsupported host", s: tcg, root: withFW, path: bin, goarch: "riscv64", err: "not riscv64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PATH", tc.path)
			r, err := Resolve(context.Background(), tc.s, "linux", tc.goarch, tc.root)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("err = %v, want one line with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Binary != filepath.Join(bin, "qemu-system-x86_64") || r.Arch != "x86_64" || r.Accel != AccelTCG || r.Warning != "" {
				t.Errorf("resolved = %+v", r)
			}
			if tc.firmware != "" && r.Firmware.Code != filepath.Join(tc.root, tc.firmware) {
				t.Errorf("firmware = %+v, want %s", r.Firmware, tc.firmware)
			}
		})
	}
}

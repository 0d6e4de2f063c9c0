package qemu

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestChooseAccel(t *testing.T) {
	works := func(context.Context) error { return nil }
	broken := func(context.Context) error {
		return errors.New("QEMU could not run a guest under kvm: failed to set MSR")
	}
	for _, tc := range []struct {
		name     string
		want     Accel
		goos     string
		kvm, hvf func(context.Context) error
		accel    Accel
		warning  string // substring; "" means no warning
		err      string // substring; "" means success
	}{
		{name: "auto picks working kvm on linux", want: AccelAuto, goos: "linux", kvm: works, accel: AccelKVM},
		{name: "empty is auto", want: "", goos: "linux", kvm: works, accel: AccelKVM},
		{name: "auto falls back to tcg when kvm does not run guests", want: AccelAuto, goos: "linux", kvm: broken, accel: AccelTCG, warning: "kvm is not usable (QEMU could not run a guest under kvm: failed to set MSR); using QEMU's software emulation (TCG): boots take about a minute"},
		{name: "auto picks hvf on macos", want: AccelAuto, goos: "darwin", hvf: works, accel: AccelHVF},
		{name: "auto falls back to tcg without hvf", want: AccelAuto, goos: "darwin", hvf: broken, accel: AccelTCG, warning: "hvf is not usable"},
		{name: "auto is tcg elsewhere", want: AccelAuto, goos: "windows", accel: AccelTCG, warning: "no hardware acceleration for QEMU on windows"},
		{name: "tcg asked for", want: AccelTCG, goos: "linux", kvm: works, accel: AccelTCG},
		{name: "kvm asked for and working", want: AccelKVM, goos: "linux", kvm: works, accel: AccelKVM},
		{name: "kvm asked for but unusable", want: AccelKVM, goos: "linux", kvm: broken, err: "--qemu-accel kvm: QEMU could not run a guest under kvm: failed to set MSR; use --qemu-accel tcg"},
		{name: "kvm asked for on macos", want: AccelKVM, goos: "darwin", hvf: works, err: "--qemu-accel kvm: not available on darwin"},
		{name: "hvf asked for on linux", want: AccelHVF, goos: "linux", kvm: works, err: "--qemu-accel hvf: not available on linux"},
		{name: "unknown accelerator", want: "xen", goos: "linux", kvm: works, err: `unknown --qemu-accel "xen": use auto, kvm, hvf or tcg`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			accel, warning, err := ChooseAccel(context.Background(), tc.want, tc.goos, Checks{KVM: tc.kvm, HVF: tc.hvf})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error has several lines: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if accel != tc.accel {
				t.Errorf("accel = %q, want %q", accel, tc.accel)
			}
			if (tc.warning == "") != (warning == "") || !strings.Contains(warning, tc.warning) {
				t.Errorf("warning = %q, want %q", warning, tc.warning)
			}
		})
	}
}

// TestCheckKVMDevice runs the device checks against fake file system
// roots: no device, and a file that is not a KVM device.
func TestCheckKVMDevice(t *testing.T) {
	root := t.TempDir()
	notDevice := filepath.Join(root, "dev-kvm-file")
	if err := os.WriteFile(notDevice, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dev, err string
	}{
		{"missing", filepath.Join(root, "dev/kvm"), "does not exist (KVM is not enabled"},
		{"not a device", notDevice, "is not a KVM device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckKVM(context.Background(), Host{GOOS: "linux", Arch: "x86_64", Binary: "qemu-system-x86_64", KVMDevice: tc.dev})
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.err)
			}
		})
	}
}

func TestProbeBIOS(t *testing.T) {
	b := probeBIOS()
	if len(b) != 64<<10 {
		t.Fatalf("size %d, want 64 KiB (QEMU loads BIOS images in 64 KiB units)", len(b))
	}
	// The reset vector, 16 bytes below 4 GiB, is the image's last paragraph.
	if got := b[0xfff0:0xfff4]; string(got) != "\xb0\x2a\xe6\xf4" {
		t.Errorf("reset vector = % x, want mov al,0x2a; out 0xf4,al", got)
	}
}

func TestComplaint(t *testing.T) {
	for _, tc := range []struct{ name, stderr, want string }{
		{"error before an abort", "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\nqemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion failed.\n",
			"error: failed to set MSR 0x10a to 0x69"},
		{"last line", "qemu-system-x86_64: warning: something\nqemu-system-x86_64: Could not access KVM kernel module: Permission denied\n",
			"Could not access KVM kernel module: Permission denied"},
		{"nothing said", "", "signal: aborted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := complaint(tc.stderr, "signal: aborted"); got != tc.want {
				t.Errorf("complaint = %q, want %q", got, tc.want)
			}
		})
	}
}

package qemu

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// touch makes the files (paths below root) with their names as content.
func touch(t *testing.T, root string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindFirmware(t *testing.T) {
	for _, tc := range []struct {
		name      string
		arch      string
		files     []string // below a fake root
		code      string   // want, below the root
		vars      string
		errSubstr string
	}{
		{name: "debian 4M", arch: "x86_64",
			files: []string{"usr/share/OVMF/OVMF_CODE_4M.fd", "usr/share/OVMF/OVMF_VARS_4M.fd", "usr/share/OVMF/OVMF_CODE.fd", "usr/share/OVMF/OVMF_VARS.fd"},
			code:  "usr/share/OVMF/OVMF_CODE_4M.fd", vars: "usr/share/OVMF/OVMF_VARS_4M.fd"},
		{name: "older debian", arch: "x86_64",
			files: []string{"usr/share/OVMF/OVMF_CODE.fd", "usr/share/OVMF/OVMF_VARS.fd"},
			code:  "usr/share/OVMF/OVMF_CODE.fd", vars: "usr/share/OVMF/OVMF_VARS.fd"},
		{name: "fedora", arch: "x86_64",
			files: []string{"usr/share/edk2/ovmf/OVMF_CODE.fd", "usr/share/edk2/ovmf/OVMF_VARS.fd"},
			code:  "usr/share/edk2/ovmf/OVMF_CODE.fd", vars: "usr/share/edk2/ovmf/OVMF_VARS.fd"},
		{name: "code without vars is skipped", arch: "x86_64",
			files: []string{"usr/share/OVMF/OVMF_CODE_4M.fd", "usr/share/qemu/edk2-x86_64-code.fd", "usr/share/qemu/edk2-i386-vars.fd"},
			code:  "usr/share/qemu/edk2-x86_64-code.fd", vars: "usr/share/qemu/edk2-i386-vars.fd"},
		{name: "homebrew on apple silicon", arch: "aarch64",
			files: []string{"opt/homebrew/share/qemu/edk2-aarch64-code.fd", "opt/homebrew/share/qemu/edk2-arm-vars.fd"},
			code:  "opt/homebrew/share/qemu/edk2-aarch64-code.fd", vars: "opt/homebrew/share/qemu/edk2-arm-vars.fd"},
		{name: "homebrew on intel", arch: "x86_64",
			files: []string{"usr/local/share/qemu/edk2-x86_64-code.fd", "usr/local/share/qemu/edk2-i386-vars.fd"},
			code:  "usr/local/share/qemu/edk2-x86_64-code.fd", vars: "usr/local/share/qemu/edk2-i386-vars.fd"},
		{name: "debian arm64", arch: "aarch64",
			files: []string{"usr/share/AAVMF/AAVMF_CODE.fd", "usr/share/AAVMF/AAVMF_VARS.fd"},
			code:  "usr/share/AAVMF/AAVMF_CODE.fd", vars: "usr/share/AAVMF/AAVMF_VARS.fd"},
		{name: "none for x86_64", arch: "x86_64", files: []string{"usr/share/AAVMF/AAVMF_CODE.fd", "usr/share/AAVMF/AAVMF_VARS.fd"},
			errSubstr: "no UEFI firmware for x86_64 found: install ovmf (Debian, Ubuntu), edk2-ovmf (Fedora, Arch) or qemu (Homebrew), or pass --qemu-firmware"},
		{name: "none for aarch64", arch: "aarch64",
			errSubstr: "install qemu-efi-aarch64 (Debian, Ubuntu), edk2-aarch64 (Fedora) or qemu (Homebrew)"},
		{name: "unknown arch", arch: "riscv64", errSubstr: `no UEFI firmware known for architecture "riscv64"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			touch(t, root, tc.files...)
			fw, err := FindFirmware(root, tc.arch)
			if tc.errSubstr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errSubstr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.errSubstr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := Firmware{Code: filepath.Join(root, tc.code), Vars: filepath.Join(root, tc.vars)}
			if fw != want {
				t.Errorf("firmware = %+v, want %+v", fw, want)
			}
		})
	}
}

func TestFirmwareFrom(t *testing.T) {
	root := t.TempDir()
	touch(t, root, "ovmf/OVMF_CODE_4M.fd", "ovmf/OVMF_VARS_4M.fd",
		"brew/edk2-x86_64-code.fd", "brew/edk2-i386-vars.fd",
		"lonely/OVMF_CODE.fd", "odd/firmware.bin")
	for _, tc := range []struct {
		name, code, vars, err string
	}{
		{name: "ovmf", code: "ovmf/OVMF_CODE_4M.fd", vars: "ovmf/OVMF_VARS_4M.fd"},
		{name: "qemu's own", code: "brew/edk2-x86_64-code.fd", vars: "brew/edk2-i386-vars.fd"},
		{name: "no vars beside", code: "lonely/OVMF_CODE.fd", err: "no variable store beside it (looked for OVMF_VARS.fd)"},
		{name: "unknown name", code: "odd/firmware.bin", err: "no variable store beside it"},
		{name: "missing", code: "nowhere/OVMF_CODE.fd", err: "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fw, err := FirmwareFrom(filepath.Join(root, tc.code))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "--qemu-firmware ") {
					t.Fatalf("err = %v, want --qemu-firmware ... %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fw.Vars != filepath.Join(root, tc.vars) {
				t.Errorf("vars = %s, want %s", fw.Vars, tc.vars)
			}
		})
	}
}

func TestCopyVars(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	touch(t, root, "OVMF_VARS.fd")
	fw := Firmware{Code: filepath.Join(root, "OVMF_CODE.fd"), Vars: filepath.Join(root, "OVMF_VARS.fd")}
	if err := CopyVars(fw, dir); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, VarsFile))
	if err != nil || !bytes.Equal(got, []byte("OVMF_VARS.fd")) {
		t.Fatalf("copy = %q, %v", got, err)
	}
	// The machine's variables survive: a second call keeps them.
	if err := os.WriteFile(filepath.Join(dir, VarsFile), []byte("boot entries"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CopyVars(fw, dir); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, VarsFile)); string(got) != "boot entries" {
		t.Errorf("second CopyVars replaced the machine's variables: %q", got)
	}
	if err := CopyVars(Firmware{Vars: filepath.Join(root, "missing")}, t.TempDir()); err == nil {
		t.Error("CopyVars of a missing template succeeded")
	}
}

func TestFindBinary(t *testing.T) {
	bin := t.TempDir()
	touch(t, bin, "qemu-system-x86_64", "not-executable")
	if err := os.Chmod(filepath.Join(bin, "qemu-system-x86_64"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	for _, tc := range []struct {
		name, binary, arch, want, err string
	}{
		{name: "on PATH", arch: "x86_64", want: filepath.Join(bin, "qemu-system-x86_64")},
		{name: "given", binary: filepath.Join(bin, "qemu-system-x86_64"), arch: "x86_64", want: filepath.Join(bin, "qemu-system-x86_64")},
		{name: "missing aarch64", arch: "aarch64", err: "qemu-system-aarch64 not found on PATH: install qemu-system-arm (Debian, Ubuntu), qemu-system-aarch64-core (Fedora) or qemu (Homebrew), or pass --qemu-binary"},
		{name: "given but missing", binary: "/nowhere/qemu", arch: "x86_64", err: "--qemu-binary /nowhere/qemu: not found or not executable"},
		{name: "given but not executable", binary: filepath.Join(bin, "not-executable"), arch: "x86_64", err: "not found or not executable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FindBinary(tc.binary, tc.arch)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("FindBinary = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	t.Run("missing names the package", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		_, err := FindBinary("", "x86_64")
		if err == nil || !strings.Contains(err.Error(), "install qemu-system-x86 (Debian, Ubuntu), qemu-system-x86-core (Fedora) or qemu (Homebrew)") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestGuestArch(t *testing.T) {
	for goarch, want := range map[string]string{"amd64": "x86_64", "arm64": "aarch64", "386": ""} {
		got, err := GuestArch(goarch)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("GuestArch(%s) = %q, %v; want %q", goarch, got, err, want)
		}
	}
}

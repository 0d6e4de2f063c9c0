package qemu

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/machine-cli/machine/internal/fsutil"
)

// Firmware is a split UEFI firmware: read-only code and the template of
// its variable store, which each machine gets a copy of (VarsFile).
type Firmware struct {
	Code string
	Vars string
}

// firmwarePairs lists where each OS's packages put UEFI firmware, per
// guest architecture, as paths below a file system root, most specific
// first.
var firmwarePairs = map[string][][2]string{
	"x86_64": {
		{"usr/share/OVMF/OVMF_CODE_4M.fd", "usr/share/OVMF/OVMF_VARS_4M.fd"},                         // Debian 12+, Ubuntu 22.04+: ovmf
		{"usr/share/OVMF/OVMF_CODE.fd", "usr/share/OVMF/OVMF_VARS.fd"},                               // older Debian and Ubuntu
		{"usr/share/edk2/ovmf/OVMF_CODE.fd", "usr/share/edk2/ovmf/OVMF_VARS.fd"},                     // Fedora: edk2-ovmf
		{"usr/share/edk2/x64/OVMF_CODE.4m.fd", "usr/share/edk2/x64/OVMF_VARS.4m.fd"},                 // Arch: edk2-ovmf
		{"usr/share/qemu/ovmf-x86_64-code.bin", "usr/share/qemu/ovmf-x86_64-vars.bin"},               // openSUSE: qemu-ovmf-x86_64
		{"usr/share/qemu/edk2-x86_64-code.fd", "usr/share/qemu/edk2-i386-vars.fd"},                   // QEMU's own build
		{"opt/homebrew/share/qemu/edk2-x86_64-code.fd", "opt/homebrew/share/qemu/edk2-i386-vars.fd"}, // Homebrew on Apple silicon
		{"usr/local/share/qemu/edk2-x86_64-code.fd", "usr/local/share/qemu/edk2-i386-vars.fd"},       // Homebrew on Intel, or QEMU built from source
	},
	"aarch64": {
		{"usr/share/AAVMF/AAVMF_CODE.fd", "usr/share/AAVMF/AAVMF_VARS.fd"},                                // Debian, Ubuntu: qemu-efi-aarch64
		{"usr/share/edk2/aarch64/QEMU_EFI-pflash.raw", "usr/share/edk2/aarch64/vars-template-pflash.raw"}, // Fedora: edk2-aarch64
		{"usr/share/qemu/edk2-aarch64-code.fd", "usr/share/qemu/edk2-arm-vars.fd"},                        // QEMU's own build
		{"opt/homebrew/share/qemu/edk2-aarch64-code.fd", "opt/homebrew/share/qemu/edk2-arm-vars.fd"},      // Homebrew on Apple silicon
		{"usr/local/share/qemu/edk2-aarch64-code.fd", "usr/local/share/qemu/edk2-arm-vars.fd"},            // Homebrew on Intel, or from source
	},
}

// FindFirmware looks for arch's UEFI firmware below root ("/" on a real
// system) in the places each OS's packages put it. When none is there, the
// error names the package to install.
func FindFirmware(root, arch string) (Firmware, error) {
	pairs, ok := firmwarePairs[arch]
	if !ok {
		return Firmware{}, fmt.Errorf("no UEFI firmware known for architecture %q", arch)
	}
	for _, p := range pairs {
		fw := Firmware{Code: filepath.Join(root, p[0]), Vars: filepath.Join(root, p[1])}
		if isFile(fw.Code) && isFile(fw.Vars) {
			return fw, nil
		}
	}
	pkg := "ovmf (Debian, Ubuntu), edk2-ovmf (Fedora, Arch)"
	if arch == "aarch64" {
		pkg = "qemu-efi-aarch64 (Debian, Ubuntu), edk2-aarch64 (Fedora)"
	}
	return Firmware{}, fmt.Errorf("no UEFI firmware for %s found: install %s or qemu (Homebrew), or pass --qemu-firmware", arch, pkg)
}

// varsNames maps a firmware code file's name to its variable store's.
var varsNames = strings.NewReplacer(
	"CODE", "VARS", "code", "vars",
	"edk2-x86_64-", "edk2-i386-", "edk2-aarch64-", "edk2-arm-",
	"QEMU_EFI-pflash", "vars-template-pflash",
)

// FirmwareFrom is the firmware of a code file the user named
// (--qemu-firmware), with the variable store found beside it by the usual
// names (OVMF_CODE_4M.fd → OVMF_VARS_4M.fd, edk2-x86_64-code.fd →
// edk2-i386-vars.fd).
func FirmwareFrom(code string) (Firmware, error) {
	if !isFile(code) {
		return Firmware{}, fmt.Errorf("--qemu-firmware %s: no such file", code)
	}
	vars := filepath.Join(filepath.Dir(code), varsNames.Replace(filepath.Base(code)))
	if vars == code || !isFile(vars) {
		return Firmware{}, fmt.Errorf("--qemu-firmware %s: no variable store beside it (looked for %s)", code, filepath.Base(vars))
	}
	return Firmware{Code: code, Vars: vars}, nil
}

// CopyVars gives the machine in dir its own copy of fw's variable store,
// VarsFile, unless it has one (the VM's boot entries live there).
func CopyVars(fw Firmware, dir string) error {
	dst := filepath.Join(dir, VarsFile)
	if isFile(dst) {
		return nil
	}
	src, err := os.Open(fw.Vars)
	if err != nil {
		return fmt.Errorf("firmware variables: %w", err)
	}
	defer src.Close()
	data, err := io.ReadAll(src)
	if err != nil {
		return fmt.Errorf("firmware variables %s: %w", fw.Vars, err)
	}
	if err := fsutil.WriteFileAtomic(dst, data, 0o600); err != nil {
		return fmt.Errorf("firmware variables: %w", err)
	}
	return nil
}

// FindBinary returns the QEMU binary for arch: binary itself when given
// (--qemu-binary), else qemu-system-ARCH on PATH. When it is missing, the
// error names the package to install.
func FindBinary(binary, arch string) (string, error) {
	if binary != "" {
		p, err := exec.LookPath(binary)
		if err != nil {
			return "", fmt.Errorf("--qemu-binary %s: not found or not executable", binary)
		}
		return p, nil
	}
	name := "qemu-system-" + arch
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	if !errors.Is(err, exec.ErrNotFound) && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("find %s: %w", name, err)
	}
	pkg := "qemu-system-x86 (Debian, Ubuntu), qemu-system-x86-core (Fedora)"
	if arch == "aarch64" {
		pkg = "qemu-system-arm (Debian, Ubuntu), qemu-system-aarch64-core (Fedora)"
	}
	return "", fmt.Errorf("%s not found on PATH: install %s or qemu (Homebrew), or pass --qemu-binary", name, pkg)
}

// GuestArch is QEMU's name for a Go architecture (runtime.GOARCH): VMs run
// the host's architecture.
func GuestArch(goarch string) (string, error) {
	switch goarch {
	case "amd64":
		return "x86_64", nil
	case "arm64":
		return "aarch64", nil
	}
	return "", fmt.Errorf("the qemu driver runs VMs on amd64 and arm64 hosts, not %s", goarch)
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Accel is a QEMU accelerator.
type Accel string

// The accelerators --qemu-accel accepts.
const (
	// AccelAuto picks KVM or HVF where it really works, else TCG.
	AccelAuto Accel = "auto"
	// AccelKVM is Linux's kernel virtual machine.
	AccelKVM Accel = "kvm"
	// AccelHVF is macOS's Hypervisor.framework.
	AccelHVF Accel = "hvf"
	// AccelTCG is QEMU's software emulation: slow, but it runs anywhere.
	AccelTCG Accel = "tcg"
)

// TCGWarning is the line to show when auto falls back to TCG.
const TCGWarning = "using QEMU's software emulation (TCG): boots take about a minute"

// Checks tell whether an accelerator works on this host: nil if it does,
// else why not. DetectAccel fills them with CheckKVM and CheckHVF.
type Checks struct {
	KVM func(context.Context) error
	HVF func(context.Context) error
}

// ChooseAccel resolves want ("" means auto) on an OS (runtime.GOOS) with the
// given checks. Auto picks KVM on Linux and HVF on macOS when their check
// passes, else TCG with a warning line (TCGWarning and the reason). An
// accelerator asked for by name that does not work is an error.
func ChooseAccel(ctx context.Context, want Accel, goos string, c Checks) (Accel, string, error) {
	native, check := AccelTCG, func(context.Context) error { return nil }
	switch goos {
	case "linux":
		native, check = AccelKVM, c.KVM
	case "darwin":
		native, check = AccelHVF, c.HVF
	}
	switch want {
	case "", AccelAuto:
		if native == AccelTCG {
			return AccelTCG, fmt.Sprintf("no hardware acceleration for QEMU on %s; %s", goos, TCGWarning), nil
		}
		if err := check(ctx); err != nil {
			return AccelTCG, fmt.Sprintf("%s is not usable (%v); %s", native, err, TCGWarning), nil
		}
		return native, "", nil
	case AccelTCG:
		return AccelTCG, "", nil
	case AccelKVM, AccelHVF:
		if want != native {
			return "", "", fmt.Errorf("--qemu-accel %s: not available on %s; use --qemu-accel auto or tcg", want, goos)
		}
		if err := check(ctx); err != nil {
			return "", "", fmt.Errorf("--qemu-accel %s: %v; use --qemu-accel tcg", want, err)
		}
		return want, "", nil
	}
	return "", "", fmt.Errorf("unknown --qemu-accel %q: use auto, kvm, hvf or tcg", want)
}

// Host is what accelerator detection looks at.
type Host struct {
	GOOS   string // runtime.GOOS
	Arch   string // QEMU's name of the guest architecture: x86_64 or aarch64
	Binary string // the qemu-system-* binary
	// KVMDevice is Linux's KVM device, /dev/kvm.
	KVMDevice string
	// Dir holds the probe guest's firmware while it runs; os.TempDir() when empty.
	Dir string
}

// DetectAccel resolves want on host h, checking KVM with CheckKVM and HVF
// with CheckHVF.
func DetectAccel(ctx context.Context, want Accel, h Host) (Accel, string, error) {
	return ChooseAccel(ctx, want, h.GOOS, Checks{
		KVM: func(ctx context.Context) error { return CheckKVM(ctx, h) },
		HVF: func(ctx context.Context) error { return CheckHVF(ctx, h) },
	})
}

// CheckKVM tells whether KVM really runs guests: the device opens
// read-write, answers KVM_GET_API_VERSION, and (on x86_64) QEMU runs a
// probe guest under it with the CPU model the VMs use. The last step
// matters: where nested virtualization is refused, /dev/kvm opens and
// answers while QEMU aborts at the first guest instruction ("failed to set
// MSR") or hangs in the firmware.
func CheckKVM(ctx context.Context, h Host) error {
	if err := kvmAPI(h.KVMDevice); err != nil {
		return err
	}
	if h.Arch != "x86_64" {
		return nil
	}
	return ProbeGuest(ctx, h, AccelKVM)
}

// CheckHVF tells whether macOS's Hypervisor.framework is usable, and (on
// x86_64) that QEMU runs a probe guest under it.
func CheckHVF(ctx context.Context, h Host) error {
	if err := hvfSupported(); err != nil {
		return err
	}
	if h.Arch != "x86_64" {
		return nil
	}
	return ProbeGuest(ctx, h, AccelHVF)
}

// probeExit is the status QEMU exits with when the probe guest ran:
// isa-debug-exit turns the guest's byte 0x2a into (0x2a<<1)|1.
const probeExit = 0x2a<<1 | 1

// probeTimeout bounds a probe guest; it takes about 0.2 s where it works.
const probeTimeout = 10 * time.Second

// probeBIOS is a 64 KiB x86 firmware whose reset vector writes 0x2a to the
// isa-debug-exit port and halts: QEMU exits with probeExit once the vCPU
// has run guest code.
func probeBIOS() []byte {
	b := bytes.Repeat([]byte{0xf4}, 64<<10) // hlt
	// mov al, 0x2a; out 0xf4, al; hlt; jmp $-3
	copy(b[0xfff0:], []byte{0xb0, 0x2a, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd})
	return b
}

// ProbeGuest runs a tiny x86 guest under accel with the CPU model VMs use
// under it, and returns nil once it ran guest code; otherwise QEMU's last
// line of complaint, or that it hung.
func ProbeGuest(ctx context.Context, h Host, accel Accel) error {
	f, err := os.CreateTemp(h.Dir, "qemu-probe-*.bin")
	if err != nil {
		return fmt.Errorf("probe firmware: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(probeBIOS()); err != nil {
		f.Close()
		return fmt.Errorf("probe firmware: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("probe firmware: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.Binary, "-accel", string(accel), "-machine", "pc", "-cpu", cpuModel(accel),
		"-nodefaults", "-no-user-config", "-display", "none",
		"-bios", filepath.Clean(f.Name()), "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == probeExit:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("a probe guest hung for %s under %s", probeTimeout, accel)
	case err == nil:
		return fmt.Errorf("a probe guest under %s exited without running", accel)
	case exit == nil:
		return fmt.Errorf("run %s: %w", h.Binary, err)
	}
	return fmt.Errorf("QEMU could not run a guest under %s: %s", accel, complaint(stderr.String(), exit.String()))
}

// complaint is QEMU's first error line in stderr (the cause; an assertion
// or abort may follow it), else its last line, else def; without QEMU's
// "qemu-system-ARCH: " prefix.
func complaint(stderr, def string) string {
	line := lastLine(stderr, def)
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "error:") {
			line = strings.TrimSpace(l)
			break
		}
	}
	if name, rest, ok := strings.Cut(line, ": "); ok && strings.HasPrefix(name, "qemu-system-") {
		line = rest
	}
	return line
}

// cpuModel is the CPU model VMs use under accel: the host's own under
// KVM and HVF, QEMU's richest emulated one under TCG.
func cpuModel(accel Accel) string {
	if accel == AccelTCG {
		return "max"
	}
	return "host"
}

// lastLine is the last non-empty line of s, or def.
func lastLine(s, def string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return def
}

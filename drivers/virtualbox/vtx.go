package virtualbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// CPUInfo is where Linux lists the CPU's flags.
const CPUInfo = "/proc/cpuinfo"

// checkVTX checks that the CPU offers VT-x (flag vmx) or AMD-V (svm), as
// the cpuinfo file at path lists them; VirtualBox runs 64-bit guests only
// with one of them. Without the file (not Linux) there is nothing to read
// and the check passes: startvm's error then says it.
func checkVTX(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	for line := range strings.Lines(string(data)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) != "flags" {
			continue
		}
		for _, f := range strings.Fields(v) {
			if f == "vmx" || f == "svm" {
				return nil
			}
		}
	}
	return fmt.Errorf("this computer's CPU offers no VT-x/AMD-V (no vmx or svm flag in %s), which VirtualBox needs for 64-bit VMs: enable virtualization (VT-x, AMD-V or SVM) in the BIOS/UEFI setup, or nested virtualization when this is itself a VM; --%s skips this check", path, FlagNoVTXCheck)
}

// startError rewords what startvm says when VT-x/AMD-V is unavailable or
// held by another hypervisor; other errors pass through.
func startError(err error, name, goos string) error {
	e := asError(err)
	if e == nil {
		return err
	}
	find := func(statuses ...string) string {
		for _, s := range statuses {
			if e.Has(s) {
				return s
			}
		}
		return ""
	}
	if s := find("VERR_VMX_IN_VMX_ROOT_MODE", "VERR_SVM_IN_USE"); s != "" {
		if goos == "windows" {
			return fmt.Errorf("VirtualBox cannot start %s: another hypervisor holds VT-x/AMD-V (%s), on Windows Hyper-V (with WSL 2, Docker Desktop, Windows Sandbox or Virtualization-based Security): turn it off (bcdedit /set hypervisorlaunchtype off, then reboot), then start the machine again", name, s)
		}
		mod := "kvm_intel"
		if s == "VERR_SVM_IN_USE" {
			mod = "kvm_amd"
		}
		return fmt.Errorf("VirtualBox cannot start %s: another hypervisor holds VT-x/AMD-V (%s), on Linux KVM: stop its VMs (QEMU, libvirt, the qemu driver's machines) and unload it with `sudo modprobe -r %s`, then start the machine again", name, s, mod)
	}
	if s := find("VERR_VMX_NO_VMX", "VERR_SVM_NO_SVM", "VERR_VMX_MSR_ALL_VMX_DISABLED", "VERR_VMX_MSR_VMX_DISABLED", "VERR_SVM_DISABLED"); s != "" {
		return fmt.Errorf("VirtualBox cannot start %s: VT-x/AMD-V is not available (%s): enable virtualization in the BIOS/UEFI setup, or nested virtualization when this computer is itself a VM", name, s)
	}
	if s := find("VERR_NEM_NOT_AVAILABLE", "VERR_NEM_INIT_FAILED", "VERR_NEM_VM_CREATE_FAILED"); s != "" && goos == "windows" {
		return fmt.Errorf("VirtualBox cannot start %s beside Hyper-V (%s): turn Hyper-V off (bcdedit /set hypervisorlaunchtype off, then reboot), or turn on the Windows Hypervisor Platform feature for VirtualBox to run on it", name, s)
	}
	return err
}

package qemu

import (
	"errors"

	"golang.org/x/sys/unix"
)

func kvmAPI(string) error { return errors.New("KVM exists only on Linux") }

// hvfSupported asks the kernel whether Hypervisor.framework works here.
func hvfSupported() error {
	v, err := unix.SysctlUint32("kern.hv_support")
	if err != nil || v != 1 {
		return errors.New("Hypervisor.framework is not supported on this Mac (kern.hv_support is not 1)")
	}
	return nil
}

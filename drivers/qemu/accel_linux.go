package qemu

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// kvmAPIVersion is the only KVM API version Linux has had since 2.6.22.
const kvmAPIVersion = 12

// kvmGetAPIVersion is the KVM_GET_API_VERSION ioctl, _IO(0xAE, 0x00).
const kvmGetAPIVersion = 0xAE00

// kvmAPI opens the KVM device read-write and asks its API version.
func kvmAPI(dev string) error {
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s does not exist (KVM is not enabled in the kernel or the BIOS, or this is a VM without nested virtualization)", dev)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s: permission denied (add your user to the kvm group and log in again)", dev)
	case err != nil:
		return fmt.Errorf("open %s: %w", dev, err)
	}
	defer f.Close()
	v, err := unix.IoctlRetInt(int(f.Fd()), kvmGetAPIVersion)
	if err != nil {
		return fmt.Errorf("%s is not a KVM device: %w", dev, err)
	}
	if v != kvmAPIVersion {
		return fmt.Errorf("%s speaks KVM API %d, not %d", dev, v, kvmAPIVersion)
	}
	return nil
}

func hvfSupported() error { return errors.New("HVF exists only on macOS") }

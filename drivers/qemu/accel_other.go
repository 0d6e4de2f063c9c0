//go:build !linux && !darwin

package qemu

import "errors"

func kvmAPI(string) error { return errors.New("KVM exists only on Linux") }

func hvfSupported() error { return errors.New("HVF exists only on macOS") }

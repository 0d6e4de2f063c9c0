package vmimage

import (
	"fmt"
	"runtime"
)

// The default images: Debian 13 (trixie) genericcloud, a qcow2 with
// cloud-init and a kernel with the virtio drivers (the "nocloud" variant has
// no cloud-init, "generic" adds drivers for bare metal). Each release's
// latest/ directory holds the current build and, beside it, SHA512SUMS.
const (
	DefaultImageAMD64 = "https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-amd64.qcow2"
	DefaultImageARM64 = "https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-arm64.qcow2"
)

// The default raw images, for hypervisors that read no qcow2 (VirtualBox
// converts a raw image itself): Debian 13 "generic", whose kernel has the
// drivers of emulated hardware (Intel PRO/1000 NICs, AHCI disks) that the
// genericcloud kernel lacks. They sit beside the qcow2 images, under the
// same SHA512SUMS.
const (
	DefaultRawImageAMD64 = "https://cloud.debian.org/images/cloud/trixie/latest/debian-13-generic-amd64.raw"
	DefaultRawImageARM64 = "https://cloud.debian.org/images/cloud/trixie/latest/debian-13-generic-arm64.raw"
)

// DefaultImageURL returns the default image for the host's architecture.
func DefaultImageURL() (string, error) { return defaultImageURL(runtime.GOARCH) }

// DefaultRawImageURL returns the default raw image for the host's
// architecture.
func DefaultRawImageURL() (string, error) { return defaultRawImageURL(runtime.GOARCH) }

func defaultImageURL(goarch string) (string, error) {
	switch goarch {
	case "amd64":
		return DefaultImageAMD64, nil
	case "arm64":
		return DefaultImageARM64, nil
	}
	return "", fmt.Errorf("no default image for the %s architecture: give an image URL", goarch)
}

func defaultRawImageURL(goarch string) (string, error) {
	switch goarch {
	case "amd64":
		return DefaultRawImageAMD64, nil
	case "arm64":
		return DefaultRawImageARM64, nil
	}
	return "", fmt.Errorf("no default image for the %s architecture: give an image URL", goarch)
}

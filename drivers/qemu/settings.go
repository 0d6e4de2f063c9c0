package qemu

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/libmachine/vmimage"
)

// Flag names of `create -d qemu`.
const (
	FlagMemory        = "qemu-memory"
	FlagCPUCount      = "qemu-cpu-count"
	FlagDiskSize      = "qemu-disk-size"
	FlagImageURL      = "qemu-image-url"
	FlagImageChecksum = "qemu-image-checksum"
	FlagAccel         = "qemu-accel"
	FlagBinary        = "qemu-binary"
	FlagFirmware      = "qemu-firmware"
	FlagSSHPort       = "qemu-ssh-port"
	FlagEnginePort    = "qemu-engine-port"
)

// Defaults of the flags.
const (
	DefaultMemoryMB   = 2048
	DefaultCPUs       = 2
	DefaultDiskSizeMB = 20000
)

// Settings are a qemu machine's flag values, checked.
type Settings struct {
	MemoryMB   int
	CPUs       int
	DiskSizeMB int
	// ImageURL is an http(s) URL or a local path; empty means the default
	// cloud image.
	ImageURL string
	// ImageChecksum is "ALGORITHM:HEX" (or bare hex); empty means the
	// checksum file its publisher serves beside the image.
	ImageChecksum string
	Accel         Accel
	Binary        string // empty means qemu-system-ARCH on PATH
	Firmware      string // UEFI code file; empty means the OS's usual places
	// SSHPort and EnginePort are loopback ports; 0 means a free one.
	SSHPort    int
	EnginePort int
}

// Flags are the flags of `create -d qemu`, each with its QEMU_* variable.
func Flags() []drivers.Flag {
	return []drivers.Flag{
		{Name: FlagMemory, Kind: drivers.FlagInt, EnvVar: "QEMU_MEMORY", Default: strconv.Itoa(DefaultMemoryMB),
			Usage: "memory of the VM in MB"},
		{Name: FlagCPUCount, Kind: drivers.FlagInt, EnvVar: "QEMU_CPU_COUNT", Default: strconv.Itoa(DefaultCPUs),
			Usage: "number of virtual CPUs"},
		{Name: FlagDiskSize, Kind: drivers.FlagInt, EnvVar: "QEMU_DISK_SIZE", Default: strconv.Itoa(DefaultDiskSizeMB),
			Usage: "size of the VM's disk in MB"},
		{Name: FlagImageURL, Kind: drivers.FlagString, EnvVar: "QEMU_IMAGE_URL",
			Usage: "cloud image to boot, an http(s) URL or a local path, qcow2 or raw (default: a current Debian cloud image)"},
		{Name: FlagImageChecksum, Kind: drivers.FlagString, EnvVar: "QEMU_IMAGE_CHECKSUM",
			Usage: "checksum of the image, sha256:HEX or sha512:HEX (default: from the checksum file served beside it)"},
		{Name: FlagAccel, Kind: drivers.FlagString, EnvVar: "QEMU_ACCEL", Default: string(AccelAuto),
			Usage: "accelerator: auto (KVM or HVF where it works, else TCG), kvm, hvf or tcg"},
		{Name: FlagBinary, Kind: drivers.FlagString, EnvVar: "QEMU_BINARY",
			Usage: "QEMU binary (default: qemu-system-ARCH on PATH)"},
		{Name: FlagFirmware, Kind: drivers.FlagString, EnvVar: "QEMU_FIRMWARE",
			Usage: "UEFI firmware code file, its variable store beside it (default: found where the OS's package puts it)"},
		{Name: FlagSSHPort, Kind: drivers.FlagInt, EnvVar: "QEMU_SSH_PORT",
			Usage: "loopback port forwarded to the VM's SSH server; 0 picks a free one"},
		{Name: FlagEnginePort, Kind: drivers.FlagInt, EnvVar: "QEMU_ENGINE_PORT",
			Usage: "loopback port forwarded to the VM's Docker engine; 0 picks a free one"},
	}
}

// SettingsFromFlags reads and checks the flag values, reporting every
// invalid one; the errors wrap drivers.ErrInvalidConfig.
func SettingsFromFlags(opts drivers.Options) (Settings, error) {
	c := drivers.Check{Opts: opts}
	invalid, intFlag := c.Invalid, c.IntAtLeast
	port := func(name string) int {
		if _, ok := opts[name]; !ok {
			return 0
		}
		p := opts.Int(name)
		if p < 0 || p > 65535 {
			invalid("--%s %v is not a port (1-65535, or 0 for a free one)", name, opts[name])
		}
		return p
	}
	s := Settings{
		MemoryMB:      intFlag(FlagMemory, DefaultMemoryMB, 256, " (MB)"),
		CPUs:          intFlag(FlagCPUCount, DefaultCPUs, 1, ""),
		DiskSizeMB:    intFlag(FlagDiskSize, DefaultDiskSizeMB, 1024, " (MB)"),
		ImageURL:      strings.TrimSpace(opts.String(FlagImageURL)),
		ImageChecksum: strings.TrimSpace(opts.String(FlagImageChecksum)),
		Accel:         Accel(strings.ToLower(strings.TrimSpace(opts.String(FlagAccel)))),
		Binary:        opts.String(FlagBinary),
		Firmware:      opts.String(FlagFirmware),
		SSHPort:       port(FlagSSHPort),
		EnginePort:    port(FlagEnginePort),
	}
	if s.Accel == "" {
		s.Accel = AccelAuto
	}
	switch s.Accel {
	case AccelAuto, AccelKVM, AccelHVF, AccelTCG:
	default:
		invalid("--%s %q: use auto, kvm, hvf or tcg", FlagAccel, s.Accel)
	}
	if !vmimage.ValidURL(s.ImageURL) {
		invalid("--%s %q: give an http(s) URL or a local path", FlagImageURL, s.ImageURL)
	}
	if s.SSHPort != 0 && s.SSHPort == s.EnginePort {
		invalid("--%s and --%s are both %d: give them different ports", FlagSSHPort, FlagEnginePort, s.SSHPort)
	}
	return s, c.Err()
}

// Resolved is what a machine's settings come to on this host.
type Resolved struct {
	Binary   string
	Arch     string
	Accel    Accel // kvm, hvf or tcg
	Firmware Firmware
	// Warning is a line to show the user (TCG chosen by auto), or empty.
	Warning string
}

// Resolve finds the binary, firmware and accelerator for s on a host
// (runtime.GOOS, runtime.GOARCH; firmware below root, "/" on a real
// system) and checks that given ports are free: what `create` checks
// before it makes anything. Each error is one line naming what to do.
func Resolve(ctx context.Context, s Settings, goos, goarch, root string) (Resolved, error) {
	arch, err := GuestArch(goarch)
	if err != nil {
		return Resolved{}, err
	}
	bin, err := FindBinary(s.Binary, arch)
	if err != nil {
		return Resolved{}, err
	}
	var fw Firmware
	if s.Firmware != "" {
		fw, err = FirmwareFrom(s.Firmware)
	} else {
		fw, err = FindFirmware(root, arch)
	}
	if err != nil {
		return Resolved{}, err
	}
	accel, warning, err := DetectAccel(ctx, s.Accel, Host{GOOS: goos, Arch: arch, Binary: bin, KVMDevice: filepath.Join(root, "dev", "kvm")})
	if err != nil {
		return Resolved{}, err
	}
	if _, _, err := Ports(s.SSHPort, s.EnginePort); err != nil {
		return Resolved{}, err
	}
	return Resolved{Binary: bin, Arch: arch, Accel: accel, Firmware: fw, Warning: warning}, nil
}

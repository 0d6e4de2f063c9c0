// Package qemuimg makes the disks of local VMs with qemu-img: a
// copy-on-write qcow2 over a cached base image for each machine (the qemu
// driver), and conversions to the formats of other hypervisors (VirtualBox's
// VDI or VMDK).
package qemuimg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// Binary is the name of the tool looked up on PATH.
const Binary = "qemu-img"

// mib is a MiB, the unit of disk sizes ("--qemu-disk-size 20000" is
// 20000 MiB, as qemu-img's "M" suffix).
const mib = 1 << 20

// ErrNotInstalled: qemu-img is not on PATH.
var ErrNotInstalled = errors.New(Binary + " not found")

// Tool runs one qemu-img binary.
type Tool struct{ path string }

// Find returns the qemu-img on PATH, or ErrNotInstalled with the package
// to install on this system.
func Find() (Tool, error) {
	p, err := exec.LookPath(Binary)
	if err != nil {
		osRelease, _ := os.ReadFile("/etc/os-release")
		return Tool{}, fmt.Errorf("%w: %s", ErrNotInstalled, installHint(runtime.GOOS, osRelease))
	}
	return Tool{path: p}, nil
}

// Path returns the binary's path.
func (t Tool) Path() string { return t.path }

// installHint names the package that has qemu-img on the system goos with
// the given /etc/os-release.
func installHint(goos string, osRelease []byte) string {
	if goos == "darwin" {
		return "install it with Homebrew: brew install qemu"
	}
	var ids []string
	for _, line := range strings.Split(string(osRelease), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok && (k == "ID" || k == "ID_LIKE") {
			ids = append(ids, strings.Fields(strings.ToLower(strings.Trim(v, `"'`)))...)
		}
	}
	for _, id := range ids {
		switch id {
		case "debian", "ubuntu":
			return "install the qemu-utils package (sudo apt-get install qemu-utils)"
		case "fedora", "rhel", "centos":
			return "install the qemu-img package (sudo dnf install qemu-img)"
		case "arch":
			return "install the qemu-img package (sudo pacman -S qemu-img)"
		case "alpine":
			return "install the qemu-img package (sudo apk add qemu-img)"
		case "suse", "opensuse":
			return "install the qemu-tools package (sudo zypper install qemu-tools)"
		}
	}
	return "install qemu-img (package qemu-utils on Debian and Ubuntu, qemu-img on Fedora, qemu on Homebrew)"
}

// Info is what qemu-img reports about an image.
type Info struct {
	// Format is the image's format: "qcow2", "raw", "vdi", "vmdk", ...
	Format string `json:"format"`
	// VirtualSize is the size of the disk the guest sees, in bytes.
	VirtualSize int64 `json:"virtual-size"`
	// ActualSize is the space the image takes on the host, in bytes.
	ActualSize int64 `json:"actual-size"`
	// BackingFile is the image's backing file as recorded in it, if any.
	BackingFile string `json:"backing-filename"`
	// BackingFormat is the backing file's recorded format, if any.
	BackingFormat string `json:"backing-filename-format"`
}

// Info probes the image at path (qemu-img info --output=json). It opens
// the image shared (-U), so it also reads the base image of running VMs.
func (t Tool) Info(ctx context.Context, path string) (Info, error) {
	out, err := t.run(ctx, "info", "-U", "--output=json", path)
	if err != nil {
		return Info{}, err
	}
	var info Info
	if err := json.Unmarshal(out, &info); err != nil {
		return Info{}, fmt.Errorf("%s info %s: %w", Binary, path, err)
	}
	if info.Format == "" {
		return Info{}, fmt.Errorf("%s info %s: no format reported", Binary, path)
	}
	return info, nil
}

// CreateOverlay makes disk a copy-on-write qcow2 over base, sizeMB MiB
// large: the guest sees base's content, and its writes go to disk only. It
// fails, leaving nothing, when disk exists, when sizeMB is smaller than
// base, or when base has a backing file of its own (an image from elsewhere
// must not make qemu open host files). base must stay where it is for as
// long as disk is used; its path is recorded absolute.
func (t Tool) CreateOverlay(ctx context.Context, base, disk string, sizeMB int64) error {
	base, err := filepath.Abs(base)
	if err != nil {
		return fmt.Errorf("disk %s: %w", disk, err)
	}
	info, err := t.Info(ctx, base)
	if err != nil {
		return fmt.Errorf("disk %s: base image: %w", disk, err)
	}
	if info.BackingFile != "" {
		return fmt.Errorf("disk %s: the image %s has a backing file (%s); use a standalone image", disk, base, info.BackingFile)
	}
	if sizeMB*mib < info.VirtualSize {
		return fmt.Errorf("disk %s: the disk size %d MB is smaller than the image's %d MB", disk, sizeMB, (info.VirtualSize+mib-1)/mib)
	}
	return t.createNew(ctx, disk, func(tmp string) []string {
		return []string{"create", "-q", "-f", "qcow2", "-F", info.Format, "-b", base, tmp, fmt.Sprintf("%dM", sizeMB)}
	})
}

// Convert writes src's content to dst in format ("vdi" and "vmdk" for
// VirtualBox, "raw", "qcow2"). It fails, leaving nothing, when dst exists.
func (t Tool) Convert(ctx context.Context, src, dst, format string) error {
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("convert %s: %w", src, err)
	}
	return t.createNew(ctx, dst, func(tmp string) []string {
		return []string{"convert", "-q", "-O", format, src, tmp}
	})
}

// createNew runs the qemu-img command args(tmp) that writes a new image at
// a temporary path beside path, then links it to path, which must not
// exist: an interrupted command leaves no half-written image at path, and
// a disk that exists is never replaced.
func (t Tool) createNew(ctx context.Context, path string, args func(tmp string) []string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("disk %s: %w", path, os.ErrExist)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("disk %s: %w", path, err)
	}
	name := tmp.Name()
	_ = tmp.Close()
	defer os.Remove(name)
	if _, err := t.run(ctx, args(name)...); err != nil {
		return fmt.Errorf("disk %s: %w", path, err)
	}
	if err := syncFile(name); err != nil {
		return fmt.Errorf("disk %s: %w", path, err)
	}
	// link fails when path appeared meanwhile, where rename would replace it.
	if err := os.Link(name, path); err != nil {
		return fmt.Errorf("disk %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// syncFile flushes a file qemu-img wrote to disk.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// run runs qemu-img; an error carries its last line of stderr.
func (t Tool) run(ctx context.Context, args ...string) ([]byte, error) {
	if t.path == "" {
		return nil, fmt.Errorf("%w (the Tool was not made by Find)", ErrNotInstalled)
	}
	cmd := exec.CommandContext(ctx, t.path, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimPrefix(lastLine(stderr.String()), Binary+": ")
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("%s %s: %s", Binary, args[0], msg)
	}
	return out, nil
}

// lastLine returns the last non-empty line of s, trimmed.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

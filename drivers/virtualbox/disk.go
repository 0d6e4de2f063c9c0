package virtualbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/machine-cli/machine/libmachine/qemuimg"
)

// Image formats, as VBoxManage names them.
const (
	FormatRaw   = "RAW"
	FormatVDI   = "VDI"
	FormatVMDK  = "VMDK"
	FormatVHD   = "VHD"
	FormatQCOW2 = "QCOW2"
)

// DetectFormat reads an image's format from its first and last bytes:
// qcow2 ("QFI\xfb"), VDI (its "<<< ... >>>" banner and signature), VMDK
// (sparse "KDMV" or a text descriptor), VHD ("conectix" at the start of a
// dynamic image or in the footer of a fixed one); anything else is raw.
func DetectFormat(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", err
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("QFI\xfb")):
		return FormatQCOW2, nil
	case len(head) >= 0x44 && bytes.Equal(head[0x40:0x44], []byte{0x7f, 0x10, 0xda, 0xbe}):
		return FormatVDI, nil
	case bytes.HasPrefix(head, []byte("KDMV")), bytes.HasPrefix(head, []byte("# Disk DescriptorFile")):
		return FormatVMDK, nil
	case bytes.HasPrefix(head, []byte("conectix")):
		return FormatVHD, nil
	}
	if fi, err := f.Stat(); err == nil && fi.Size() >= 512 {
		foot := make([]byte, 8)
		if _, err := f.ReadAt(foot, fi.Size()-512); err == nil && string(foot) == "conectix" {
			return FormatVHD, nil
		}
	}
	return FormatRaw, nil
}

// makeDisk writes the VDI disk at dst from the image src and grows it to
// sizeMB: a raw image with `VBoxManage convertfromraw`, a VDI, VMDK or VHD
// with `clonemedium`, a qcow2 (which VirtualBox cannot read) with
// qemu-img, which must then be installed. Shrinking is refused.
// The disk of another VM (imported) is VirtualBox's already: cloned as it
// is, and left registered.
func makeDisk(ctx context.Context, vbm Runner, src, dst string, sizeMB int, imported bool) error {
	format := FormatVDI
	if !imported {
		var err error
		if format, err = DetectFormat(src); err != nil {
			return fmt.Errorf("image: %w", err)
		}
	}
	switch format {
	case FormatRaw:
		fi, err := os.Stat(src)
		if err != nil {
			return fmt.Errorf("image: %w", err)
		}
		if need := (fi.Size() + mib - 1) / mib; int64(sizeMB) < need {
			return fmt.Errorf("--%s %d MB is smaller than the image %s (%d MB): give at least %d", FlagDiskSize, sizeMB, src, need, need)
		}
		if _, err := vbm.Run(ctx, "convertfromraw", src, dst, "--format", FormatVDI); err != nil {
			return fmt.Errorf("disk: %w", err)
		}
	case FormatQCOW2:
		tool, err := qemuimg.Find()
		if err != nil {
			return fmt.Errorf("the image %s is qcow2, which VirtualBox cannot read, and converting it needs qemu-img (%v), or give a raw, VDI, VMDK or VHD image with --%s", src, err, FlagImageURL)
		}
		if err := tool.Convert(ctx, src, dst, "vdi"); err != nil {
			return fmt.Errorf("disk: %w", err)
		}
	default:
		if _, err := vbm.Run(ctx, "clonemedium", "disk", src, dst, "--format", FormatVDI); err != nil {
			return fmt.Errorf("disk: %w", err)
		}
		if !imported {
			// clonemedium registered the source too; the cache's
			// image is not VirtualBox's to keep.
			_, _ = vbm.Run(ctx, "closemedium", "disk", src)
		}
	}
	if _, err := vbm.Run(ctx, "modifymedium", "disk", dst, "--resize", strconv.Itoa(sizeMB)); err != nil {
		if e := asError(err); e != nil && e.Says("not yet supported") {
			return fmt.Errorf("--%s %d MB is smaller than the image's disk: give a larger size: %w", FlagDiskSize, sizeMB, err)
		}
		return fmt.Errorf("disk: %w", err)
	}
	return nil
}

// mib is a MiB; disk sizes are in MiB, as VBoxManage's --resize.
const mib = 1 << 20

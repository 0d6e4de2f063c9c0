package vboxstandin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/machine-cli/machine/libmachine/qemuimg"
)

// mediumFormats are the formats VBoxManage writes, as qemu-img names them.
var mediumFormats = map[string]string{"VDI": "vdi", "VMDK": "vmdk", "VHD": "vpc", "RAW": "raw"}

// qemuImg runs qemu-img with args.
func (c *invocation) qemuImg(args ...string) error {
	tool, err := qemuimg.Find()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	out, err := exec.CommandContext(ctx, tool.Path(), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("qemu-img %s: %v: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return nil
}

// virtualSize is an image's size in bytes.
func (c *invocation) virtualSize(path, format string) (int64, error) {
	tool, err := qemuimg.Find()
	if err != nil {
		return 0, err
	}
	info, err := tool.Info(c.ctx, path)
	if err != nil {
		return 0, err
	}
	return info.VirtualSize, nil
}

// convertFromRaw answers `convertfromraw IN OUT [--format VDI|VMDK|VHD]
// [--variant ...] [--uuid U]` (VBoxManageDisk.cpp, handleConvertFromRaw):
// a real conversion with qemu-img; the image is not registered.
func (c *invocation) convertFromRaw(args []string) int {
	opts, code, ok := c.parse(args, []optDef{
		{names: []string{"--format", "-format", "-o"}, value: true},
		{names: []string{"--variant", "-variant", "-m"}, value: true},
		{names: []string{"--uuid", "-u"}, value: true},
		{names: []string{"--static"}},
	})
	if !ok {
		return code
	}
	var files []string
	format := "VDI"
	for _, o := range opts {
		switch o.name {
		case "":
			files = append(files, o.operand)
		case "--format":
			format = strings.ToUpper(o.value)
		}
	}
	if len(files) != 2 {
		return c.syntaxError("Incorrect number of parameters")
	}
	src, dst := files[0], files[1]
	qf, ok := mediumFormats[format]
	if !ok || format == "RAW" {
		return c.msgError("Cannot create the disk image \"%s\": VERR_INVALID_PARAMETER", dst)
	}
	fmt.Fprintf(c.errw, "Converting from raw image file=\"%s\" to file=\"%s\"...\n", src, dst)
	fi, err := os.Stat(src)
	if err != nil {
		return c.msgError("Cannot open file \"%s\": VERR_FILE_NOT_FOUND", src)
	}
	size := fi.Size()
	fmt.Fprintf(c.errw, "Creating dynamic image with size %d bytes (%dMB)...\n", size, (size+(1<<20)-1)>>20)
	if _, err := os.Stat(dst); err == nil {
		return c.msgError("Cannot create the disk image \"%s\": VERR_ALREADY_EXISTS", dst)
	}
	if err := c.qemuImg("convert", "-q", "-f", "raw", "-O", qf, src, dst); err != nil {
		_ = os.Remove(dst)
		return c.msgError("Cannot create the disk image \"%s\": %v", dst, err)
	}
	return exitOK
}

// mediumOperands reads closemedium's and modifymedium's optional device
// word (disk, dvd, floppy) and the medium.
func mediumOperand(operands []string) (device, medium string, ok bool) {
	device = "disk"
	if len(operands) == 2 {
		device, operands = operands[0], operands[1:]
	}
	if len(operands) != 1 {
		return "", "", false
	}
	return device, operands[0], true
}

// cloneMedium answers `clonemedium [disk|dvd|floppy] SRC DST [--format F]
// [--variant V] [--existing]` (handleCloneMedium): a real conversion with
// qemu-img; source and clone are registered, as CloneTo leaves them.
func (c *invocation) cloneMedium(args []string) int {
	opts, code, ok := c.parse(args, []optDef{
		{names: []string{"--format", "-format", "-o"}, value: true},
		{names: []string{"--variant", "-variant", "-m"}, value: true},
		{names: []string{"--type", "-type"}, value: true},
		{names: []string{"--existing", "-existing"}},
		{names: []string{"--resize"}, value: true},
	})
	if !ok {
		return code
	}
	var operands []string
	format := ""
	for _, o := range opts {
		switch o.name {
		case "":
			operands = append(operands, o.operand)
		case "--format":
			format = strings.ToUpper(o.value)
		}
	}
	if len(operands) == 3 && (operands[0] == "disk" || operands[0] == "dvd" || operands[0] == "floppy") {
		operands = operands[1:]
	}
	if len(operands) != 2 {
		return c.syntaxError("Incorrect number of parameters")
	}
	src, e := c.openMedium(operands[0], "hdd")
	if e != nil {
		return c.fail(e)
	}
	if format == "" {
		format = src.Format
		if format == "RAW" {
			format = "VDI"
		}
	}
	qf, ok := mediumFormats[format]
	if !ok {
		return c.fail(&comError{
			Text: fmt.Sprintf("Invalid medium storage format '%s'", format),
			Code: eInvalidArg, Component: "MediumWrap", Interface: "IMedium", Callee: "nsISupports",
			Where: &site{"CreateMedium(Bstr(pszFormat).raw(), Bstr(pszFilename).raw(), enmAccessMode, enmDevType, pMedium.asOutParam())", "VBoxManageDisk.cpp", 225, 235},
		})
	}
	dst, err := filepath.Abs(operands[1])
	if err != nil {
		dst = operands[1]
	}
	where := &site{"RTEXITCODE handleCloneMedium(HandlerArg*)", "VBoxManageDisk.cpp", 1071, 1208}
	if _, err := os.Stat(dst); err == nil {
		fmt.Fprint(c.errw, "0%...\nProgress state: VBOX_E_FILE_ERROR\n")
		fmt.Fprintln(c.errw, "VBoxManage: error: Failed to clone medium")
		return c.fail(&comError{Text: fmt.Sprintf("Could not create the clone medium '%s' (VERR_ALREADY_EXISTS)", dst), Code: vboxFileError, Component: "MediumWrap", Interface: "IMedium", Where: where})
	}
	if err := c.qemuImg("convert", "-q", "-f", qemuFormats[src.Format], "-O", qf, src.Location, dst); err != nil {
		_ = os.Remove(dst)
		fmt.Fprint(c.errw, "0%...\nProgress state: VBOX_E_FILE_ERROR\n")
		fmt.Fprintln(c.errw, "VBoxManage: error: Failed to clone medium")
		return c.fail(&comError{Text: fmt.Sprintf("Could not create the clone medium '%s' (%v)", dst, err), Code: vboxFileError, Component: "MediumWrap", Interface: "IMedium", Where: where})
	}
	c.progress()
	m := &Medium{UUID: newUUID(), Location: dst, Format: format, Device: "HardDisk"}
	c.s.state.Media = append(c.s.state.Media, m)
	c.dirty = true
	fmt.Fprintf(c.out, "Clone medium created in format '%s'. UUID: %s\n", format, m.UUID)
	return exitOK
}

// modifyMedium answers `modifymedium [disk] M --resize MB | --resizebyte N`
// (handleModifyMedium), resizing for real; VMDK resizes on 7.0 only
// (6.1's VMDK backend has no resize, src/VBox/Storage/VMDK.cpp).
func (c *invocation) modifyMedium(args []string) int {
	opts, code, ok := c.parse(args, []optDef{
		{names: []string{"--resize", "-resize"}, value: true},
		{names: []string{"--resizebyte"}, value: true},
		{names: []string{"--type", "-type"}, value: true},
		{names: []string{"--autoreset", "-autoreset"}, value: true},
		{names: []string{"--property"}, value: true},
		{names: []string{"--compact", "-compact"}},
		{names: []string{"--move"}, value: true},
		{names: []string{"--setlocation"}, value: true},
		{names: []string{"--description"}, value: true},
	})
	if !ok {
		return code
	}
	var operands []string
	var newSize int64 = -1
	for _, o := range opts {
		switch o.name {
		case "":
			operands = append(operands, o.operand)
		case "--resize":
			n, ok := atoi(o.value)
			if !ok {
				return c.getOptError("Invalid argument format: %s", o.value)
			}
			newSize = int64(n) << 20
		case "--resizebyte":
			n, ok := atoi(o.value)
			if !ok {
				return c.getOptError("Invalid argument format: %s", o.value)
			}
			newSize = int64(n)
		}
	}
	_, ref, ok := mediumOperand(operands)
	if !ok {
		return c.syntaxError("Medium name or UUID required")
	}
	m, e := c.openMedium(ref, "hdd")
	if e != nil {
		return c.fail(e)
	}
	if newSize < 0 {
		return exitOK
	}
	size, err := c.virtualSize(m.Location, m.Format)
	if err != nil {
		return c.msgError("Failed to resize medium! (%v)", err)
	}
	where := siteModifyMedium
	if newSize < size {
		fmt.Fprint(c.errw, "0%...\nProgress state: VBOX_E_NOT_SUPPORTED\n")
		fmt.Fprintln(c.errw, "VBoxManage: error: Failed to resize medium")
		return c.fail(&comError{Text: fmt.Sprintf("Shrinking is not yet supported for medium '%s'", m.Location), Code: vboxNotSupported, Component: "MediumWrap", Interface: "IMedium", Where: where})
	}
	if m.Format == "VMDK" && !c.s.v7() || m.Format == "RAW" {
		fmt.Fprint(c.errw, "0%...\nProgress state: VBOX_E_NOT_SUPPORTED\n")
		fmt.Fprintln(c.errw, "VBoxManage: error: Failed to resize medium")
		return c.fail(&comError{Text: fmt.Sprintf("Resizing to new size %d is not yet supported for medium '%s'", newSize, m.Location), Code: vboxNotSupported, Component: "MediumWrap", Interface: "IMedium", Where: where})
	}
	if newSize > size {
		if err := c.resize(m, newSize); err != nil {
			fmt.Fprint(c.errw, "0%...\nProgress state: VBOX_E_FILE_ERROR\n")
			fmt.Fprintln(c.errw, "VBoxManage: error: Failed to resize medium")
			return c.fail(&comError{Text: fmt.Sprintf("Could not resize medium '%s' (%v)", m.Location, err), Code: vboxFileError, Component: "MediumWrap", Interface: "IMedium", Where: where})
		}
	}
	c.progress()
	return exitOK
}

// resize grows m to size bytes: qemu-img cannot resize VDI or VMDK, so a
// new image of the size gets m's content (convert -n), then replaces m.
func (c *invocation) resize(m *Medium, size int64) error {
	next := m.Location + ".standin-resize"
	defer os.Remove(next)
	qf := qemuFormats[m.Format]
	if err := c.qemuImg("create", "-q", "-f", qf, next, fmt.Sprint(size)); err != nil {
		return err
	}
	if err := c.qemuImg("convert", "-q", "-n", "--target-is-zero", "-f", qf, "-O", qf, m.Location, next); err != nil {
		return err
	}
	return os.Rename(next, m.Location)
}

// closeMedium answers `closemedium [disk|dvd|floppy] M [--delete]`
// (handleCloseMedium): unregisters the medium, deleting its file with
// --delete; a medium still attached is refused.
func (c *invocation) closeMedium(args []string) int {
	opts, code, ok := c.parse(args, []optDef{{names: []string{"--delete", "-delete"}}})
	if !ok {
		return code
	}
	var operands []string
	del := false
	for _, o := range opts {
		if o.name == "" {
			operands = append(operands, o.operand)
		} else {
			del = true
		}
	}
	device, ref, ok := mediumOperand(operands)
	if !ok {
		return c.syntaxError("Medium name or UUID required")
	}
	typ := "hdd"
	if device == "dvd" {
		typ = "dvddrive"
	}
	m, e := c.openMedium(ref, typ)
	if e != nil {
		return c.fail(e)
	}
	if n := c.attachedTo(m); n > 0 {
		closeSite := &site{"Close()", "VBoxManageDisk.cpp", 1736, 1875}
		if del {
			return c.fail(&comError{
				Text: fmt.Sprintf("Cannot delete storage: medium '%s' is still attached to the following %d virtual machine(s): %s", m.Location, n, c.attachedNames(m)),
				Code: vboxObjectInUse, Component: "MediumWrap", Interface: "IMedium", Callee: "nsISupports",
				Where: &site{"DeleteStorage(pProgress.asOutParam())", "VBoxManageDisk.cpp", 1727, 1866},
			})
		}
		return c.fail(&comError{
			Text: fmt.Sprintf("Medium '%s' cannot be closed because it is still attached to %d virtual machines", m.Location, n),
			Code: vboxObjectInUse, Component: "MediumWrap", Interface: "IMedium", Callee: "nsISupports", Where: closeSite,
		})
	}
	if del {
		if err := os.Remove(m.Location); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return c.msgError("Failed to delete medium. Error code VBOX_E_FILE_ERROR (%v)", err)
		}
		c.progress()
	}
	c.removeMedium(m)
	return exitOK
}

// vboxObjectInUse is VBOX_E_OBJECT_IN_USE.
var vboxObjectInUse = hresult{"VBOX_E_OBJECT_IN_USE", 0x80bb000c}

// attachedTo counts the VMs m is attached to.
func (c *invocation) attachedTo(m *Medium) int {
	n := 0
	for _, vm := range c.s.state.VMs {
		if vm.uses(m) {
			n++
		}
	}
	return n
}

func (c *invocation) attachedNames(m *Medium) string {
	var names []string
	for _, vm := range c.s.state.VMs {
		if vm.uses(m) {
			names = append(names, fmt.Sprintf("%s {%s}", vm.Name, vm.UUID))
		}
	}
	return strings.Join(names, ", ")
}

// uses tells whether m is attached to vm.
func (vm *VM) uses(m *Medium) bool {
	for _, ctl := range vm.Storage {
		for _, a := range ctl.Attachments {
			if a.Medium == m.UUID {
				return true
			}
		}
	}
	return false
}

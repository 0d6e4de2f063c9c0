package virtualbox

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// image writes a file of size bytes starting with head (and ending with
// tail) and returns its path.
func image(t *testing.T, name string, head []byte, size int, tail []byte) string {
	t.Helper()
	data := make([]byte, size)
	copy(data, head)
	copy(data[size-len(tail):], tail)
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDetectFormat(t *testing.T) {
	vdi := make([]byte, 0x48)
	copy(vdi, "<<< Oracle VM VirtualBox Disk Image >>>\n")
	copy(vdi[0x40:], []byte{0x7f, 0x10, 0xda, 0xbe})
	for _, tc := range []struct {
		name       string
		head, tail []byte
		want       string
	}{
		{"disk.qcow2", []byte("QFI\xfb\x00\x00\x00\x03"), nil, FormatQCOW2},
		{"disk.vdi", vdi, nil, FormatVDI},
		{"disk.vmdk", []byte("KDMV\x01\x00\x00\x00"), nil, FormatVMDK},
		{"desc.vmdk", []byte("# Disk DescriptorFile\nversion=1\n"), nil, FormatVMDK},
		{"dynamic.vhd", []byte("conectix\x00\x00\x00\x02"), nil, FormatVHD},
		{"fixed.vhd", nil, append([]byte("conectix"), make([]byte, 504)...), FormatVHD},
		{"debian.raw", []byte{0xeb, 0x63, 0x90}, nil, FormatRaw},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DetectFormat(image(t, tc.name, tc.head, 4096, tc.tail))
			if err != nil || got != tc.want {
				t.Errorf("= %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if _, err := DetectFormat(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("a missing image has a format")
	}
}

// TestMakeDisk: the commands that make the VDI from each kind of image;
// qcow2 without qemu-img, a disk smaller than the image, and VirtualBox's
// refusal to shrink are one line each.
func TestMakeDisk(t *testing.T) {
	raw := image(t, "debian.raw", nil, 2<<20, nil)
	vmdk := image(t, "disk.vmdk", []byte("KDMV"), 4096, nil)
	qcow := image(t, "disk.qcow2", []byte("QFI\xfb"), 4096, nil)
	for _, tc := range []struct {
		name, src string
		size      int
		imported  bool
		setup     func(*fakeVBox)
		path      string
		want      []string
		err       string
	}{
		{name: "raw", src: raw, size: 20000, want: []string{
			"convertfromraw " + raw + " DST --format VDI", "modifymedium disk DST --resize 20000"}},
		{name: "vmdk of the cache", src: vmdk, size: 20000, want: []string{
			"clonemedium disk " + vmdk + " DST --format VDI", "closemedium disk " + vmdk, "modifymedium disk DST --resize 20000"}},
		{name: "another VM's disk", src: "/vms/old/old.vdi", size: 20000, imported: true, want: []string{
			"clonemedium disk /vms/old/old.vdi DST --format VDI", "modifymedium disk DST --resize 20000"}},
		{name: "qcow2 without qemu-img", src: qcow, size: 20000, path: t.TempDir(),
			err: "the image " + qcow + " is qcow2, which VirtualBox cannot read, and converting it needs qemu-img (qemu-img not found: install"},
		{name: "raw larger than the disk", src: image(t, "big.raw", nil, 3<<20, nil), size: 2,
			err: "--virtualbox-disk-size 2 MB is smaller than the image"},
		{name: "shrinking", src: vmdk, size: 1024,
			setup: func(f *fakeVBox) {
				f.fail["modifymedium"] = "VBoxManage: error: Resizing to new size 1073741824 is not yet supported for medium '/m/disk.vdi'\nVBoxManage: error: Details: code VBOX_E_NOT_SUPPORTED (0x80bb0009), component MediumWrap, interface IMedium\n"
			},
			want: []string{"clonemedium disk " + vmdk + " DST --format VDI", "closemedium disk " + vmdk, "modifymedium disk DST --resize 1024"},
			err:  "--virtualbox-disk-size 1024 MB is smaller than the image's disk: give a larger size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.path != "" {
				t.Setenv("PATH", tc.path)
			}
			f := newFake(t, "7.0.14r161095")
			if tc.setup != nil {
				tc.setup(f)
			}
			dst := filepath.Join(t.TempDir(), DiskFile)
			err := makeDisk(t.Context(), f, tc.src, dst, tc.size, tc.imported)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") {
					t.Errorf("err = %v, want one line with %q", err, tc.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			var cmds []string
			for _, c := range f.calls {
				cmds = append(cmds, strings.ReplaceAll(strings.Join(c, " "), dst, "DST"))
			}
			if !slices.Equal(cmds, tc.want) {
				t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(cmds, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestVTX: the CPU's flags decide; without cpuinfo (not Linux) nothing is
// checked.
func TestVTX(t *testing.T) {
	for file, ok := range map[string]bool{"cpuinfo-vmx.txt": true, "cpuinfo-svm.txt": true, "cpuinfo-none.txt": false, "no-such-file": true} {
		err := checkVTX(filepath.Join("testdata", file))
		if (err == nil) != ok {
			t.Errorf("%s: %v", file, err)
		}
		if err != nil && (!strings.Contains(err.Error(), "--virtualbox-no-vtx-check skips this check") || strings.Contains(err.Error(), "\n")) {
			t.Errorf("%s: %q", file, err)
		}
	}
}

// TestStartError: startvm's failures over VT-x name the hypervisor that
// holds it and what to do.
func TestStartError(t *testing.T) {
	for _, tc := range []struct{ file, goos, want string }{
		{"error-vmx-root.txt", "linux", "another hypervisor holds VT-x/AMD-V (VERR_VMX_IN_VMX_ROOT_MODE), on Linux KVM: stop its VMs (QEMU, libvirt, the qemu driver's machines) and unload it with `sudo modprobe -r kvm_intel`"},
		{"error-svm-in-use.txt", "linux", "`sudo modprobe -r kvm_amd`"},
		{"error-vmx-root.txt", "windows", "on Windows Hyper-V (with WSL 2, Docker Desktop, Windows Sandbox or Virtualization-based Security): turn it off (bcdedit /set hypervisorlaunchtype off, then reboot)"},
		{"error-no-vmx.txt", "linux", "VT-x/AMD-V is not available (VERR_VMX_NO_VMX): enable virtualization in the BIOS/UEFI setup"},
		{"error-locked-startvm.txt", "linux", "VBoxManage startvm: The machine 'dev' is already locked by a session"},
		{"error-nem-vmx-disabled.txt", "windows", "VT-x/AMD-V is not available (VERR_VMX_MSR_ALL_VMX_DISABLED): enable virtualization in the BIOS/UEFI setup"},
		{"error-nem-hyperv.txt", "windows", "VirtualBox cannot start dev beside Hyper-V (VERR_NEM_VM_CREATE_FAILED): turn Hyper-V off"},
		{"error-nem-hyperv.txt", "linux", "VBoxManage startvm: Call to WHvSetupPartition failed"},
	} {
		t.Run(tc.file+"-"+tc.goos, func(t *testing.T) {
			err := startError(ParseError([]string{"startvm", "dev"}, readFile(t, tc.file), nil), "dev", tc.goos)
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("= %q, want one line with %q", err, tc.want)
			}
		})
	}
}

func TestFindVBoxManage(t *testing.T) {
	look := func(have ...string) func(string) (string, error) {
		return func(p string) (string, error) {
			if slices.Contains(have, p) {
				return p, nil
			}
			return "", os.ErrNotExist
		}
	}
	env := func(k string) string {
		return map[string]string{"VBOX_MSI_INSTALL_PATH": `C:\Program Files\Oracle\VirtualBox`}[k]
	}
	winPath := filepath.Join(`C:\Program Files\Oracle\VirtualBox`, "VBoxManage.exe")
	if p, err := FindVBoxManage("windows", env, look(winPath, "VBoxManage")); err != nil || p != winPath {
		t.Errorf("windows = %q, %v", p, err)
	}
	if p, err := FindVBoxManage("linux", env, look(winPath, "VBoxManage")); err != nil || p != "VBoxManage" {
		t.Errorf("linux = %q, %v", p, err)
	}
	_, err := FindVBoxManage("linux", env, look())
	if err == nil || !strings.Contains(err.Error(), "VBoxManage not found on PATH: install VirtualBox 6.1 or 7") {
		t.Errorf("missing = %v", err)
	}
}

// TestCommandRun: the command line runner reads VBoxManage's failures,
// also those it exits 0 after, and logs each command for --debug.
func TestCommandRun(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "VBoxManage")
	body := "#!/bin/sh\ncase \"$1\" in\n--version) echo 7.0.14r161095 ;;\nshowvminfo) cat " + filepath.Join(must(filepath.Abs("testdata")), "error-notfound-7.0.txt") + " >&2; exit 1 ;;\nstartvm) echo 'Waiting for VM \"dev\" to power on...'; echo 'VBoxManage: error: VT-x is not available (VERR_VMX_NO_VMX)' >&2 ;;\nesac\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	var debug bytes.Buffer
	c := Command{Path: script, Debug: &debug}
	if out, err := c.Run(t.Context(), "--version"); err != nil || strings.TrimSpace(out) != "7.0.14r161095" {
		t.Errorf("--version = %q, %v", out, err)
	}
	_, err := c.Run(t.Context(), "showvminfo", "dev", "--machinereadable")
	if e := asError(err); e == nil || e.Code != "VBOX_E_OBJECT_NOT_FOUND" {
		t.Errorf("showvminfo = %v", err)
	}
	if _, err := c.Run(t.Context(), "startvm", "dev", "--type", "headless"); asError(err) == nil || asError(err).Status != "VERR_VMX_NO_VMX" {
		t.Errorf("startvm exiting 0 after an error = %v", err)
	}
	if !strings.Contains(debug.String(), "virtualbox: VBoxManage showvminfo dev --machinereadable\n") || !strings.Contains(debug.String(), "Could not find a registered machine") {
		t.Errorf("debug:\n%s", debug.String())
	}
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

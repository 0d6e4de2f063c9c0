package qemuimg

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// find returns the qemu-img that scripts/ensure-deps.sh installs.
func find(t testing.TB) Tool {
	t.Helper()
	q, err := Find()
	if err != nil {
		t.Fatalf("%v (scripts/ensure-deps.sh installs it)", err)
	}
	return q
}

// run runs a qemu tool in a test.
func run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// pattern is the content written at the start of the base images.
var pattern = bytes.Repeat([]byte("machine base image "), 1000)

// baseImage makes a base image of format with pattern at offset 0.
func baseImage(t testing.TB, dir, format string, sizeMB int) string {
	t.Helper()
	raw := filepath.Join(dir, "content.raw")
	if err := os.WriteFile(raw, pattern, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(raw, int64(sizeMB)*mib); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "base."+format)
	run(t, "qemu-img", "convert", "-q", "-O", format, raw, p)
	return p
}

// head returns the first n bytes the guest would see on the disk at p.
func head(t testing.TB, p string, n int) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "flat.raw")
	run(t, "qemu-img", "convert", "-q", "-O", "raw", p, out)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data[:n]
}

func TestInfo(t *testing.T) {
	q := find(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		format string
		size   int
	}{{"qcow2", 3}, {"raw", 2}, {"vdi", 4}} {
		t.Run(tc.format, func(t *testing.T) {
			p := baseImage(t, t.TempDir(), tc.format, tc.size)
			info, err := q.Info(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != tc.format || info.VirtualSize != int64(tc.size)*mib || info.BackingFile != "" {
				t.Errorf("Info = %+v, want a %s of %d MiB", info, tc.format, tc.size)
			}
		})
	}
	t.Run("a missing file", func(t *testing.T) {
		_, err := q.Info(context.Background(), filepath.Join(dir, "missing.qcow2"))
		if err == nil || !strings.Contains(err.Error(), "qemu-img info: ") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("Info = %v, want one line from qemu-img", err)
		}
	})
}

func TestCreateOverlay(t *testing.T) {
	q := find(t)
	for _, format := range []string{"qcow2", "raw"} {
		t.Run("over a "+format+" image", func(t *testing.T) {
			dir := t.TempDir()
			base := baseImage(t, dir, format, 8)
			baseBefore, _ := os.ReadFile(base)
			disk := filepath.Join(dir, "machine", "disk.qcow2")
			if err := os.Mkdir(filepath.Dir(disk), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := q.CreateOverlay(context.Background(), base, disk, 20); err != nil {
				t.Fatal(err)
			}
			info, err := q.Info(context.Background(), disk)
			if err != nil {
				t.Fatal(err)
			}
			want := Info{Format: "qcow2", VirtualSize: 20 * mib, BackingFile: base, BackingFormat: format, ActualSize: info.ActualSize}
			if info != want {
				t.Errorf("Info(disk) = %+v, want %+v", info, want)
			}
			if got := head(t, disk, len(pattern)); !bytes.Equal(got, pattern) {
				t.Error("the disk does not show the base image's content")
			}
			// A write to the disk goes to the disk only.
			run(t, "qemu-io", "-f", "qcow2", "-c", "write -P 0x55 0 64k", disk)
			if got := head(t, disk, 4); !bytes.Equal(got, []byte{0x55, 0x55, 0x55, 0x55}) {
				t.Errorf("the disk shows %x after a write, want 55555555", got)
			}
			if after, _ := os.ReadFile(base); !bytes.Equal(after, baseBefore) {
				t.Error("a write to the disk changed the base image")
			}
			if fi, err := os.Stat(disk); err != nil || fi.Size() > 2*mib {
				t.Errorf("the overlay takes %v bytes (%v), want a small file", fi.Size(), err)
			}
			leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(disk), ".*"))
			if len(leftovers) != 0 {
				t.Errorf("temporary files left: %v", leftovers)
			}
		})
	}

	dir := t.TempDir()
	base := baseImage(t, dir, "qcow2", 8)
	existing := filepath.Join(dir, "existing.qcow2")
	if err := os.WriteFile(existing, []byte("a machine's disk"), 0o644); err != nil {
		t.Fatal(err)
	}
	chained := filepath.Join(dir, "chained.qcow2")
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base, chained)
	for _, tc := range []struct {
		name, base, disk string
		sizeMB           int64
		errHas           string
	}{
		{"a size smaller than the image", base, filepath.Join(dir, "small.qcow2"), 4, "the disk size 4 MB is smaller than the image's 8 MB"},
		{"a missing base", filepath.Join(dir, "missing.qcow2"), filepath.Join(dir, "d1.qcow2"), 20, "base image: qemu-img info: "},
		{"a base with a backing file", chained, filepath.Join(dir, "d2.qcow2"), 20, "has a backing file (" + base + "); use a standalone image"},
		{"a disk that exists", base, existing, 20, "file already exists"},
		{"a missing directory", base, filepath.Join(dir, "nodir", "d.qcow2"), 20, "no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := q.CreateOverlay(context.Background(), tc.base, tc.disk, tc.sizeMB)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("CreateOverlay = %v, want one line with %q", err, tc.errHas)
			}
			t.Log(err)
			if tc.disk == existing {
				if data, _ := os.ReadFile(existing); string(data) != "a machine's disk" {
					t.Error("CreateOverlay replaced an existing disk")
				}
			} else if _, err := os.Stat(tc.disk); err == nil {
				t.Errorf("a failed CreateOverlay left %s", tc.disk)
			}
			if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*")); len(leftovers) != 0 {
				t.Errorf("temporary files left: %v", leftovers)
			}
		})
	}
}

func TestConvert(t *testing.T) {
	q := find(t)
	dir := t.TempDir()
	src := baseImage(t, dir, "qcow2", 8)
	for _, format := range []string{"vdi", "vmdk", "raw", "qcow2"} {
		t.Run(format, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "disk."+format)
			if err := q.Convert(context.Background(), src, dst, format); err != nil {
				t.Fatal(err)
			}
			info, err := q.Info(context.Background(), dst)
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != format || info.VirtualSize != 8*mib {
				t.Errorf("Info = %+v, want a %s of 8 MiB", info, format)
			}
			run(t, "qemu-img", "compare", "-q", src, dst) // exits 1 when the contents differ
		})
	}
	existing := filepath.Join(dir, "existing.vdi")
	if err := os.WriteFile(existing, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, src, dst, format, errHas string }{
		{"an unknown format", src, filepath.Join(dir, "x.img"), "nosuch", "qemu-img convert: "},
		{"a missing source", filepath.Join(dir, "missing"), filepath.Join(dir, "y.vdi"), "vdi", "no such file"},
		{"a destination that exists", src, existing, "vdi", "file already exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := q.Convert(context.Background(), tc.src, tc.dst, tc.format)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Convert = %v, want one line with %q", err, tc.errHas)
			}
			t.Log(err)
			if tc.dst == existing {
				if data, _ := os.ReadFile(existing); string(data) != "keep" {
					t.Error("Convert replaced an existing file")
				}
			} else if _, err := os.Stat(tc.dst); err == nil {
				t.Errorf("a failed Convert left %s", tc.dst)
			}
		})
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestFindMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Find()
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "qemu-img not found: install ") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Find without qemu-img on PATH = %v, want one line naming the package", err)
	}
	if _, err := (Tool{}).Info(context.Background(), "x"); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("the zero Tool's Info = %v, want ErrNotInstalled", err)
	}
}

func TestInstallHint(t *testing.T) {
	for _, tc := range []struct{ name, goos, osRelease, want string }{
		{"Debian", "linux", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n", "qemu-utils"},
		{"Ubuntu", "linux", "ID=ubuntu\nID_LIKE=debian\n", "qemu-utils"},
		{"Linux Mint", "linux", "ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n", "qemu-utils"},
		{"Fedora", "linux", "ID=fedora\n", "install the qemu-img package (sudo dnf"},
		{"Rocky", "linux", "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n", "sudo dnf install qemu-img"},
		{"Arch", "linux", "ID=arch\n", "pacman -S qemu-img"},
		{"openSUSE", "linux", "ID=\"opensuse-tumbleweed\"\nID_LIKE=\"opensuse suse\"\n", "qemu-tools"},
		{"macOS", "darwin", "", "brew install qemu"},
		{"unknown", "linux", "ID=plan9\n", "qemu-utils on Debian and Ubuntu, qemu-img on Fedora, qemu on Homebrew"},
		{"no os-release", "freebsd", "", "qemu-utils on Debian and Ubuntu"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := installHint(tc.goos, []byte(tc.osRelease)); !strings.Contains(got, tc.want) {
				t.Errorf("installHint = %q, want it to contain %q", got, tc.want)
			}
		})
	}
}

// BenchmarkCreateOverlay measures making a machine's 20000 MB
// copy-on-write disk over a 512 MiB qcow2 base image.
func BenchmarkCreateOverlay(b *testing.B) {
	q := find(b)
	dir := b.TempDir()
	base := baseImage(b, dir, "qcow2", 512)
	for i := 0; b.Loop(); i++ {
		disk := filepath.Join(dir, "disk.qcow2")
		if err := q.CreateOverlay(context.Background(), base, disk, 20000); err != nil {
			b.Fatal(err)
		}
		_ = os.Remove(disk)
	}
}

package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/machine-cli/machine/drivers/qemu"
	"github.com/machine-cli/machine/internal/proctest"
	"github.com/machine-cli/machine/libmachine/cloudinit"
	"github.com/machine-cli/machine/libmachine/qemuimg"
)

// vmImage is the qemu driver's test VM image, built once by
// testhost/vm-image.sh and cached outside the repository.
func vmImage(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join(env.root, "integration/testhost/vm-image.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("build the test VM image: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// vmConfig is a VM of the test image on this host, with free ports: a
// machine directory (short: it holds QEMU's unix socket) with a
// copy-on-write disk over image and a NoCloud seed ISO, both made by the
// image layer (libmachine/qemuimg, libmachine/cloudinit).
func vmConfig(t *testing.T, host qemu.Host, accel qemu.Accel, image, name string) qemu.Config {
	t.Helper()
	fw, err := qemu.FindFirmware("/", host.Arch)
	if err != nil {
		t.Fatal(err)
	}
	sshPort, enginePort, err := qemu.Ports(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "mq-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	tool, err := qemuimg.Find()
	if err != nil {
		t.Fatal(err)
	}
	disk := filepath.Join(dir, "disk.qcow2")
	if err := tool.CreateOverlay(t.Context(), image, disk, 20<<10); err != nil {
		t.Fatal(err)
	}
	seed := filepath.Join(dir, "seed.iso")
	if err := cloudinit.WriteSeed(seed, cloudinit.Config{Hostname: name, User: "machine", SSHAuthorizedKeys: []string{env.pubKey}}); err != nil {
		t.Fatal(err)
	}
	return qemu.Config{
		Name: name, Binary: host.Binary, Arch: host.Arch, Accel: accel, Firmware: fw,
		CPUs: 2, MemoryMB: 1536, Disk: disk, Seed: seed,
		SSHPort: sshPort, EnginePort: enginePort, Dir: dir,
	}
}

// killVM ends a VM the test started, also when the test failed.
func killVM(t *testing.T, v *qemu.VM) {
	t.Cleanup(func() {
		if err := v.Kill(context.Background()); err != nil {
			t.Errorf("kill VM in %s: %v", v.Dir, err)
		}
	})
}

// qemuHost is this machine as accelerator detection sees it.
func qemuHost(t *testing.T) qemu.Host {
	t.Helper()
	arch, err := qemu.GuestArch(runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := qemu.FindBinary("", arch)
	if err != nil {
		t.Fatal(err)
	}
	return qemu.Host{GOOS: runtime.GOOS, Arch: arch, Binary: bin, KVMDevice: "/dev/kvm", Dir: t.TempDir()}
}

// TestQEMUAccel runs accelerator detection against this machine's QEMU: the
// probe guest runs under TCG, and auto picks KVM only if a guest runs under
// it (here /dev/kvm exists but QEMU aborts at the first guest instruction).
func TestQEMUAccel(t *testing.T) {
	host := qemuHost(t)
	ctx := context.Background()
	if err := qemu.ProbeGuest(ctx, host, qemu.AccelTCG); err != nil {
		t.Fatalf("probe guest under TCG: %v", err)
	}
	start := time.Now()
	kvmErr := qemu.CheckKVM(ctx, host)
	t.Logf("KVM check took %s: %v", time.Since(start).Round(time.Millisecond), kvmErr)
	accel, warning, err := qemu.DetectAccel(ctx, qemu.AccelAuto, host)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("auto: %s; warning: %q", accel, warning)
	asked, _, askErr := qemu.DetectAccel(ctx, qemu.AccelKVM, host)
	if kvmErr == nil {
		if accel != qemu.AccelKVM || askErr != nil || asked != qemu.AccelKVM {
			t.Errorf("KVM works but auto = %s, --qemu-accel kvm = %s, %v", accel, asked, askErr)
		}
		return
	}
	if accel != qemu.AccelTCG || !strings.Contains(warning, "boots take about a minute") {
		t.Errorf("KVM does not work (%v) but auto = %s, warning %q", kvmErr, accel, warning)
	}
	if askErr == nil || !strings.HasPrefix(askErr.Error(), "--qemu-accel kvm: ") || strings.Contains(askErr.Error(), "\n") {
		t.Errorf("--qemu-accel kvm where KVM does not work: %v, want one line about it", askErr)
	}
}

// TestQEMUVM starts the test image under QEMU for real, below the driver,
// and stops each VM in its firmware: a VM killed at once, one stopped
// (ACPI, then quit), a port taken, a disk missing. Full boots, with login,
// the mesh and ACPI power-down, are TestQEMUDriver's.
func TestQEMUVM(t *testing.T) {
	image := vmImage(t)
	host := qemuHost(t)
	ctx := context.Background()
	accel, warning, err := qemu.DetectAccel(ctx, qemu.AccelAuto, host)
	if err != nil {
		t.Fatal(err)
	}
	if warning != "" {
		t.Log(warning)
	}

	t.Run("port taken", func(t *testing.T) {
		c := vmConfig(t, host, accel, image, "qtaken")
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		c.EnginePort = l.Addr().(*net.TCPAddr).Port
		v, err := qemu.Start(ctx, c)
		if err == nil {
			killVM(t, v)
			t.Fatal("QEMU started with its engine port taken")
		}
		want := fmt.Sprintf("127.0.0.1:%d (--qemu-engine-port) port is taken", c.EnginePort)
		if !errors.Is(err, qemu.ErrPortTaken) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("err = %v, want one line with %q", err, want)
		}
		if pid, err := qemu.Open(c.Dir).PID(); pid != 0 || err != nil {
			t.Errorf("a QEMU process %d is left after the failed start (%v)", pid, err)
		}
		// Ports itself refuses the taken port before QEMU runs.
		if _, _, err := qemu.Ports(0, c.EnginePort); !errors.Is(err, qemu.ErrPortTaken) {
			t.Errorf("Ports with a taken engine port: %v", err)
		}
	})

	t.Run("disk missing", func(t *testing.T) {
		c := vmConfig(t, host, accel, image, "qnodisk")
		c.Disk = filepath.Join(c.Dir, "missing.qcow2")
		v, err := qemu.Start(ctx, c)
		if err == nil {
			killVM(t, v)
			t.Fatal("QEMU started without its disk")
		}
		if !strings.HasPrefix(err.Error(), "QEMU did not start: ") || !strings.Contains(err.Error(), "missing.qcow2") || strings.Contains(err.Error(), "\n") {
			t.Errorf("err = %v, want one line naming the disk", err)
		}
		if pid, err := qemu.Open(c.Dir).PID(); pid != 0 || err != nil {
			t.Errorf("a QEMU process %d is left after the failed start (%v)", pid, err)
		}
	})

	t.Run("killed at once", func(t *testing.T) {
		c := vmConfig(t, host, accel, image, "qkill")
		v, err := qemu.Start(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		killVM(t, v)
		pid, _ := v.PID()
		if st, err := v.Status(ctx); st != qemu.StatusRunning || err != nil {
			t.Errorf("status after start = %s, %v; want running", st, err)
		}
		// A VM that never answers: the wait fails with the serial log's tail.
		var progress bytes.Buffer
		err = v.WaitBoot(ctx, &progress, fmt.Sprintf("127.0.0.1:%d", c.SSHPort), 3*time.Second)
		var be *qemu.BootError
		if !errors.As(err, &be) || !strings.Contains(be.Reason, "did not answer on SSH") {
			t.Errorf("WaitBoot within 3 s = %v, want a BootError", err)
		}
		if !strings.Contains(progress.String(), "qemu: firmware (0 s)") {
			t.Errorf("progress = %q", progress.String())
		}
		if err := v.Kill(ctx); err != nil {
			t.Fatal(err)
		}
		if proctest.Running(pid) {
			t.Errorf("QEMU process %d still runs after Kill", pid)
		}
		if st, err := v.Status(ctx); st != qemu.StatusStopped || err != nil {
			t.Errorf("status after kill = %s, %v; want stopped", st, err)
		}
	})

	t.Run("stop falls back to quit", func(t *testing.T) {
		c := vmConfig(t, host, accel, image, "qstop")
		v, err := qemu.Start(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		killVM(t, v)
		pid, _ := v.PID()
		// In its firmware, the guest does not act on ACPI power-down within
		// a second: Stop quits QEMU.
		if err := v.Stop(ctx, time.Second); err != nil {
			t.Fatal(err)
		}
		if proctest.Running(pid) {
			t.Errorf("QEMU process %d still runs after Stop", pid)
		}
		if err := v.Stop(ctx, time.Second); err != nil {
			t.Errorf("Stop of a stopped VM: %v", err)
		}
		// Starting it again works: the machine keeps its firmware variables.
		v, err = qemu.Start(ctx, c)
		if err != nil {
			t.Fatalf("start again: %v", err)
		}
		if _, err := qemu.Start(ctx, c); err == nil || !strings.Contains(err.Error(), "the VM already runs") {
			t.Errorf("a second Start of a running VM: %v", err)
		}
		if err := v.Kill(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

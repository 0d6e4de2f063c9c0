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
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/machine-cli/machine/drivers/qemu"
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

// vmUser is the user the seed makes. Not "docker": the image has docker.io
// preinstalled, whose "docker" group makes cloud-init fail to create a user
// of that name.
const vmUser = "machine"

// vmFiles makes a machine directory (short: it holds QEMU's unix socket)
// with a copy-on-write disk over image and a NoCloud seed ISO authorizing
// the test key. The seed is made with genisoimage until libmachine's image
// layer writes one in Go.
func vmFiles(t *testing.T, image, name string) (dir, disk, seed string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "mq-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	disk = filepath.Join(dir, "disk.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", image, disk, "20G").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v\n%s", err, out)
	}
	seedDir := filepath.Join(dir, "seed")
	userData := fmt.Sprintf(`#cloud-config
hostname: %s
manage_etc_hosts: true
locale: C.UTF-8
users:
  - name: %s
    groups: [docker]
    sudo: ALL=(ALL) NOPASSWD:ALL
    shell: /bin/bash
    ssh_authorized_keys:
      - %s
`, name, vmUser, env.pubKey)
	metaData := fmt.Sprintf("instance-id: %s-%d\nlocal-hostname: %s\n", name, os.Getpid(), name)
	for file, content := range map[string]string{"user-data": userData, "meta-data": metaData} {
		if err := os.MkdirAll(seedDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(seedDir, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	seed = filepath.Join(dir, "seed.iso")
	gen := exec.Command("genisoimage", "-quiet", "-output", seed, "-V", "cidata", "-J", "-r", "user-data", "meta-data")
	gen.Dir = seedDir
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("genisoimage: %v\n%s", err, out)
	}
	return dir, disk, seed
}

// vmConfig is a VM of the test image on this host, with free ports.
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
	dir, disk, seed := vmFiles(t, image, name)
	return qemu.Config{
		Name: name, Binary: host.Binary, Arch: host.Arch, Accel: accel, Firmware: fw,
		CPUs: 2, MemoryMB: 2048, Disk: disk, Seed: seed,
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

// processGone says whether pid has left the process table (a zombie
// counts as gone: it runs no more).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
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

// TestQEMUVM boots the test image under QEMU for real (about a minute
// under TCG): SSH banner, login with the key, QMP state, ACPI power-down
// until the process is gone; a VM killed at once; a port taken.
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
		if !processGone(pid) {
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
		if !processGone(pid) {
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

	t.Run("boot, login, power down", func(t *testing.T) {
		c := vmConfig(t, host, accel, image, "qboot")
		start := time.Now()
		v, err := qemu.Start(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		killVM(t, v)
		pid, err := v.PID()
		if err != nil || pid == 0 {
			t.Fatalf("no QEMU process after Start: %d, %v", pid, err)
		}
		if err := syscall.Kill(pid, 0); err != nil {
			t.Fatalf("QEMU process %d: %v", pid, err)
		}
		sshAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(c.SSHPort))
		var progress bytes.Buffer
		if err := v.WaitBoot(ctx, &progress, sshAddr, 5*time.Minute); err != nil {
			t.Fatalf("%v\nprogress:\n%s", err, progress.String())
		}
		t.Logf("SSH banner after %s (%s); progress:\n%s", time.Since(start).Round(time.Second), accel, progress.String())
		for _, stage := range []string{"qemu: firmware (", "qemu: kernel (", "qemu: SSH answers on " + sshAddr} {
			if !strings.Contains(progress.String(), stage) {
				t.Errorf("progress lacks %q", stage)
			}
		}

		// cloud-init made the user and its key before sshd started; the
		// driver's create waits for cloud-init and Docker (not this test).
		out := vmSSH(t, sshAddr, "id -un; hostname")
		t.Logf("logged in after %s", time.Since(start).Round(time.Second))
		if want := vmUser + "\nqboot\n"; out != want {
			t.Errorf("in the VM: %q, want %q", out, want)
		}
		if st, err := v.Status(ctx); st != qemu.StatusRunning || err != nil {
			t.Errorf("status = %s, %v; want running", st, err)
		}

		stopStart := time.Now()
		if err := v.Stop(ctx, 2*time.Minute); err != nil {
			t.Fatal(err)
		}
		t.Logf("ACPI power-down took %s", time.Since(stopStart).Round(100*time.Millisecond))
		if !processGone(pid) {
			t.Errorf("QEMU process %d still runs after Stop", pid)
		}
		if st, err := v.Status(ctx); st != qemu.StatusStopped || err != nil {
			t.Errorf("status after stop = %s, %v; want stopped", st, err)
		}
		// The guest shut itself down: its console says so.
		if tail := strings.Join(v.SerialTail(30), "\n"); !strings.Contains(tail, "reboot: Power down") {
			t.Errorf("the guest did not power down through ACPI; serial tail:\n%s", tail)
		}
	})
}

// vmSSH logs in to the VM as vmUser with the test key and runs script.
func vmSSH(t *testing.T, addr, script string) string {
	t.Helper()
	keyPEM, err := os.ReadFile(env.keyPath)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	client, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User:            vmUser,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // a fresh VM of the test's own
		Timeout:         30 * time.Second,
	})
	if err != nil {
		t.Fatalf("ssh %s@%s: %v", vmUser, addr, err)
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	out, err := sess.CombinedOutput(script)
	if err != nil {
		t.Fatalf("ssh %s: %v\n%s", script, err, out)
	}
	return string(out)
}

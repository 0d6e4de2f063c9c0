package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

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

// vmUser is the user the seed makes. Not "docker": the image has docker.io
// preinstalled, whose "docker" group makes cloud-init fail to create a user
// of that name.
const vmUser = "machine"

// vmFiles makes a machine directory (short: it holds QEMU's unix socket)
// with a copy-on-write disk over image and a NoCloud seed ISO authorizing
// the test key, both made by the image layer (libmachine/qemuimg,
// libmachine/cloudinit); nics, when given, replace cloud-init's default
// network.
func vmFiles(t *testing.T, image, name string, nics []cloudinit.NIC) (dir, disk, seed string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "mq-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	tool, err := qemuimg.Find()
	if err != nil {
		t.Fatal(err)
	}
	disk = filepath.Join(dir, "disk.qcow2")
	if err := tool.CreateOverlay(t.Context(), image, disk, 20<<10); err != nil {
		t.Fatal(err)
	}
	seed = filepath.Join(dir, "seed.iso")
	cfg := cloudinit.Config{Hostname: name, User: vmUser, SSHAuthorizedKeys: []string{env.pubKey}, NICs: nics}
	if err := cloudinit.WriteSeed(seed, cfg); err != nil {
		t.Fatal(err)
	}
	return dir, disk, seed
}

// vmConfig is a VM of the test image on this host, with free ports.
func vmConfig(t *testing.T, host qemu.Host, accel qemu.Accel, image, name string) qemu.Config {
	return meshVMConfig(t, host, accel, image, name, "", "")
}

// meshVMConfig is a VM of the test image with free ports; with a mesh
// group, also on the mesh at meshAddr (CIDR), set by a network-config.
func meshVMConfig(t *testing.T, host qemu.Host, accel qemu.Accel, image, name, group, meshAddr string) qemu.Config {
	t.Helper()
	fw, err := qemu.FindFirmware("/", host.Arch)
	if err != nil {
		t.Fatal(err)
	}
	sshPort, enginePort, err := qemu.Ports(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var mesh *qemu.Mesh
	var lanMAC string
	var nics []cloudinit.NIC
	if group != "" {
		key := fmt.Sprintf("%d\x00%s", os.Getpid(), name)
		lanMAC = qemu.MAC(key + "\x00lan")
		mesh = &qemu.Mesh{Group: group, MAC: qemu.MAC(key + "\x00mesh")}
		nics = []cloudinit.NIC{
			{Name: "lan0", MAC: lanMAC, DHCP: true},
			{Name: "mesh0", MAC: mesh.MAC, Addresses: []netip.Prefix{netip.MustParsePrefix(meshAddr)}},
		}
	}
	dir, disk, seed := vmFiles(t, image, name, nics)
	return qemu.Config{
		Name: name, Binary: host.Binary, Arch: host.Arch, Accel: accel, Firmware: fw,
		CPUs: 2, MemoryMB: 1536, Disk: disk, Seed: seed,
		SSHPort: sshPort, EnginePort: enginePort, Dir: dir, MAC: lanMAC, Mesh: mesh,
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

// TestQEMUVM boots the test image under QEMU for real (about a minute and
// a half under TCG): two VMs on a mesh at once, SSH banner, login with the
// key, each reaching the other over the mesh, QMP state, ACPI power-down
// until the process is gone; a VM killed at once, one stopped in its
// firmware, a port taken, a disk missing.
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

	t.Run("two VMs on a mesh: boot, login, power down", func(t *testing.T) {
		group := qemu.MeshGroup(t.TempDir())
		meshIPs := []string{"192.168.76.11", "192.168.76.12"}
		var (
			configs []qemu.Config
			vms     []*qemu.VM
			pids    []int
		)
		start := time.Now()
		for i, name := range []string{"qboot1", "qboot2"} {
			c := meshVMConfig(t, host, accel, image, name, group, meshIPs[i]+"/24")
			v, err := qemu.Start(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			killVM(t, v)
			pid, err := v.PID()
			if err != nil || pid == 0 {
				t.Fatalf("no QEMU process after Start: %d, %v", pid, err)
			}
			configs, vms, pids = append(configs, c), append(vms, v), append(pids, pid)
		}

		// Both boot at once.
		progress := make([]bytes.Buffer, len(vms))
		errs := make(chan error, len(vms))
		for i, v := range vms {
			go func() {
				errs <- v.WaitBoot(ctx, &progress[i], sshAddr(configs[i]), 6*time.Minute)
			}()
		}
		for range vms {
			if err := <-errs; err != nil {
				t.Fatalf("%v\nprogress:\n%s\n%s", err, progress[0].String(), progress[1].String())
			}
		}
		t.Logf("SSH banners of both after %s (%s); progress of the first:\n%s", time.Since(start).Round(time.Second), accel, progress[0].String())
		for i := range vms {
			for _, stage := range []string{"qemu: firmware (", "qemu: kernel (", "qemu: SSH answers on " + sshAddr(configs[i])} {
				if !strings.Contains(progress[i].String(), stage) {
					t.Errorf("progress of %s lacks %q", configs[i].Name, stage)
				}
			}
		}

		// cloud-init made the user, its key and the mesh address before
		// sshd started. Both finish booting (cloud-init done, as the
		// driver's create waits for) before either reads the other's sshd
		// over the mesh: a peer still in its boot reset that connection
		// once under load.
		for _, c := range configs {
			vmSSH(t, sshAddr(c), "cloud-init status --wait >/dev/null || true")
		}
		for i, c := range configs {
			other := meshIPs[1-i]
			out := vmSSH(t, sshAddr(c), "id -un; hostname; timeout 20 bash -c 'exec 3<>/dev/tcp/"+other+"/22; head -1 <&3'")
			want := vmUser + "\n" + c.Name + "\nSSH-2.0-"
			if !strings.HasPrefix(out, want) {
				t.Errorf("in %s (reading %s's SSH banner over the mesh): %q, want %q...", c.Name, other, out, want)
			}
		}
		t.Logf("logged in, and each reached the other over the mesh, after %s", time.Since(start).Round(time.Second))
		if st, err := vms[0].Status(ctx); st != qemu.StatusRunning || err != nil {
			t.Errorf("status = %s, %v; want running", st, err)
		}

		// Both power down at once.
		stopStart := time.Now()
		for _, v := range vms {
			go func() { errs <- v.Stop(ctx, 2*time.Minute) }()
		}
		for range vms {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		for i, v := range vms {
			if proctest.Running(pids[i]) {
				t.Errorf("QEMU process %d still runs after Stop", pids[i])
			}
			if st, err := v.Status(ctx); st != qemu.StatusStopped || err != nil {
				t.Errorf("status after stop = %s, %v; want stopped", st, err)
			}
			// The guest shut itself down: its console says so.
			if tail := strings.Join(v.SerialTail(30), "\n"); !strings.Contains(tail, "reboot: Power down") {
				t.Errorf("%s did not power down through ACPI; serial tail:\n%s", configs[i].Name, tail)
			}
		}
		t.Logf("ACPI power-down of both took %s", time.Since(stopStart).Round(100*time.Millisecond))
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

// sshAddr is the loopback address forwarded to c's SSH server.
func sshAddr(c qemu.Config) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.SSHPort))
}

package integration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/machine-cli/machine/drivers/qemu"
	"github.com/machine-cli/machine/internal/proctest"
	"github.com/machine-cli/machine/internal/vboxstandin"
	"github.com/machine-cli/machine/libmachine/qemuimg"
)

// vboxImage is the test VM image as the virtualbox driver takes it: a
// VMDK (VirtualBox reads no qcow2) converted once from the qemu driver's
// cached image and cached beside it in a directory of its own, with its
// SHA256SUMS line.
func vboxImage(t *testing.T) string {
	t.Helper()
	src := vmImage(t)
	dir := filepath.Join(filepath.Dir(src), "virtualbox")
	name := strings.TrimSuffix(filepath.Base(src), ".qcow2") + ".vmdk"
	image := filepath.Join(dir, name)
	sums := filepath.Join(dir, "SHA256SUMS")
	if data, err := os.ReadFile(sums); err == nil && strings.Contains(string(data), "  "+name+"\n") {
		if _, err := os.Stat(image); err == nil {
			return image
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tool, err := qemuimg.Find()
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "."+name+fmt.Sprint(os.Getpid()))
	defer os.Remove(tmp)
	_ = os.Remove(tmp)
	if err := tool.Convert(context.Background(), src, tmp, "vmdk"); err != nil {
		t.Fatalf("convert the test image to VMDK: %v", err)
	}
	f, err := os.Open(tmp)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, image); err != nil {
		t.Fatal(err)
	}
	line := hex.EncodeToString(h.Sum(nil)) + "  " + name + "\n"
	if err := os.WriteFile(sums, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	return image
}

// vboxStandIn is the VBoxManage stand-in as the test runs it: its binary
// (first on PATH as VBoxManage) and its state directory.
type vboxStandIn struct {
	binDir string
	home   string
}

// newVBoxStandIn builds the stand-in (integration/vboxmanage) as
// VBoxManage and gives it a state directory with a short path (it holds
// QEMU's control sockets). VMs the test leaves running are killed.
func newVBoxStandIn(t *testing.T) *vboxStandIn {
	t.Helper()
	binDir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(binDir, "VBoxManage"), "./integration/vboxmanage")
	build.Dir = env.root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build the VBoxManage stand-in: %v\n%s", err, out)
	}
	home, err := os.MkdirTemp("", "vbs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	v := &vboxStandIn{binDir: binDir, home: home}
	t.Cleanup(func() {
		dirs, _ := filepath.Glob(filepath.Join(home, "run", "*"))
		for _, d := range dirs {
			if err := qemu.Open(d).Kill(context.Background()); err != nil {
				t.Errorf("kill the stand-in's VM in %s: %v", d, err)
			}
		}
	})
	return v
}

// settings writes the stand-in's settings.
func (v *vboxStandIn) settings(t *testing.T, s vboxstandin.Settings) {
	t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(v.home, vboxstandin.SettingsFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs the stand-in directly (the test's side door).
func (v *vboxStandIn) run(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(v.binDir, "VBoxManage"), args...)
	cmd.Env = append(os.Environ(), vboxstandin.HomeEnv+"="+v.home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("VBoxManage %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// state reads the stand-in's registry.
func (v *vboxStandIn) state(t *testing.T) vboxstandin.State {
	t.Helper()
	var s vboxstandin.State
	data, err := os.ReadFile(filepath.Join(v.home, vboxstandin.StateFile))
	if os.IsNotExist(err) {
		return s
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// qemuPIDs are the QEMU processes of the stand-in's VMs.
func (v *vboxStandIn) qemuPIDs(t *testing.T) []int {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(v.home, "run", "*"))
	var pids []int
	for _, d := range dirs {
		if pid, err := qemu.Open(d).PID(); err == nil && pid != 0 {
			pids = append(pids, pid)
		}
	}
	return pids
}

// empty fails the test unless the stand-in holds no VM, medium, host-only
// interface or network, DHCP server, run directory or QEMU process, and
// the store no machine.
func (v *vboxStandIn) empty(t *testing.T, m *machineCLI, keepIfs ...string) {
	t.Helper()
	s := v.state(t)
	if len(s.VMs) != 0 || len(s.Media) != 0 || len(s.HostOnlyNets) != 0 {
		t.Errorf("the stand-in keeps VMs %d, media %d, host-only networks %d", len(s.VMs), len(s.Media), len(s.HostOnlyNets))
	}
	var ifs []string
	for _, h := range s.HostOnlyIfs {
		ifs = append(ifs, h.Name)
	}
	if strings.Join(ifs, " ") != strings.Join(keepIfs, " ") || len(s.DHCPServers) != 0 {
		t.Errorf("the stand-in keeps host-only interfaces %v (want %v) and %d DHCP servers", ifs, keepIfs, len(s.DHCPServers))
	}
	if dirs, _ := filepath.Glob(filepath.Join(v.home, "run", "*")); len(dirs) != 0 {
		t.Errorf("the stand-in keeps run directories %v", dirs)
	}
	if pids := v.qemuPIDs(t); len(pids) != 0 {
		t.Errorf("QEMU processes %v still run", pids)
	}
	if names := m.lsNames(t); len(names) != 0 {
		t.Errorf("ls lists %v, want nothing", names)
	}
	if dirs, _ := filepath.Glob(filepath.Join(m.store, "machines", "*")); len(dirs) != 0 {
		t.Errorf("the store keeps machine directories %v", dirs)
	}
}

// TestVirtualBoxStandIn drives `create -d virtualbox` with the built binary
// against a VBoxManage stand-in (internal/vboxstandin; there is no
// VirtualBox here): the stand-in keeps VirtualBox's registry, answers with
// VirtualBox's output formats and errors, and boots what the VM's
// configuration holds under QEMU (TCG here). The test VM image is served
// as a VMDK with its SHA256SUMS by a loopback HTTP server. Failures that
// boot nothing come first, each one line leaving nothing: VBoxManage
// missing, a CIDR outside networks.conf's ranges, a CIDR colliding with a
// host-only interface (VirtualBox 7.0's and 6.1's outputs), VT-x held by
// another hypervisor at startvm (after the disk was made). Then one VM: create → provisioning → env → docker
// version over TLS → ssh → stop (QEMU gone) → start (the engine answers)
// → rm -y (no VM, medium, interface, stand-in state, QEMU process or
// store entry left).
func TestVirtualBoxStandIn(t *testing.T) {
	image := vboxImage(t)
	good, _, _ := imageServer(t, image)
	v := newVBoxStandIn(t)
	dir, err := os.MkdirTemp("", "mvb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := v.binDir + string(os.PathListSeparator) + env.binDir + string(os.PathListSeparator) + os.Getenv("PATH")
	m := &machineCLI{
		store: filepath.Join(dir, "s"),
		bound: 15 * time.Minute,
		env:   []string{"PATH=" + path, vboxstandin.HomeEnv + "=" + v.home},
	}
	create := []string{"create", "-d", "virtualbox", "--virtualbox-image-url", good,
		"--virtualbox-memory", "1536", "--virtualbox-cpu-count", "2"}
	if cpuinfo, _ := os.ReadFile("/proc/cpuinfo"); !strings.Contains(string(cpuinfo), " vmx") && !strings.Contains(string(cpuinfo), " svm") {
		create = append(create, "--virtualbox-no-vtx-check") // TCG needs none; VirtualBox's check would refuse
	}

	t.Run("VBoxManage missing", func(t *testing.T) {
		noVBox := &machineCLI{store: m.store, env: []string{"PATH=" + env.binDir + string(os.PathListSeparator) + "/usr/sbin:/usr/bin:/sbin:/bin"}}
		noVBox.fails(t, "VBoxManage not found on PATH: install VirtualBox 6.1 or 7", append(create, "vnone")...)
		v.empty(t, m)
	})

	t.Run("networks.conf refusal", func(t *testing.T) {
		m.fails(t, `add the line "* 192.168.99.0/24" to /etc/vbox/networks.conf`,
			append(create, "--virtualbox-hostonly-cidr", "192.168.99.1/24", "vconf")...)
		v.empty(t, m)
	})

	for _, version := range []string{vboxstandin.Version70, vboxstandin.Version61} {
		t.Run("CIDR collision "+version, func(t *testing.T) {
			v.settings(t, vboxstandin.Settings{Version: version})
			defer v.settings(t, vboxstandin.Settings{})
			v.run(t, "hostonlyif", "create")
			v.run(t, "hostonlyif", "ipconfig", "vboxnet0", "--ip", "192.168.58.1", "--netmask", "255.255.254.0")
			m.fails(t, "overlaps VirtualBox's host-only interface vboxnet0",
				append(create, "--virtualbox-hostonly-cidr", "192.168.59.1/24", "vcidr")...)
			v.empty(t, m, "vboxnet0")
			v.run(t, "hostonlyif", "remove", "vboxnet0")
		})
	}

	t.Run("VT-x held", func(t *testing.T) {
		v.settings(t, vboxstandin.Settings{VTxHeldBy: "vmx"})
		defer v.settings(t, vboxstandin.Settings{})
		m.fails(t, "another hypervisor holds VT-x/AMD-V (VERR_VMX_IN_VMX_ROOT_MODE)", append(create, "vvtx")...)
		v.empty(t, m)
	})

	start := time.Now()
	r := m.ok(t, append(create, "dev")...)
	t.Logf("create on the VBoxManage stand-in: %.0f s", time.Since(start).Seconds())
	if strings.Contains(r.Stdout, "virtualbox:") {
		t.Errorf("progress on stdout:\n%s", r.Stdout)
	}
	vars := m.envDockerVersion(t, "dev")
	if host := vars["DOCKER_HOST"]; !strings.HasPrefix(host, "tcp://127.0.0.1:") {
		t.Errorf("DOCKER_HOST = %q, want the engine's NAT forward on loopback", host)
	}
	if out := strings.TrimSpace(m.ok(t, "ssh", "dev", "hostname").Stdout); out != "dev" {
		t.Errorf("ssh dev hostname = %q", out)
	}
	ip := strings.TrimSpace(m.ok(t, "ip", "dev").Stdout)
	if !strings.HasPrefix(ip, "192.168.59.") {
		t.Errorf("ip dev = %q, want its address on the host-only network", ip)
	}
	if out := m.ok(t, "ssh", "dev", "ip", "-4", "-o", "addr").Stdout; !strings.Contains(out, " "+ip+"/24 ") {
		t.Errorf("the VM lacks %s on its host-only NIC:\n%s", ip, out)
	}
	info := v.run(t, "showvminfo", "dev", "--machinereadable")
	for _, want := range []string{`VMState="running"`, `firmware="EFI"`, "memory=1536\n", "cpus=2\n", `nic2="hostonly"`, `Forwarding(`} {
		if !strings.Contains(info, want) {
			t.Errorf("showvminfo lacks %s:\n%s", want, info)
		}
	}

	t.Run("stop and start", func(t *testing.T) {
		pids := v.qemuPIDs(t)
		if len(pids) != 1 {
			t.Fatalf("QEMU processes after create: %v, want one", pids)
		}
		m.ok(t, "stop", "dev")
		if proctest.Running(pids[0]) {
			t.Errorf("QEMU process %d still runs after stop", pids[0])
		}
		if st := strings.TrimSpace(m.ok(t, "status", "dev").Stdout); st != "Stopped" {
			t.Errorf("status after stop = %q", st)
		}
		if out := v.run(t, "showvminfo", "dev", "--machinereadable"); !strings.Contains(out, `VMState="poweroff"`) {
			t.Errorf("the stand-in's state after stop is not poweroff")
		}
		m.ok(t, "start", "dev")
		m.envDockerVersion(t, "dev")
		if st := strings.TrimSpace(m.ok(t, "status", "dev").Stdout); st != "Running" {
			t.Errorf("status after start = %q", st)
		}
	})

	t.Run("rm", func(t *testing.T) {
		pids := v.qemuPIDs(t)
		m.ok(t, "rm", "-y", "dev")
		for _, pid := range pids {
			if proctest.Running(pid) {
				t.Errorf("QEMU process %d still runs after rm", pid)
			}
		}
		v.empty(t, m)
	})
}

package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/machine-cli/machine/drivers/qemu"
	"github.com/machine-cli/machine/internal/proctest"
)

// imageServer serves the test VM image's directory (the image and the
// SHA256SUMS beside it) on loopback; under /corrupt/ the same SHA256SUMS
// beside other bytes named as the image: a corrupt download; and under
// /blank/ a disk of zeros with its right checksum: nothing to boot. It
// returns the image's URL, the corrupt one's and the blank one's.
func imageServer(t *testing.T, image string) (good, corrupt, blank string) {
	t.Helper()
	dir, name := filepath.Dir(image), filepath.Base(image)
	sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 16<<20)
	blankSums := fmt.Sprintf("%x  blank.raw\n", sha256.Sum256(zeros))
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(dir)))
	mux.HandleFunc("/corrupt/SHA256SUMS", func(w http.ResponseWriter, _ *http.Request) { w.Write(sums) })
	mux.HandleFunc("/corrupt/"+name, func(w http.ResponseWriter, _ *http.Request) {
		w.Write(bytes.Repeat([]byte("not the image "), 1<<16))
	})
	mux.HandleFunc("/blank/SHA256SUMS", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, blankSums) })
	mux.HandleFunc("/blank/blank.raw", func(w http.ResponseWriter, _ *http.Request) { w.Write(zeros) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/" + name, srv.URL + "/corrupt/" + name, srv.URL + "/blank/blank.raw"
}

// qemuProcesses lists the QEMU processes of machine name of m's store,
// from their command lines, which name the machine's directory.
func (m *machineCLI) qemuProcesses(t *testing.T, name string) []string {
	t.Helper()
	dir := filepath.Join(m.store, "machines", name) + "/"
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var found []string
	for _, f := range cmdlines {
		b, err := os.ReadFile(f)
		if err == nil && bytes.Contains(b, []byte(dir)) {
			found = append(found, filepath.Base(filepath.Dir(f)))
		}
	}
	return found
}

// qemuStore is a CLI on a store with a short path: QEMU's control socket
// lives in the machine's directory, and a unix socket's path is short.
func qemuStore(t *testing.T) *machineCLI {
	t.Helper()
	dir, err := os.MkdirTemp("", "mqd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m := &machineCLI{store: filepath.Join(dir, "s"), bound: 15 * time.Minute}
	// A failed test may leave VMs running: end them before the store goes.
	t.Cleanup(func() {
		dirs, _ := filepath.Glob(filepath.Join(m.store, "machines", "*"))
		for _, d := range dirs {
			if err := qemu.Open(d).Kill(context.Background()); err != nil {
				t.Errorf("kill the VM in %s: %v", d, err)
			}
		}
	})
	return m
}

// vmPID is the QEMU process of a machine of m's store, 0 when none runs.
func (m *machineCLI) vmPID(t *testing.T, name string) int {
	t.Helper()
	pid, err := qemu.Open(filepath.Join(m.store, "machines", name)).PID()
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// cachedImages lists the verified images in m's store's image cache.
func (m *machineCLI) cachedImages(t *testing.T) []string {
	t.Helper()
	var found []string
	root := filepath.Join(m.store, "cache", "images")
	_ = filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && e.Name() != ".lock" {
			found = append(found, strings.TrimPrefix(path, root+"/"))
		}
		return nil
	})
	return found
}

// TestQEMUDriver drives `create -d qemu` with the built binary against
// real VMs under QEMU (TCG here), the test image served by a loopback HTTP
// server with its SHA256SUMS so that download, checksum, cache and
// progress run for real: a taken port, QEMU or its firmware missing, an
// accelerator of another OS and a corrupt download fail in one line
// leaving nothing; a disk with nothing to boot fails with the serial
// console's tail, rolled back; then two VMs boot at once (one download,
// the other create waits for it; Docker preinstalled is reused): n1 starts
// a swarm, n2 is created with --swarm-join n1; env and docker over TLS,
// ssh; both advertise their mesh addresses, and a task on n2 reaches a
// service on n1 over an overlay network; stop n2 (ACPI power-down, its
// process is gone), start it (the engine answers again) while n1 restarts
// (a new boot, the engine answers); rm both (no
// process, disk or store entry; the cached image stays).
func TestQEMUDriver(t *testing.T) {
	image := vmImage(t)
	good, corrupt, blank := imageServer(t, image)
	m := qemuStore(t)
	machineDir := func(name string) string { return filepath.Join(m.store, "machines", name) }
	gone := func(t *testing.T, name string) {
		t.Helper()
		if _, err := os.Stat(machineDir(name)); !os.IsNotExist(err) {
			t.Errorf("machine directory of %s is left: %v", name, err)
		}
		if names := m.lsNames(t); len(names) != 0 {
			t.Errorf("ls lists %v, want nothing", names)
		}
		if pids := m.qemuProcesses(t, name); len(pids) != 0 {
			t.Errorf("QEMU processes %v of %s are left", pids, name)
		}
	}

	t.Run("refused before anything is made", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		noQEMU := t.TempDir() // a PATH without QEMU
		for _, tc := range []struct {
			name string
			cli  *machineCLI
			args []string
			want string
		}{
			{"port taken", m, []string{"--qemu-ssh-port", port}, "127.0.0.1:" + port + " (--qemu-ssh-port) port is taken"},
			{"qemu missing", m.withEnv("PATH=" + noQEMU), nil, "not found on PATH: install qemu-system-"},
			{"firmware missing", m, []string{"--qemu-firmware", filepath.Join(noQEMU, "OVMF_CODE.fd")}, "--qemu-firmware " + filepath.Join(noQEMU, "OVMF_CODE.fd") + ": no such file"},
			{"accelerator of another OS", m, []string{"--qemu-accel", "hvf"}, "--qemu-accel hvf: not available on linux; use --qemu-accel auto or tcg"},
			{"memory too small", m, []string{"--qemu-memory", "64"}, "--qemu-memory 64: give at least 256 (MB)"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				args := append([]string{"create", "-d", "qemu", "--qemu-image-url", good}, tc.args...)
				tc.cli.fails(t, tc.want, append(args, "qref")...)
				gone(t, "qref")
			})
		}
		if imgs := m.cachedImages(t); len(imgs) != 0 {
			t.Errorf("a create refused before anything was made left %v in the image cache", imgs)
		}
	})

	t.Run("corrupt download", func(t *testing.T) {
		r := m.fails(t, "checksum mismatch", "create", "-d", "qemu", "--qemu-image-url", corrupt, "qbad")
		if strings.Contains(r.Stdout, "qemu:") {
			t.Errorf("progress on stdout:\n%s", r.Stdout)
		}
		gone(t, "qbad")
		if imgs := m.cachedImages(t); len(imgs) != 0 {
			t.Errorf("the corrupt download left %v in the image cache", imgs)
		}
	})

	t.Run("nothing to boot", func(t *testing.T) {
		// Its own store: this image stays out of the cache the others check.
		mb := qemuStore(t)
		r := mb.fails(t, "the firmware found nothing to boot on the machine's disk",
			"create", "-d", "qemu", "--qemu-image-url", blank, "qblank")
		if !strings.Contains(r.Stderr, "UEFI Interactive Shell") {
			t.Errorf("the error lacks the serial console's tail:\n%s", r.Stderr)
		}
		if _, err := os.Stat(filepath.Join(mb.store, "machines", "qblank")); !os.IsNotExist(err) {
			t.Errorf("machine directory of qblank is left: %v", err)
		}
		if pids := mb.qemuProcesses(t, "qblank"); len(pids) != 0 {
			t.Errorf("QEMU processes %v of qblank are left", pids)
		}
	})

	// Two VMs boot at once: n1 starts a swarm, n2 joins it (its join waits
	// for n1's create when n1 is not done yet).
	start := time.Now()
	var r2 result
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r2 = m.run(t, "create", "-d", "qemu", "--qemu-image-url", good, "--swarm-join", "n1", "n2")
	}()
	r := m.ok(t, "create", "-d", "qemu", "--qemu-image-url", good, "--swarm-init", "n1")
	vars := m.envDockerVersion(t, "n1")
	t.Logf("create to a Docker engine answering (two VMs booting at once): %.0f s", time.Since(start).Seconds())
	wg.Wait()
	if r2.Code != 0 {
		t.Fatalf("create n2: exit %d\n%s", r2.Code, r2.Stderr)
	}
	for _, want := range []string{"qemu: SSH answers on 127.0.0.1:", "qemu: cloud-init done"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("create's progress lacks %q:\n%s", want, r.Stderr)
		}
	}
	if both := r.Stderr + r2.Stderr; strings.Count(both, "Downloading ") != 1 || !strings.Contains(both, "50% (") ||
		!strings.Contains(both, "Verified ") || !strings.Contains(both, "Waiting for another fetch") {
		t.Errorf("want one download with progress, verified, the other create waiting for it:\n%s\n%s", r.Stderr, r2.Stderr)
	}
	if strings.Contains(r.Stderr, "get.docker.com") {
		t.Errorf("create fetched Docker's install script on a host that has Docker:\n%s", r.Stderr)
	}
	if host := vars["DOCKER_HOST"]; !strings.HasPrefix(host, "tcp://127.0.0.1:") {
		t.Errorf("DOCKER_HOST = %q, want the engine's loopback forward", host)
	}
	imgs := m.cachedImages(t)
	if len(imgs) != 2 { // the image and its record, once for both machines
		t.Errorf("image cache holds %v, want the image and its record", imgs)
	}
	if out := strings.TrimSpace(m.ok(t, "ssh", "n1", "hostname").Stdout); out != "n1" {
		t.Errorf("ssh n1 hostname = %q", out)
	}
	if out := strings.TrimSpace(m.ok(t, "ip", "n1").Stdout); out != "127.0.0.1" {
		t.Errorf("ip n1 = %q", out)
	}

	t.Run("swarm on the mesh", func(t *testing.T) {
		out := mustDocker(t, vars, "node", "ls", "--format", "{{.Hostname}} {{.Status}}")
		if out != "n1 Ready\nn2 Ready" && out != "n2 Ready\nn1 Ready" {
			t.Errorf("docker node ls:\n%s", out)
		}
		for _, n := range []string{"n1", "n2"} {
			if addr := mustDocker(t, vars, "node", "inspect", n, "--format", "{{.Status.Addr}}"); !strings.HasPrefix(addr, "192.168.76.") {
				t.Errorf("%s advertises %q, want its mesh address", n, addr)
			}
		}
		rootfs := busyboxRootfs(t)
		for _, n := range []string{"n1", "n2"} {
			mustDocker(t, parseEnv(t, m.ok(t, "env", "--shell", "bash", n).Stdout), "import", rootfs, "machine-test/busybox:1")
		}
		mustDocker(t, vars, "network", "create", "-d", "overlay", "ov")
		mustDocker(t, vars, "service", "create", "-d", "--name", "web", "--network", "ov", "--endpoint-mode", "dnsrr",
			"--constraint", "node.hostname==n1", "machine-test/busybox:1",
			"sh", "-c", "while true; do echo hello-from-$(hostname) | nc -l -p 8080; done")
		probeReaches(t, vars, "n2", 4*time.Minute)
		// Services gone, the swarm's last manager leaves quickly at rm.
		mustDocker(t, vars, "service", "rm", "web", "probe")
	})

	t.Run("stop and start, restart", func(t *testing.T) {
		bootID := func(name string) string {
			return strings.TrimSpace(m.ok(t, "ssh", name, "cat /proc/sys/kernel/random/boot_id").Stdout)
		}
		before := bootID("n1")
		// n1 restarts while n2 stops and starts.
		var restart result
		restarted := make(chan struct{})
		go func() {
			defer close(restarted)
			restart = m.run(t, "restart", "n1")
		}()
		pid := m.vmPID(t, "n2")
		if pid == 0 {
			t.Fatal("no QEMU process for n2 after create")
		}
		m.ok(t, "stop", "n2")
		if proctest.Running(pid) {
			t.Errorf("QEMU process %d still runs after stop", pid)
		}
		// The guest shut itself down through ACPI: its console says so.
		if tail := strings.Join(qemu.Open(machineDir("n2")).SerialTail(30), "\n"); !strings.Contains(tail, "reboot: Power down") {
			t.Errorf("n2 did not power down through ACPI; serial tail:\n%s", tail)
		}
		if st := strings.TrimSpace(m.ok(t, "status", "n2").Stdout); st != "Stopped" {
			t.Errorf("status after stop = %q", st)
		}
		m.ok(t, "start", "n2")
		m.envDockerVersion(t, "n2")
		if st := strings.TrimSpace(m.ok(t, "status", "n2").Stdout); st != "Running" {
			t.Errorf("status after start = %q", st)
		}
		<-restarted
		if restart.Code != 0 {
			t.Fatalf("restart n1: exit %d\n%s", restart.Code, restart.Stderr)
		}
		if after := bootID("n1"); after == before {
			t.Errorf("n1's boot id is still %s after restart", after)
		}
		m.envDockerVersion(t, "n1")
	})

	t.Run("rm", func(t *testing.T) {
		pids := []int{m.vmPID(t, "n1"), m.vmPID(t, "n2")}
		m.ok(t, "rm", "-y", "n2", "n1")
		for _, pid := range pids {
			if pid != 0 && proctest.Running(pid) {
				t.Errorf("QEMU process %d still runs after rm", pid)
			}
		}
		gone(t, "n1")
		gone(t, "n2")
		if got := m.cachedImages(t); len(got) != len(imgs) {
			t.Errorf("image cache after rm holds %v, want %v", got, imgs)
		}
	})
}

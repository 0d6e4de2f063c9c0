package integration

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/machine-cli/machine/internal/proctest"
)

// hostState is what provisioning may change on a host, as the host itself
// reports it: every backed-up path with mode, owner, modification time and
// checksum, the states of docker's units and the running host name.
func hostState(t *testing.T, h *testHost) string {
	t.Helper()
	return h.exec(t, `for p in /etc/systemd/system/docker.service.d /etc/docker /etc/hostname /etc/hosts; do
  if [ -e "$p" ]; then
    find "$p" -type f -exec stat -c '%n %a %U:%G %Y' {} + | sort
    find "$p" -type f -exec sha256sum {} + | sort
    find "$p" -type d -exec stat -c '%n %a %U:%G' {} + | sort
  else echo "absent $p"; fi
done
for u in docker.service docker.socket; do echo "$u $(systemctl is-enabled $u) $(systemctl is-active $u)"; done
echo "hostname $(hostname)"
echo "backups: $(ls /var/lib/machine/backup 2>/dev/null | tr '\n' ' ')"`)
}

// TestHostLeftAsFound: a create that fails or is refused leaves the host as
// it found it, byte for byte, here a host already serving a machine of
// another store, which keeps answering.
func TestHostLeftAsFound(t *testing.T) {
	h := startHost(t, dockerImage)
	a := newCLI(t)
	a.createGeneric(t, h, "good")
	goodEnv := parseEnv(t, a.ok(t, "env", "--shell", "bash", "good").Stdout)
	before := hostState(t, h)
	if !strings.Contains(before, "/etc/docker/server.pem") || !strings.Contains(before, "hostname good") || !strings.Contains(before, "backups: \n") {
		t.Fatalf("host after a successful create (want its files, its name, no backup left):\n%s", before)
	}
	checkGood := func(t *testing.T) {
		t.Helper()
		if after := hostState(t, h); after != before {
			t.Errorf("host changed:\n%s\nwas:\n%s", after, before)
		}
		if v, err := dockerVersion(t, goodEnv); err != nil || v == "" {
			t.Errorf("machine good no longer answers through its env: %v: %s", err, v)
		}
	}

	t.Run("same host, same store", func(t *testing.T) {
		r := a.fails(t, `is machine "good"`, "create", "-d", "generic", "--generic-ip-address", h.IP, "--generic-ssh-key", env.keyPath, "dup")
		if strings.Contains(r.Stderr, "Creating machine") {
			t.Errorf("the generic driver knows its host up front, but the refusal came after the driver's create:\n%s", r.Stderr)
		}
		for _, want := range []string{"machine provision good", "machine rm good"} {
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("refusal does not say %q:\n%s", want, r.Stderr)
			}
		}
		if names := a.ok(t, "ls", "-q").Stdout; names != "good\n" {
			t.Errorf("store after the refusal: %q", names)
		}
		checkGood(t)
	})
	t.Run("name too long", func(t *testing.T) {
		long := strings.Repeat("x", 80)
		a.fails(t, "at most 63", "create", "-d", "generic", "--generic-ip-address", h.IP, "--generic-ssh-key", env.keyPath, long)
		checkGood(t)
	})

	b := newCLI(t)
	t.Run("bad engine option from another store", func(t *testing.T) {
		r := b.fails(t, "start docker", "create", "-d", "generic", "--generic-ip-address", h.IP, "--generic-ssh-key", env.keyPath,
			"--engine-opt", "no-such-dockerd-flag=1", "other")
		if !strings.Contains(r.Stderr, "Restarted dockerd on its earlier configuration") {
			t.Errorf("rollback did not say it restarted dockerd:\n%s", r.Stderr)
		}
		checkGood(t)
	})
	t.Run("interrupted from another store", func(t *testing.T) {
		log, err := createAndSignal(t, b, h, "other2", "Configuring Docker", syscall.SIGINT)
		if err == nil {
			t.Fatalf("interrupted create exited 0:\n%s", log)
		}
		checkGood(t)
	})
	if names := b.ok(t, "ls", "-q").Stdout; names != "" {
		t.Errorf("store b after failed creates: %q", names)
	}
}

// createAndSignal runs a create against h and sends sig to its process
// group once stderr shows the line starting with when. It returns the
// create's stderr and its exit error.
func createAndSignal(t *testing.T, m *machineCLI, h *testHost, name, when string, sig syscall.Signal) (string, error) {
	t.Helper()
	cmd := exec.Command(env.bin, "-s", m.store, "create", "-d", "generic", "--generic-ip-address", h.IP,
		"--generic-ssh-key", env.keyPath, name)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	sent := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if !sent && strings.HasPrefix(sc.Text(), when) {
			sent = true
			if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil {
				t.Fatal(err)
			}
		}
	}
	err = cmd.Wait()
	if !sent {
		t.Fatalf("create never printed %q, so the signal was not sent:\n%s", when, log.String())
	}
	return log.String(), err
}

// children returns the PIDs of pid's child processes.
func children(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		_, rest, _ := strings.Cut(string(b), ") ")
		f := strings.Fields(rest)
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, c)
		}
	}
	return out
}

// TestCreateKilled: a create killed with SIGKILL while it provisions leaves
// no driver process running, and an rm of the half-made machine puts the
// host back as it was.
func TestCreateKilled(t *testing.T) {
	h := startHost(t, dockerImage)
	before := hostState(t, h)
	m := newCLI(t)
	cmd := exec.Command(env.bin, "-s", m.store, "create", "-d", "generic", "--generic-ip-address", h.IP,
		"--generic-ssh-key", env.keyPath, "k1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var drivers []int
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "Configuring Docker") {
			drivers = children(cmd.Process.Pid)
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	_ = cmd.Wait()
	if len(drivers) == 0 {
		t.Fatalf("no driver process found under the create while it provisioned:\n%s", log.String())
	}
	for _, pid := range drivers {
		defer syscall.Kill(pid, syscall.SIGKILL)
		// A bounded wait for the driver to notice; not a speed check.
		deadline := time.Now().Add(10 * time.Second)
		for proctest.Running(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("driver process %d still running 10s after its create was killed", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if after := hostState(t, h); after == before {
		t.Fatalf("the killed create had changed nothing on the host yet; the test proves nothing:\n%s", after)
	}
	r := m.ok(t, "rm", "-y", "k1")
	if !strings.Contains(r.Stderr, "did not finish") {
		t.Errorf("rm did not say it restores the host:\n%s", r.Stderr)
	}
	if after := hostState(t, h); after != before {
		t.Errorf("host after rm of the killed create:\n%s\nwas:\n%s", after, before)
	}
}

package legacy

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/machine-cli/machine/internal/proctest"
	"github.com/machine-cli/machine/internal/retry"
)

// TestGuard reads /proc (internal/proctest): Linux only.

// TestGuard: a plugin that would never end by itself (no heartbeat
// timeout) ends when its host is killed outright, through its guard.
func TestGuard(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	host := exec.Command(exe)
	host.Env = append(os.Environ(), "LEGACY_TEST_HOST=1", "LEGACY_TEST_PLUGIN="+testPlugin(t),
		"LEGACYTEST_PIDFILE="+pidFile, "LEGACYTEST_NO_HEARTBEAT_TIMEOUT=1")
	host.Stderr = os.Stderr
	out, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "started\n" {
		host.Process.Kill()
		host.Wait()
		t.Fatalf("host: %q", line)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(string(b))
	if !proctest.Running(pid) {
		t.Fatalf("plugin %d is not running while its host runs", pid)
	}
	host.Process.Kill() // SIGKILL: no deferred Close runs
	host.Wait()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := retry.Poll(ctx, 20*time.Millisecond, 200*time.Millisecond, func(context.Context) error {
		if proctest.Running(pid) {
			return errors.New("still running")
		}
		return nil
	}); err != nil {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("plugin %d after its host was killed: %v", pid, err)
	}
}

package proctest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/machine-cli/machine/internal/retry"
)

func TestRunning(t *testing.T) {
	if !Running(os.Getpid()) {
		t.Fatal("this test's own process is not running")
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	// Not waited for yet: once it exits it is a zombie, which has ended.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := retry.Poll(ctx, time.Millisecond, 50*time.Millisecond, func(context.Context) error {
		if Running(pid) {
			return errors.New("still running")
		}
		return nil
	}); err != nil {
		t.Errorf("zombie %d counts as running: %v", pid, err)
	}
	cmd.Wait()
	if Running(pid) {
		t.Errorf("reaped process %d counts as running", pid)
	}
}

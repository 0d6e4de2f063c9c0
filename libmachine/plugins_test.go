package libmachine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/internal/retry"
	"github.com/machine-cli/machine/internal/standin"
)

// TestPluginsStartIndependently: while one driver's plugin hangs in its
// start, another driver's answer comes, and a second caller of the hung
// driver gives up with its own context.
func TestPluginsStartIndependently(t *testing.T) {
	dir := standin.HungDriverDir(t)
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	p := &Plugins{}
	t.Cleanup(p.Close)
	hungCtx, cancel := context.WithCancel(t.Context())
	hungDone := make(chan error, 1)
	go func() {
		_, err := p.Driver(hungCtx, standin.HungDriver, nil)
		hungDone <- err
	}()
	t.Cleanup(func() {
		cancel()
		<-hungDone
	})
	// Wait until the hung plugin's process runs: its start is under way.
	wait, cancelWait := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancelWait()
	if err := retry.Poll(wait, 10*time.Millisecond, 100*time.Millisecond, func(context.Context) error {
		_, err := os.Stat(filepath.Join(dir, standin.HungStarted))
		return err
	}); err != nil {
		t.Fatal(err)
	}

	_, err := p.Driver(t.Context(), "nosuch", nil)
	if !errors.Is(err, drivers.ErrNotFound) {
		t.Errorf("driver nosuch: %v, want not found", err)
	}
	ctx, cancel2 := context.WithCancel(t.Context())
	cancel2()
	if _, err := p.Driver(ctx, standin.HungDriver, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("second caller of the hung driver, context canceled: %v", err)
	}
	select {
	case err := <-hungDone:
		t.Fatalf("the hung driver's start ended (%v) before the others answered: the test proves nothing", err)
	default:
	}
}

// TestPluginsChooseProtocol: machine-driver-NAME is preferred to
// docker-machine-driver-NAME, which is run with docker-machine's protocol;
// with neither, the error names both.
func TestPluginsChooseProtocol(t *testing.T) {
	dir := t.TempDir()
	write := func(name, script string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Both "speak" nothing; their messages tell which protocol was tried.
	write("machine-driver-both", "echo 'ours' >&2; exit 1")
	write("docker-machine-driver-both", "echo 'not an address'; exec sleep 60")
	write("docker-machine-driver-old", "echo 'not an address'; exec sleep 60")
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	p := &Plugins{}
	t.Cleanup(p.Close)
	for _, tc := range []struct {
		driver, want, notWant string
	}{
		{"both", "machine-driver-both", "speaks neither"},
		{"old", filepath.Join(dir, "docker-machine-driver-old") + " speaks neither machine's driver protocol nor docker-machine's", ""},
		{"nosuch", `no executable "machine-driver-nosuch" or "docker-machine-driver-nosuch" found on PATH`, ""},
	} {
		_, err := p.Driver(t.Context(), tc.driver, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.notWant != "" && strings.Contains(err.Error(), tc.notWant)) {
			t.Errorf("driver %s: %v, want an error containing %q", tc.driver, err, tc.want)
		}
	}
	if _, err := p.Driver(t.Context(), "nosuch", nil); !errors.Is(err, drivers.ErrNotFound) {
		t.Errorf("driver nosuch: %v, want ErrNotFound", err)
	}
}

//go:build unix

package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/drivers/drivertest"
	"github.com/machine-cli/machine/internal/testio"
)

// chatter is what testdata/machine-driver-fake prints to stdout on each
// call, and notice what it shows the user with Notify.
const (
	chatter = "machine-driver-fake: chatter on stdout"
	notice  = "machine-driver-fake: a notice for the user"
)

// buildFake builds testdata/machine-driver-fake into a temporary directory.
func buildFake(t testing.TB) string {
	t.Helper()
	return buildDriver(t, "machine-driver-fake")
}

// buildDriver builds the driver testdata/NAME into a temporary directory.
func buildDriver(t testing.TB, name string) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command to build the external driver: %v", err)
	}
	bin := filepath.Join(t.TempDir(), name)
	cmd := exec.Command(gobin, "build", "-o", bin, "./testdata/"+name)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// captureStdout sends os.Stdout to a pipe until the returned function is
// called, which returns what was written.
func captureStdout(t *testing.T) func() string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	orig := os.Stdout
	os.Stdout = w
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(&buf, r)
	}()
	var once sync.Once
	stop := func() string {
		once.Do(func() {
			os.Stdout = orig
			w.Close()
			<-done
			r.Close()
		})
		return buf.String()
	}
	t.Cleanup(func() { stop() })
	return stop
}

func TestExternalProcess(t *testing.T) {
	bin := buildFake(t)
	stdout := captureStdout(t)
	var logs, notices testio.Buffer
	logger := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug})

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, err := Launch(ctx, exec.Command(bin), LaunchOptions{Logger: logger, Notices: &notices})
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	pid := c.pc.ReattachConfig().Pid
	defer c.Close()

	d := c.Driver(json.RawMessage(`{"MachineName":"ext"}`))
	if name, err := d.DriverName(ctx); err != nil || name != "fake" {
		t.Fatalf("DriverName = %q, %v", name, err)
	}
	if err := d.SetConfigFromFlags(ctx, drivers.Options{"fake-int": 5, "fake-list": []string{"x"}}); err != nil {
		t.Fatal(err)
	}
	if err := d.Create(ctx); err != nil {
		t.Fatal(err)
	}
	var f drivertest.Fake
	data, _ := json.Marshal(d)
	if err := json.Unmarshal(data, &f); err != nil || !f.Created || f.Number != 5 || f.OptionTypes["fake-int"] != "int" {
		t.Errorf("config after Create = %s (%v)", data, err)
	}
	if err := d.Create(ctx); !errors.Is(err, drivers.ErrAlreadyExists) || err.Error() != `fake: machine "ext": already exists` {
		t.Errorf("second Create = %v, want the driver's ErrAlreadyExists", err)
	}
	other := c.Driver(json.RawMessage(`{"MachineName":"other","Errors":{"Stop":"not-supported"}}`))
	if err := other.Stop(ctx); !errors.Is(err, drivers.ErrNotSupported) || strings.Contains(err.Error(), "rpc error") {
		t.Errorf("Stop = %v, want ErrNotSupported without gRPC noise", err)
	}

	blocked := c.Driver(json.RawMessage(`{"MachineName":"slow","Block":["GetState"]}`))
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	if _, err := blocked.GetState(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("blocked GetState = %v, want DeadlineExceeded", err)
	}

	// The plugin's stdout arrives in the logger, asynchronously.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), chatter); {
		if time.Now().After(deadline) {
			t.Errorf("plugin stdout did not reach the logger; logs:\n%s", logs.String())
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Notices reach the user's writer whole and stay out of the log.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(notices.String(), notice+"\n"); {
		if time.Now().After(deadline) {
			t.Errorf("the driver's notice did not arrive; notices %q", notices.String())
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(logs.String(), notice) || strings.Contains(notices.String(), "machine-notice") {
		t.Errorf("notice in the log or with its marker:\nlog: %s\nnotices: %s", logs.String(), notices.String())
	}

	c.Close()
	if !c.pc.Exited() {
		t.Error("plugin not exited after Close")
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("plugin process %d still there after Close (kill -0: %v)", pid, err)
	}
	if strings.Contains(logs.String(), "[ERROR]") || strings.Contains(logs.String(), "[WARN]") {
		t.Errorf("plugin start or Close logged problems:\n%s", logs.String())
	}
	callCtx, cancelCall := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancelCall()
	if _, err := d.GetState(callCtx); err == nil {
		t.Error("call after Close succeeded")
	}

	if out := stdout(); out != "" {
		t.Errorf("plugin output reached our stdout: %q", out)
	}
}

func TestLaunchFailures(t *testing.T) {
	t.Run("not a plugin", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if _, err := Launch(ctx, exec.Command("/bin/sh", "-c", "echo hello; exit 3"), LaunchOptions{}); err == nil {
			t.Error("Launch of a non-plugin succeeded")
		}
	})
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := Launch(ctx, exec.Command("/bin/sh", "-c", "sleep 30"), LaunchOptions{})
		if err == nil {
			t.Error("Launch of a process that never answers succeeded")
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Launch took %v despite a 300ms context", d)
		}
	})
}

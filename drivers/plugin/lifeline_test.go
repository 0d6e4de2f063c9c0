//go:build linux

package plugin

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/machine-cli/machine/internal/proctest"
)

// hostHelperEnv makes the test binary act as a machine command that starts
// the external driver named by the variable's value (see TestMain).
const hostHelperEnv = "MACHINE_TEST_PLUGIN_HOST"

func TestMain(m *testing.M) {
	if bin := os.Getenv(hostHelperEnv); bin != "" {
		os.Exit(pluginHost(bin))
	}
	os.Exit(m.Run())
}

// pluginHost starts the driver bin, prints its PID, keeps a call in flight
// and, on SIGTERM, goes on using the driver (as a rollback does) before
// exiting.
func pluginHost(bin string) int {
	terms := make(chan os.Signal, 1)
	signal.Notify(terms, syscall.SIGTERM)
	ctx := context.Background()
	cmd := exec.Command(bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // as libmachine starts plugins
	c, err := Launch(ctx, cmd, LaunchOptions{})
	if err != nil {
		fmt.Println("launch:", err)
		return 1
	}
	fmt.Println("pid", c.pc.ReattachConfig().Pid)
	go func() {
		// A call the plugin is busy with when the host dies.
		_ = c.Driver(json.RawMessage(`{"MachineName":"busy","Block":["Create"]}`)).Create(ctx)
	}()
	<-terms
	name, err := c.Driver(json.RawMessage(`{"MachineName":"after"}`)).DriverName(ctx)
	fmt.Println("after SIGTERM:", name, err)
	c.Close()
	return 0
}

// TestPluginEndsWithItsHost: a driver plugin ends when the command that
// started it ends, even by SIGKILL and in the middle of a call, and
// survives a SIGTERM to the command's process group for as long as the
// command runs.
func TestPluginEndsWithItsHost(t *testing.T) {
	bin := buildFake(t)
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
	}{
		{"SIGKILL", syscall.SIGKILL},
		{"SIGTERM to the group", syscall.SIGTERM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := exec.Command(os.Args[0], "-test.run=^$")
			host.Env = append(os.Environ(), hostHelperEnv+"="+bin)
			host.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			out, err := host.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := host.Start(); err != nil {
				t.Fatal(err)
			}
			defer host.Process.Kill()
			lines := bufio.NewScanner(out)
			if !lines.Scan() {
				t.Fatal("the host helper printed nothing")
			}
			var pid int
			if _, err := fmt.Sscanf(lines.Text(), "pid %d", &pid); err != nil {
				t.Fatalf("host helper: %q", lines.Text())
			}
			defer syscall.Kill(pid, syscall.SIGKILL)
			time.Sleep(200 * time.Millisecond) // let the blocked call reach the plugin
			if err := syscall.Kill(-host.Process.Pid, tc.sig); err != nil {
				t.Fatal(err)
			}
			if tc.sig == syscall.SIGTERM {
				if !lines.Scan() || lines.Text() != "after SIGTERM: fake <nil>" {
					t.Errorf("after SIGTERM the host could not use its driver: %q", lines.Text())
				}
			}
			_ = host.Wait()
			// Bounded wait for the plugin to notice; not a speed check.
			deadline := time.Now().Add(10 * time.Second)
			for proctest.Running(pid) {
				if time.Now().After(deadline) {
					t.Fatalf("plugin %d still running 10s after its host ended by %s", pid, tc.sig)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

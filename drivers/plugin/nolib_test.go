//go:build unix

package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/internal/testio"
)

// TestDriverWithoutTheLibrary: a driver that implements the protocol as
// drivers/README.md describes it for other languages (testdata/
// machine-driver-nolib: its own handshake line, gRPC server and health
// service; no go-plugin, no Serve) works with the host: flags, options,
// state, endpoint, typed errors with the config they carry, a plain error,
// notices on its stderr, and its end.
func TestDriverWithoutTheLibrary(t *testing.T) {
	bin := buildDriver(t, "machine-driver-nolib")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var notices testio.Buffer
	c, err := Launch(ctx, exec.Command(bin), LaunchOptions{Notices: &notices})
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	pid := c.pc.ReattachConfig().Pid
	defer c.Close()

	d := c.Driver(json.RawMessage(`{"MachineName":"n1","StorePath":"/store"}`))
	if name, err := d.DriverName(ctx); err != nil || name != "nolib" {
		t.Errorf("DriverName = %q, %v", name, err)
	}
	flags, err := d.GetCreateFlags(ctx)
	wantFlags := []drivers.Flag{
		{Name: "nolib-size", Kind: drivers.FlagInt, Usage: "size in GB", EnvVar: "NOLIB_SIZE", Default: "10"},
		{Name: "nolib-zone", Kind: drivers.FlagStringSlice, Usage: "zones", DefaultSlice: []string{"a"}},
	}
	if err != nil || !reflect.DeepEqual(flags, wantFlags) {
		t.Errorf("GetCreateFlags = %#v, %v; want %#v", flags, err, wantFlags)
	}
	if err := d.SetConfigFromFlags(ctx, drivers.Options{"nolib-size": 0, "nolib-zone": []string{"b"}}); !errors.Is(err, drivers.ErrInvalidConfig) || err.Error() != "nolib: --nolib-size 0 is not a size" {
		t.Errorf("SetConfigFromFlags(size 0) = %v, want the driver's ErrInvalidConfig", err)
	}
	if err := d.SetConfigFromFlags(ctx, drivers.Options{"nolib-size": 20, "nolib-zone": []string{"b", "c"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetState(ctx); !errors.Is(err, drivers.ErrNotFound) {
		t.Errorf("GetState before Create = %v, want ErrNotFound", err)
	}
	if err := d.Create(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Create(ctx); !errors.Is(err, drivers.ErrAlreadyExists) || err.Error() != `nolib: machine "n1" exists` {
		t.Errorf("second Create = %v, want the driver's ErrAlreadyExists", err)
	}
	if st, err := d.GetState(ctx); err != nil || st != drivers.Running {
		t.Errorf("GetState = %v, %v; want Running", st, err)
	}
	if err := d.Stop(ctx); !errors.Is(err, drivers.ErrNotSupported) || err.Error() != "nolib driver: stop: not supported" {
		t.Errorf("Stop = %v, want the driver's ErrNotSupported", err)
	}
	var cfg struct {
		Size      int
		Zones     []string
		Created   bool
		StopTried bool
	}
	raw, _ := json.Marshal(d)
	if err := json.Unmarshal(raw, &cfg); err != nil || cfg.Size != 20 || !reflect.DeepEqual(cfg.Zones, []string{"b", "c"}) || !cfg.Created || !cfg.StopTried {
		t.Errorf("config = %s (%v): want the flags, Created, and what the failed Stop recorded", raw, err)
	}
	if err := d.Kill(ctx); err == nil || err.Error() != "nolib: the power switch is stuck" {
		t.Errorf("Kill = %v, want the driver's plain error", err)
	}
	for _, s := range []error{drivers.ErrNotSupported, drivers.ErrNotFound, drivers.ErrNotRunning} {
		if err := d.Kill(ctx); errors.Is(err, s) {
			t.Errorf("a plain error wraps %v", s)
		}
	}
	ep, err := d.GetEndpoint(ctx)
	wantEP := drivers.Endpoint{IP: "192.0.2.7", PrivateIP: "10.0.0.7", URL: "tcp://192.0.2.7:2376", SSHHostname: "192.0.2.7", SSHPort: 2222, SSHUser: "core", Static: true}
	if err != nil || ep != wantEP {
		t.Errorf("GetEndpoint = %+v, %v; want %+v", ep, err, wantEP)
	}
	// A call it does not implement is the plugin's failure, said so.
	if err := d.Restart(ctx); err == nil || !strings.HasPrefix(err.Error(), "driver plugin: ") {
		t.Errorf("Restart (not implemented by the driver) = %v, want a driver plugin error", err)
	}

	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(notices.String(), "nolib: creating, hold on\n"); {
		if time.Now().After(deadline) {
			t.Errorf("the driver's notice on its stderr did not arrive; notices %q", notices.String())
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	c.Close()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("driver process %d still there after Close (kill -0: %v)", pid, err)
	}
}

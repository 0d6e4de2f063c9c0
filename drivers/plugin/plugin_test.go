package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/drivers/drivertest"
	"github.com/machine-cli/machine/drivers/generic"
	driverpb "github.com/machine-cli/machine/drivers/plugin/proto"
	"github.com/machine-cli/machine/internal/standin"
)

// inProcess serves factory's driver over an in-process go-plugin gRPC
// connection and returns the client side.
func inProcess(t testing.TB, factory func() drivers.Driver) *Client {
	t.Helper()
	gc, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{PluginName: &DriverPlugin{Factory: factory}})
	// Close also stops the server, through go-plugin's controller service.
	t.Cleanup(func() { _ = gc.Close() })
	raw, err := gc.Dispense(PluginName)
	if err != nil {
		t.Fatal(err)
	}
	return raw.(*Client)
}

func fakeConfig(t testing.TB, f drivertest.Fake) json.RawMessage {
	t.Helper()
	if f.MachineName == "" {
		f.MachineName = "m1"
	}
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// fakeOf decodes the config a remote fake holds.
func fakeOf(t *testing.T, d *RemoteDriver) drivertest.Fake {
	t.Helper()
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var f drivertest.Fake
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("config %s: %v", data, err)
	}
	return f
}

func TestServiceCoversDriver(t *testing.T) {
	var want, got []string
	dt := reflect.TypeFor[drivers.Driver]()
	for i := range dt.NumMethod() {
		want = append(want, dt.Method(i).Name)
	}
	for _, m := range driverpb.Driver_ServiceDesc.Methods {
		got = append(got, m.MethodName)
	}
	slices.Sort(got)
	if !slices.Equal(want, got) {
		t.Errorf("service methods %v, want the Driver methods %v", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	c := inProcess(t, drivertest.NewFake)
	d := c.Driver(json.RawMessage(`{"MachineName":"m1","StorePath":"/store"}`))
	ctx := t.Context()

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	eq := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", what, got, want)
		}
	}

	name, err := d.DriverName(ctx)
	must(err)
	eq("DriverName", name, "fake")

	flags, err := d.GetCreateFlags(ctx)
	must(err)
	wantFlags, _ := drivertest.NewFake().GetCreateFlags(ctx)
	eq("GetCreateFlags", flags, wantFlags)

	must(d.SetConfigFromFlags(ctx, drivers.Options{
		"fake-string": "x", "fake-int": 7, "fake-bool": true, "fake-list": []string{"p", "q"},
	}))
	f := fakeOf(t, d)
	eq("Text", f.Text, "x")
	eq("Number", f.Number, 7)
	eq("Toggle", f.Toggle, true)
	eq("List", f.List, []string{"p", "q"})
	eq("OptionTypes", f.OptionTypes, map[string]string{
		"fake-string": "string", "fake-int": "int", "fake-bool": "bool", "fake-list": "[]string",
	})

	must(d.PreCreateCheck(ctx))
	must(d.Create(ctx))
	f = fakeOf(t, d)
	eq("Created", f.Created, true)
	eq("MachineName", f.MachineName, "m1")
	eq("StorePath", f.StorePath, "/store")

	state, err := d.GetState(ctx)
	must(err)
	eq("GetState", state, drivers.Running)
	for _, g := range []struct {
		name string
		f    func(context.Context) (string, error)
		want string
	}{
		{"GetIP", d.GetIP, drivertest.FakeIP},
		{"GetPrivateIP", d.GetPrivateIP, drivertest.FakeIP},
		{"GetURL", d.GetURL, "tcp://" + drivertest.FakeIP + ":2376"},
		{"GetSSHHostname", d.GetSSHHostname, drivertest.FakeIP},
		{"GetSSHUsername", d.GetSSHUsername, "root"},
		{"GetSSHKeyPath", d.GetSSHKeyPath, ""},
	} {
		got, err := g.f(ctx)
		must(err)
		eq(g.name, got, g.want)
	}
	port, err := d.GetSSHPort(ctx)
	must(err)
	eq("GetSSHPort", port, 22)
	ep, err := d.GetEndpoint(ctx)
	must(err)
	eq("GetEndpoint", ep, drivers.Endpoint{IP: drivertest.FakeIP, PrivateIP: drivertest.FakeIP, URL: "tcp://" + drivertest.FakeIP + ":2376",
		SSHHostname: drivertest.FakeIP, SSHPort: 22, SSHUser: "root", Static: true})

	for _, step := range []struct {
		name string
		f    func(context.Context) error
		want drivers.State
	}{
		{"Stop", d.Stop, drivers.Stopped},
		{"Start", d.Start, drivers.Running},
		{"Kill", d.Kill, drivers.Stopped},
		{"Restart", d.Restart, drivers.Running},
	} {
		must(step.f(ctx))
		eq("state after "+step.name, fakeOf(t, d).Status, step.want)
	}
	must(d.Remove(ctx))
	f = fakeOf(t, d)
	eq("Created after Remove", f.Created, false)
	eq("Calls", f.Calls, []string{
		"DriverName", "GetCreateFlags", "SetConfigFromFlags", "PreCreateCheck", "Create",
		"GetState", "GetIP", "GetPrivateIP", "GetURL", "GetSSHHostname", "GetSSHUsername", "GetSSHKeyPath", "GetSSHPort",
		"GetEndpoint", "GetIP", "GetPrivateIP", "GetURL", "GetSSHHostname", "GetSSHUsername", "GetSSHKeyPath", "GetSSHPort",
		"Stop", "Start", "Kill", "Restart", "Remove",
	})
}

func TestDriversShareOnePlugin(t *testing.T) {
	c := inProcess(t, drivertest.NewFake)
	a := c.Driver(fakeConfig(t, drivertest.Fake{BaseDriver: drivers.BaseDriver{MachineName: "a"}}))
	b := c.Driver(fakeConfig(t, drivertest.Fake{BaseDriver: drivers.BaseDriver{MachineName: "b"}}))
	if err := a.Create(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetState(t.Context()); !errors.Is(err, drivers.ErrNotFound) {
		t.Errorf("b.GetState = %v, want ErrNotFound: b was never created", err)
	}
	if fa, fb := fakeOf(t, a), fakeOf(t, b); fa.MachineName != "a" || !fa.Created || fb.MachineName != "b" || fb.Created {
		t.Errorf("configs mixed up: a=%+v b=%+v", fa, fb)
	}
}

func TestOptionKinds(t *testing.T) {
	c := inProcess(t, drivertest.NewFake)
	d := c.Driver(fakeConfig(t, drivertest.Fake{}))
	err := d.SetConfigFromFlags(t.Context(), drivers.Options{
		"fake-int": int64(3), "other": map[string]any{"k": 1.5}, "nothing": nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	f := fakeOf(t, d)
	want := map[string]string{"fake-int": "int", "other": "map[string]interface {}"}
	if !reflect.DeepEqual(f.OptionTypes, want) || f.Number != 3 {
		t.Errorf("OptionTypes = %v, Number = %d; want %v, 3", f.OptionTypes, f.Number, want)
	}
}

func TestErrors(t *testing.T) {
	c := inProcess(t, drivertest.NewFake)
	tests := []struct {
		kind string
		want error // nil: a plain error
	}{
		{drivertest.FailNotSupported, drivers.ErrNotSupported},
		{drivertest.FailNotFound, drivers.ErrNotFound},
		{drivertest.FailAlreadyExists, drivers.ErrAlreadyExists},
		{drivertest.FailInvalidConfig, drivers.ErrInvalidConfig},
		{drivertest.FailNotRunning, drivers.ErrNotRunning},
		{"disk on fire", nil},
	}
	sentinels := []error{drivers.ErrNotSupported, drivers.ErrNotFound, drivers.ErrAlreadyExists, drivers.ErrInvalidConfig, drivers.ErrNotRunning}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			cfg := drivertest.Fake{Errors: map[string]string{"Create": tt.kind}}
			local := cfg
			local.MachineName = "m1"
			wantMsg := local.Create(t.Context()).Error()

			d := c.Driver(fakeConfig(t, cfg))
			err := d.Create(t.Context())
			if err == nil {
				t.Fatal("Create succeeded")
			}
			if err.Error() != wantMsg {
				t.Errorf("message %q, want the driver's %q", err, wantMsg)
			}
			for _, s := range sentinels {
				if got := errors.Is(err, s); got != (s == tt.want) {
					t.Errorf("errors.Is(err, %q) = %v", s, got)
				}
			}
			// The config is kept even though the call failed.
			if calls := fakeOf(t, d).Calls; !slices.Equal(calls, []string{"Create"}) {
				t.Errorf("Calls after a failed Create = %v, want [Create]", calls)
			}
		})
	}
}

func TestInvalidConfigJSON(t *testing.T) {
	c := inProcess(t, drivertest.NewFake)
	d := c.Driver(json.RawMessage(`{"MachineName": 42}`))
	_, err := d.GetState(t.Context())
	if !errors.Is(err, drivers.ErrInvalidConfig) || !strings.Contains(err.Error(), "driver config") {
		t.Errorf("GetState with a bad config = %v, want ErrInvalidConfig naming the driver config", err)
	}
}

func TestPanicIsAnError(t *testing.T) {
	c := inProcess(t, func() drivers.Driver { return &panicky{Fake: &drivertest.Fake{}} })
	d := c.Driver(fakeConfig(t, drivertest.Fake{}))
	if err := d.Create(t.Context()); err == nil || !strings.Contains(err.Error(), "driver panic: boom") {
		t.Errorf("Create = %v, want a driver panic error", err)
	}
	if _, err := d.DriverName(t.Context()); err != nil {
		t.Errorf("plugin unusable after a panic: %v", err)
	}
}

type panicky struct{ *drivertest.Fake }

func (p *panicky) Create(context.Context) error { panic("boom") }

// probe reports, from the server side, how Create's context ended.
type probe struct {
	*drivertest.Fake
	seen chan probed
}

type probed struct {
	err         error
	hasDeadline bool
}

func (p *probe) Create(ctx context.Context) error {
	err := p.Fake.Create(ctx)
	_, ok := ctx.Deadline()
	p.seen <- probed{err, ok}
	return err
}

func TestContextPropagates(t *testing.T) {
	seen := make(chan probed, 1)
	c := inProcess(t, func() drivers.Driver { return &probe{Fake: &drivertest.Fake{}, seen: seen} })
	d := c.Driver(fakeConfig(t, drivertest.Fake{Block: []string{"Create"}}))

	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(t.Context(), 100*time.Millisecond)
		}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			if err := d.Create(ctx); !errors.Is(err, tt.want) {
				t.Errorf("client: Create = %v, want %v", err, tt.want)
			}
			select {
			case p := <-seen:
				// The client cancels the call when its deadline passes, which
				// may beat the server's own timer: either ends the context.
				if !errors.Is(p.err, context.Canceled) && !errors.Is(p.err, context.DeadlineExceeded) {
					t.Errorf("server: driver saw %v, want its context to end", p.err)
				}
				if wantDeadline := tt.want == context.DeadlineExceeded; p.hasDeadline != wantDeadline {
					t.Errorf("server: context has a deadline = %v, want %v", p.hasDeadline, wantDeadline)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the driver's context did not end on the server")
			}
		})
	}
}

func TestSuiteRemoteFake(t *testing.T) {
	c := inProcess(t, drivertest.NewFake)
	drivertest.Suite(t, func(t *testing.T) drivers.Driver {
		return c.Driver(fakeConfig(t, drivertest.Fake{BaseDriver: drivers.BaseDriver{MachineName: "suite", StorePath: t.TempDir()}}))
	})
}

func TestSuiteRemoteGeneric(t *testing.T) {
	c := inProcess(t, generic.New)
	drivertest.Suite(t, func(t *testing.T) drivers.Driver {
		cfg, _ := json.Marshal(map[string]any{
			"MachineName": "suite", "StorePath": t.TempDir(),
			"IPAddress": "127.0.0.1", "SSHPort": standin.ClosedPort(t),
		})
		return c.Driver(cfg)
	})
}

func TestRemoteGeneric(t *testing.T) {
	c := inProcess(t, generic.New)
	d := c.Driver(json.RawMessage(`{"MachineName":"g"}`))
	err := d.SetConfigFromFlags(t.Context(), drivers.Options{"generic-ssh-port": 0})
	if !errors.Is(err, drivers.ErrInvalidConfig) || !strings.Contains(err.Error(), "--generic-ip-address") {
		t.Errorf("SetConfigFromFlags = %v, want ErrInvalidConfig naming --generic-ip-address", err)
	}
	local := generic.New().(*generic.Driver)
	local.MachineName = "g"
	if err := d.Stop(t.Context()); !errors.Is(err, drivers.ErrNotSupported) || err.Error() != local.Stop(t.Context()).Error() {
		t.Errorf("Stop = %v, want the driver's NotSupported error", err)
	}
	if err := d.SetConfigFromFlags(t.Context(), drivers.Options{
		"generic-ip-address": "127.0.0.1", "generic-ssh-port": standin.ClosedPort(t), "generic-engine-port": 2377,
	}); err != nil {
		t.Fatal(err)
	}
	if url, err := d.GetURL(t.Context()); err != nil || url != "tcp://127.0.0.1:2377" {
		t.Errorf("GetURL = %q, %v", url, err)
	}
	if st, err := d.GetState(t.Context()); st != drivers.Stopped || err != nil {
		t.Errorf("GetState on a closed port = %v, %v; want Stopped", st, err)
	}
}

func TestFindExternal(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, ExternalPrefix+"thing")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)

	if got, err := FindExternal("thing"); err != nil || got != exe {
		t.Errorf("FindExternal(thing) = %q, %v; want %q", got, err, exe)
	}
	_, err := FindExternal("nope")
	if !errors.Is(err, drivers.ErrNotFound) || !strings.Contains(err.Error(), `"machine-driver-nope"`) || !strings.Contains(err.Error(), "PATH") {
		t.Errorf("FindExternal(nope) = %v, want ErrNotFound naming machine-driver-nope on PATH", err)
	}
	for _, bad := range []string{"", "../thing", "a/b", ".hidden"} {
		if _, err := FindExternal(bad); !errors.Is(err, drivers.ErrInvalidConfig) {
			t.Errorf("FindExternal(%q) = %v, want ErrInvalidConfig", bad, err)
		}
	}
}

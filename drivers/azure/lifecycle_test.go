package azure

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"

	"github.com/machine-cli/machine/drivers"
)

func TestPowerState(t *testing.T) {
	st := func(codes ...string) []*armcompute.InstanceViewStatus {
		var out []*armcompute.InstanceViewStatus
		for _, c := range codes {
			out = append(out, &armcompute.InstanceViewStatus{Code: to.Ptr(c), Message: to.Ptr("the message")})
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		statuses []*armcompute.InstanceViewStatus
		want     drivers.State
		wantErr  string
	}{
		{"running", st("ProvisioningState/succeeded", "PowerState/running"), drivers.Running, ""},
		{"starting", st("ProvisioningState/updating", "PowerState/starting"), drivers.Starting, ""},
		{"stopping", st("ProvisioningState/succeeded", "PowerState/stopping"), drivers.Stopping, ""},
		{"deallocating", st("ProvisioningState/updating", "PowerState/deallocating"), drivers.Stopping, ""},
		{"stopped", st("ProvisioningState/succeeded", "PowerState/stopped"), drivers.Stopped, ""},
		{"deallocated", st("ProvisioningState/succeeded", "PowerState/deallocated"), drivers.Stopped, ""},
		{"case", st("powerstate/Running"), drivers.Running, ""},
		{"power state wins over a failed provisioning", st("ProvisioningState/failed/VMExtensionProvisioningError", "PowerState/running"), drivers.Running, ""},
		{"failed", st("ProvisioningState/failed/AllocationFailed"), drivers.Error, "the message"},
		{"creating", st("ProvisioningState/creating"), drivers.Starting, ""},
		{"deleting", st("ProvisioningState/deleting"), drivers.Stopping, ""},
		{"unknown power state", st("PowerState/hibernated"), drivers.None, ""},
		{"nothing", nil, drivers.None, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := powerState(tc.statuses)
			if got != tc.want {
				t.Errorf("state %v, want %v", got, tc.want)
			}
			if (err != nil) != (tc.wantErr != "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want one saying %q", err, tc.wantErr)
			}
		})
	}
}

// created returns a driver whose machine m1 exists on a new fake.
func created(t *testing.T, opts map[string]any) (*fakeARM, *Driver) {
	t.Helper()
	f := newFakeARM()
	return f, mustCreate(t, f, "m1", opts)
}

// reload is the driver as the next command sees it: its config only.
func reload(t *testing.T, f *fakeARM, d *Driver) *Driver {
	t.Helper()
	e := New().(*Driver)
	e.Config, e.Made = d.Config, d.Made
	e.connect = f.connect
	return e
}

func TestGetState(t *testing.T) {
	for _, tc := range []struct {
		name     string
		change   func(f *fakeARM)
		want     drivers.State
		notFound bool
		wantErr  string
	}{
		{name: "running", change: func(*fakeARM) {}, want: drivers.Running},
		{name: "deallocated", change: func(f *fakeARM) { f.setPower(vmIDOf("m1"), "deallocated") }, want: drivers.Stopped},
		{name: "starting", change: func(f *fakeARM) { f.setPower(vmIDOf("m1"), "starting") }, want: drivers.Starting},
		{name: "VM gone", change: func(f *fakeARM) { delete(f.res, key(vmIDOf("m1"))) }, want: drivers.Error, notFound: true, wantErr: "machine rm -f m1"},
		{name: "group gone", change: func(f *fakeARM) { delete(f.groups, defaultResourceGroup); f.res = map[string]any{} }, want: drivers.Error, notFound: true},
		{name: "Azure fails", change: func(f *fakeARM) {
			f.rules = append(f.rules, &failRule{path: "/virtualmachines/m1/instanceview", status: 503, code: "ServiceUnavailable", message: "Try later."})
		}, want: drivers.Error, wantErr: "Try later"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, d := created(t, nil)
			f.mu.Lock()
			tc.change(f)
			f.mu.Unlock()
			got, err := reload(t, f, d).GetState(t.Context())
			if got != tc.want {
				t.Errorf("GetState = %v, want %v", got, tc.want)
			}
			if errors.Is(err, drivers.ErrNotFound) != tc.notFound {
				t.Errorf("GetState error %v: wraps ErrNotFound %v, want %v", err, errors.Is(err, drivers.ErrNotFound), tc.notFound)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("GetState error %v, want one saying %q", err, tc.wantErr)
			}
			if err == nil && tc.wantErr != "" || err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("GetState error %q", err)
			}
		})
	}
}

func TestGetStateNeverCreated(t *testing.T) {
	f := newFakeARM()
	d := testDriver(t, f, "m1", nil)
	st, err := d.GetState(t.Context())
	if st != drivers.None || !errors.Is(err, drivers.ErrNotFound) {
		t.Errorf("GetState = %v, %v; want None and ErrNotFound", st, err)
	}
	if f.callCount() != 0 {
		t.Errorf("%d calls for a machine never created", f.callCount())
	}
}

func TestPowerOps(t *testing.T) {
	f, d := created(t, nil)
	ctx := t.Context()
	state := func() string {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.power[key(vmIDOf("m1"))]
	}
	steps := []struct {
		name string
		op   func(*Driver, context.Context) error
		call string // the request that must have been made
		want string
	}{
		{"Stop deallocates", (*Driver).Stop, "/virtualmachines/m1/deallocate", "deallocated"},
		{"Restart of a stopped VM starts it", (*Driver).Restart, "/virtualmachines/m1/start", "running"},
		{"Restart", (*Driver).Restart, "/virtualmachines/m1/restart", "running"},
		{"Kill powers off", (*Driver).Kill, "/virtualmachines/m1/poweroff", "stopped"},
		{"Start", (*Driver).Start, "/virtualmachines/m1/start", "running"},
	}
	for _, s := range steps {
		before := f.count(http.MethodPost, s.call)
		if err := s.op(reload(t, f, d), ctx); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if f.count(http.MethodPost, s.call) != before+1 {
			t.Errorf("%s: no POST %s", s.name, s.call)
		}
		if got := state(); got != s.want {
			t.Errorf("%s: power state %q, want %q", s.name, got, s.want)
		}
	}
	if len(f.powerOffSkip) != 1 || !f.powerOffSkip[0] {
		t.Errorf("Kill powered off with skipShutdown %v, want true", f.powerOffSkip)
	}

	// The VM deleted outside machine: ErrNotFound, with what to do.
	f.mu.Lock()
	delete(f.res, key(vmIDOf("m1")))
	f.mu.Unlock()
	for name, op := range map[string]func(*Driver, context.Context) error{
		"Start": (*Driver).Start, "Stop": (*Driver).Stop, "Restart": (*Driver).Restart, "Kill": (*Driver).Kill,
	} {
		if err := op(reload(t, f, d), ctx); !errors.Is(err, drivers.ErrNotFound) || !strings.Contains(err.Error(), "machine rm -f m1") {
			t.Errorf("%s on a deleted VM = %v, want ErrNotFound saying what to do", name, err)
		}
	}
}

func TestAddresses(t *testing.T) {
	for _, tc := range []struct {
		name                string
		opts                map[string]any
		wantIP, wantPrivate string
		wantURL             string
	}{
		{"public", nil, "127.0.0.1", "192.168.0.4", "tcp://127.0.0.1:2376"},
		{"use private IP", map[string]any{flUsePrivateIP: true}, "192.168.0.4", "192.168.0.4", "tcp://192.168.0.4:2376"},
		{"no public IP", map[string]any{flNoPublicIP: true, flDockerPort: 3376}, "192.168.0.4", "192.168.0.4", "tcp://192.168.0.4:3376"},
		{"static private IP", map[string]any{flPrivateIP: "192.168.7.7"}, "127.0.0.1", "192.168.7.7", "tcp://127.0.0.1:2376"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, d := created(t, tc.opts)
			d = reload(t, f, d)
			ctx := t.Context()
			if ip, err := d.GetIP(ctx); ip != tc.wantIP || err != nil {
				t.Errorf("GetIP = %q, %v; want %q", ip, err, tc.wantIP)
			}
			if ip, err := d.GetSSHHostname(ctx); ip != tc.wantIP || err != nil {
				t.Errorf("GetSSHHostname = %q, %v; want %q", ip, err, tc.wantIP)
			}
			if ip, err := d.GetPrivateIP(ctx); ip != tc.wantPrivate || err != nil {
				t.Errorf("GetPrivateIP = %q, %v; want %q", ip, err, tc.wantPrivate)
			}
			if u, err := d.GetURL(ctx); u != tc.wantURL || err != nil {
				t.Errorf("GetURL = %q, %v; want %q", u, err, tc.wantURL)
			}
			before := f.callCount()
			ep, err := d.GetEndpoint(ctx)
			want := drivers.Endpoint{IP: tc.wantIP, PrivateIP: tc.wantPrivate, URL: tc.wantURL, SSHHostname: tc.wantIP,
				SSHPort: 22, SSHUser: defaultSSHUser, SSHKeyPath: d.SSHKeyPath, Static: false}
			if err != nil || ep != want {
				t.Errorf("GetEndpoint = %+v, %v\nwant %+v", ep, err, want)
			}
			if n := f.callCount() - before; n > 2 {
				t.Errorf("GetEndpoint made %d calls, want at most 2 (the public IP and the NIC, once each)", n)
			}
		})
	}
}

func TestAddressErrors(t *testing.T) {
	t.Run("the address survives deallocation", func(t *testing.T) {
		// Public IPs are static Standard addresses: a stopped machine keeps
		// its address, so env and ip still work.
		f, d := created(t, nil)
		if err := d.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
		if ip, err := reload(t, f, d).GetIP(t.Context()); ip != "127.0.0.1" || err != nil {
			t.Errorf("GetIP = %q, %v", ip, err)
		}
	})
	t.Run("IP and NIC deleted outside machine", func(t *testing.T) {
		f, d := created(t, nil)
		f.mu.Lock()
		delete(f.res, key(ipIDOf("m1")))
		delete(f.res, key(nicIDOf("m1")))
		f.mu.Unlock()
		if _, err := reload(t, f, d).GetIP(t.Context()); !errors.Is(err, drivers.ErrNotFound) {
			t.Errorf("GetIP = %v, want ErrNotFound", err)
		}
		if _, err := reload(t, f, d).GetPrivateIP(t.Context()); !errors.Is(err, drivers.ErrNotFound) {
			t.Errorf("GetPrivateIP = %v, want ErrNotFound", err)
		}
	})
	t.Run("never created: no call", func(t *testing.T) {
		f := newFakeARM()
		d := testDriver(t, f, "m1", nil)
		for name, get := range map[string]func(context.Context) (string, error){
			"GetIP": d.GetIP, "GetPrivateIP": d.GetPrivateIP, "GetURL": d.GetURL, "GetSSHHostname": d.GetSSHHostname,
		} {
			if _, err := get(t.Context()); !errors.Is(err, drivers.ErrNotFound) {
				t.Errorf("%s = %v, want ErrNotFound", name, err)
			}
		}
		if _, err := d.GetEndpoint(t.Context()); err == nil {
			t.Error("GetEndpoint succeeded")
		}
		if f.callCount() != 0 {
			t.Errorf("%d calls for a machine never created", f.callCount())
		}
	})
}

func TestWaitForSSH(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if err := waitForSSH(t.Context(), l.Addr().String()); err != nil {
		t.Errorf("waitForSSH(listening) = %v", err)
	}

	// A closed port, until the caller's context ends.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := closed.Addr().String()
	closed.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err = waitForSSH(ctx, addr)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("waitForSSH(closed) = %v, want the deadline, the address and the reason", err)
	}
}

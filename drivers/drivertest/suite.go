package drivertest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/machine-cli/machine/drivers"
)

// bound is how long any call in the suite may take.
const bound = 5 * time.Second

var (
	namePattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	envVarPattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
)

// Suite checks the contract of drivers.Driver that holds for every driver
// and for the plugin shims. newDriver returns the driver of a fresh machine
// that was never created, configured well enough to be asked for its state
// (it must never point at anything but the loopback address). Each check
// gets its own driver.
func Suite(t *testing.T, newDriver func(t *testing.T) drivers.Driver) {
	t.Run("DriverName", func(t *testing.T) {
		d := newDriver(t)
		name := mustName(t, d)
		if !namePattern.MatchString(name) {
			t.Errorf("DriverName = %q, want lowercase letters, digits and dashes", name)
		}
		if again := mustName(t, d); again != name {
			t.Errorf("DriverName changed from %q to %q", name, again)
		}
	})

	t.Run("CreateFlags", func(t *testing.T) {
		d := newDriver(t)
		name := mustName(t, d)
		var flags []drivers.Flag
		var err error
		within(t, "GetCreateFlags", func() { flags, err = d.GetCreateFlags(t.Context()) })
		if err != nil {
			t.Fatalf("GetCreateFlags: %v", err)
		}
		checkFlags(t, name, flags)
		var again []drivers.Flag
		within(t, "GetCreateFlags", func() { again, _ = d.GetCreateFlags(t.Context()) })
		if !reflect.DeepEqual(flags, again) {
			t.Errorf("GetCreateFlags is not stable:\n%v\n%v", flags, again)
		}
	})

	t.Run("SetConfigFromFlagsEmpty", func(t *testing.T) {
		d := newDriver(t)
		within(t, "SetConfigFromFlags", func() {
			err := d.SetConfigFromFlags(t.Context(), drivers.Options{})
			if err != nil && !errors.Is(err, drivers.ErrInvalidConfig) {
				t.Errorf("SetConfigFromFlags(no options) = %v, want nil or an error wrapping ErrInvalidConfig", err)
			}
		})
	})

	t.Run("RemoveNeverCreated", func(t *testing.T) {
		d := newDriver(t)
		for i := range 2 {
			within(t, "Remove", func() {
				if err := d.Remove(t.Context()); err != nil {
					t.Errorf("Remove #%d on a machine never created = %v, want nil", i+1, err)
				}
			})
		}
	})

	t.Run("LifecycleNeverCreated", func(t *testing.T) {
		ops := map[string]func(drivers.Driver, context.Context) error{
			"Start": drivers.Driver.Start, "Stop": drivers.Driver.Stop,
			"Restart": drivers.Driver.Restart, "Kill": drivers.Driver.Kill,
		}
		for op, f := range ops {
			d := newDriver(t)
			within(t, op, func() {
				err := f(d, t.Context())
				checkError(t, op, err)
				if err != nil && !errors.Is(err, drivers.ErrNotSupported) && !errors.Is(err, drivers.ErrNotFound) && !errors.Is(err, drivers.ErrNotRunning) {
					t.Errorf("%s on a machine never created = %v, want nil or an error wrapping ErrNotSupported, ErrNotFound or ErrNotRunning", op, err)
				}
			})
		}
	})

	t.Run("GetStateCanceled", func(t *testing.T) {
		d := newDriver(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		within(t, "GetState with a canceled context", func() { _, _ = d.GetState(ctx) })
	})

	t.Run("GetStateShortDeadline", func(t *testing.T) {
		d := newDriver(t)
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		within(t, "GetState with a 50ms deadline", func() {
			_, err := d.GetState(ctx)
			checkError(t, "GetState", err)
		})
	})

	t.Run("CreateCanceled", func(t *testing.T) {
		d := newDriver(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		within(t, "Create with a canceled context", func() {
			if err := d.Create(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("Create with a canceled context = %v, want an error wrapping context.Canceled", err)
			}
		})
		within(t, "Remove", func() {
			if err := d.Remove(t.Context()); err != nil {
				t.Errorf("Remove after a canceled Create = %v, want nil", err)
			}
		})
	})

	t.Run("Getters", func(t *testing.T) {
		d := newDriver(t)
		ctx := t.Context()
		within(t, "getters", func() {
			if port, err := d.GetSSHPort(ctx); err == nil && (port < 1 || port > 65535) {
				t.Errorf("GetSSHPort = %d, want 1-65535", port)
			}
			if user, err := d.GetSSHUsername(ctx); err == nil && user == "" {
				t.Error(`GetSSHUsername = "" without an error`)
			}
			if url, err := d.GetURL(ctx); err == nil && !strings.HasPrefix(url, "tcp://") {
				t.Errorf("GetURL = %q, want tcp://HOST:PORT", url)
			}
			for name, f := range map[string]func(drivers.Driver, context.Context) (string, error){
				"GetIP": drivers.Driver.GetIP, "GetPrivateIP": drivers.Driver.GetPrivateIP,
				"GetSSHHostname": drivers.Driver.GetSSHHostname, "GetSSHKeyPath": drivers.Driver.GetSSHKeyPath,
			} {
				_, err := f(d, ctx)
				checkError(t, name, err)
			}
			// The endpoint agrees with the single getters.
			if ep, err := d.GetEndpoint(ctx); err == nil {
				if url, err := d.GetURL(ctx); err == nil && url != ep.URL {
					t.Errorf("GetEndpoint URL %q, GetURL %q", ep.URL, url)
				}
				if port, err := d.GetSSHPort(ctx); err == nil && port != ep.SSHPort {
					t.Errorf("GetEndpoint SSHPort %d, GetSSHPort %d", ep.SSHPort, port)
				}
			} else {
				checkError(t, "GetEndpoint", err)
			}
		})
	})

	t.Run("ConfigRoundTrip", func(t *testing.T) {
		d := newDriver(t)
		data, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("json.Marshal(driver): %v", err)
		}
		var obj map[string]any
		if err := json.Unmarshal(data, &obj); err != nil {
			t.Fatalf("driver config %s is not a JSON object: %v", data, err)
		}
		e := newDriver(t)
		if err := json.Unmarshal(data, e); err != nil {
			t.Fatalf("json.Unmarshal(config, fresh driver): %v", err)
		}
		again, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("json.Marshal(reloaded driver): %v", err)
		}
		var obj2 map[string]any
		_ = json.Unmarshal(again, &obj2)
		if !reflect.DeepEqual(obj, obj2) {
			t.Errorf("config changed on a round trip:\n%s\n%s", data, again)
		}
	})
}

func mustName(t *testing.T, d drivers.Driver) string {
	t.Helper()
	var name string
	var err error
	within(t, "DriverName", func() { name, err = d.DriverName(t.Context()) })
	if err != nil {
		t.Fatalf("DriverName: %v", err)
	}
	if name == "" {
		t.Fatal("DriverName is empty")
	}
	return name
}

func checkFlags(t *testing.T, driver string, flags []drivers.Flag) {
	t.Helper()
	names, envs := map[string]bool{}, map[string]bool{}
	for _, f := range flags {
		if !strings.HasPrefix(f.Name, driver+"-") {
			t.Errorf("flag %q: name does not start with %q", f.Name, driver+"-")
		}
		if names[f.Name] {
			t.Errorf("flag %q: listed twice", f.Name)
		}
		names[f.Name] = true
		if strings.TrimSpace(f.Usage) == "" {
			t.Errorf("flag %q: no usage", f.Name)
		}
		if f.EnvVar != "" {
			if !envVarPattern.MatchString(f.EnvVar) {
				t.Errorf("flag %q: env var %q is not UPPER_CASE", f.Name, f.EnvVar)
			}
			if envs[f.EnvVar] {
				t.Errorf("flag %q: env var %q used twice", f.Name, f.EnvVar)
			}
			envs[f.EnvVar] = true
		}
		if f.Kind != drivers.FlagStringSlice && f.DefaultSlice != nil {
			t.Errorf("flag %q: DefaultSlice on a %s flag", f.Name, f.Kind)
		}
		switch f.Kind {
		case drivers.FlagString:
		case drivers.FlagInt:
			if _, err := strconv.Atoi(f.Default); f.Default != "" && err != nil {
				t.Errorf("flag %q: int default %q: %v", f.Name, f.Default, err)
			}
		case drivers.FlagBool:
			if _, err := strconv.ParseBool(f.Default); f.Default != "" && err != nil {
				t.Errorf("flag %q: bool default %q: %v", f.Name, f.Default, err)
			}
		case drivers.FlagStringSlice:
			if f.Default != "" {
				t.Errorf("flag %q: stringSlice flags take DefaultSlice, not Default", f.Name)
			}
		default:
			t.Errorf("flag %q: unknown kind %q", f.Name, f.Kind)
		}
	}
}

// checkError flags errors that say "not supported" but lost ErrNotSupported.
func checkError(t *testing.T, op string, err error) {
	t.Helper()
	if err != nil && strings.Contains(strings.ToLower(err.Error()), "not supported") && !errors.Is(err, drivers.ErrNotSupported) {
		t.Errorf("%s = %q: says not supported but does not wrap ErrNotSupported", op, err)
	}
}

// within runs f and fails the test when it takes longer than bound. f runs
// on another goroutine: it may call t.Error but not t.Fatal.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(bound):
		t.Fatalf("%s did not return within %v", what, bound)
	}
}

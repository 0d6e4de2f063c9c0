// Package drivertest holds a conformance suite for drivers and the plugin
// shims, and Fake, an in-memory driver for tests.
package drivertest

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/machine-cli/machine/drivers"
)

// FakeIP is the address of a created Fake machine (TEST-NET-1; never dialed).
const FakeIP = "192.0.2.10"

// Error kinds for Fake.Errors.
const (
	FailNotSupported  = "not-supported"
	FailNotFound      = "not-found"
	FailAlreadyExists = "already-exists"
	FailInvalidConfig = "invalid-config"
	FailNotRunning    = "not-running"
)

// Fake is an in-memory driver named "fake". It keeps everything in its
// config fields, so calls through the plugin are visible in the config that
// comes back.
type Fake struct {
	drivers.BaseDriver

	// Created says Create ran and Remove has not since.
	Created bool `json:",omitempty"`
	// Status is the machine's state once created.
	Status drivers.State `json:",omitempty"`
	// Calls lists the Driver methods called, in order.
	Calls []string `json:",omitempty"`

	// Text is the value of --fake-string.
	Text string `json:",omitempty"`
	// Number is the value of --fake-int.
	Number int `json:",omitempty"`
	// Toggle is the value of --fake-bool.
	Toggle bool `json:",omitempty"`
	// List is the value of --fake-list.
	List []string `json:",omitempty"`
	// OptionTypes records the Go type of each option SetConfigFromFlags got.
	OptionTypes map[string]string `json:",omitempty"`

	// Errors makes methods fail, by method name: one of the Fail* kinds
	// gives an error wrapping that sentinel; other text, a plain error with
	// that text.
	Errors map[string]string `json:",omitempty"`
	// Block lists methods that wait until their context ends and return its
	// error.
	Block []string `json:",omitempty"`
}

// NewFake returns a Fake for a new machine; it is a driver factory.
func NewFake() drivers.Driver { return &Fake{} }

var _ drivers.Driver = (*Fake)(nil)

// enter records a call and applies Errors and Block.
func (f *Fake) enter(ctx context.Context, method string) error {
	f.Calls = append(f.Calls, method)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fake: %s: %w", method, err)
	}
	if slices.Contains(f.Block, method) {
		<-ctx.Done()
		return fmt.Errorf("fake: %s: %w", method, ctx.Err())
	}
	kind, ok := f.Errors[method]
	if !ok {
		return nil
	}
	sentinel := map[string]error{
		FailNotSupported:  drivers.ErrNotSupported,
		FailNotFound:      drivers.ErrNotFound,
		FailAlreadyExists: drivers.ErrAlreadyExists,
		FailInvalidConfig: drivers.ErrInvalidConfig,
		FailNotRunning:    drivers.ErrNotRunning,
	}[kind]
	if sentinel == nil {
		return errors.New(kind)
	}
	return fmt.Errorf("fake: machine %q: %s: %w", f.MachineName, method, sentinel)
}

func (f *Fake) notFound(method string) error {
	return fmt.Errorf("fake: machine %q: %s: %w", f.MachineName, method, drivers.ErrNotFound)
}

// DriverName returns "fake".
func (f *Fake) DriverName(ctx context.Context) (string, error) {
	return "fake", f.enter(ctx, "DriverName")
}

// GetCreateFlags returns one flag of each kind.
func (f *Fake) GetCreateFlags(ctx context.Context) ([]drivers.Flag, error) {
	if err := f.enter(ctx, "GetCreateFlags"); err != nil {
		return nil, err
	}
	return []drivers.Flag{
		{Name: "fake-string", Kind: drivers.FlagString, Usage: "a string", EnvVar: "FAKE_STRING", Default: "s"},
		{Name: "fake-int", Kind: drivers.FlagInt, Usage: "an int, not negative", EnvVar: "FAKE_INT", Default: "1"},
		{Name: "fake-bool", Kind: drivers.FlagBool, Usage: "a bool"},
		{Name: "fake-list", Kind: drivers.FlagStringSlice, Usage: "strings", DefaultSlice: []string{"a", "b"}},
	}, nil
}

// SetConfigFromFlags stores the fake-* flags; a negative fake-int is invalid.
func (f *Fake) SetConfigFromFlags(ctx context.Context, opts drivers.Options) error {
	if err := f.enter(ctx, "SetConfigFromFlags"); err != nil {
		return err
	}
	f.OptionTypes = map[string]string{}
	for name, v := range opts {
		f.OptionTypes[name] = fmt.Sprintf("%T", v)
	}
	f.Text = opts.String("fake-string")
	f.Number = opts.Int("fake-int")
	f.Toggle = opts.Bool("fake-bool")
	f.List = opts.StringSlice("fake-list")
	if f.Number < 0 {
		return fmt.Errorf("--fake-int must not be negative, got %d: %w", f.Number, drivers.ErrInvalidConfig)
	}
	return nil
}

// PreCreateCheck records the call.
func (f *Fake) PreCreateCheck(ctx context.Context) error { return f.enter(ctx, "PreCreateCheck") }

// Create makes the machine, Running at FakeIP.
func (f *Fake) Create(ctx context.Context) error {
	if err := f.enter(ctx, "Create"); err != nil {
		return err
	}
	if f.Created {
		return fmt.Errorf("fake: machine %q: %w", f.MachineName, drivers.ErrAlreadyExists)
	}
	f.Created, f.Status, f.IPAddress = true, drivers.Running, FakeIP
	return nil
}

// Remove forgets the machine; it returns nil when there is none.
func (f *Fake) Remove(ctx context.Context) error {
	if err := f.enter(ctx, "Remove"); err != nil {
		return err
	}
	f.Created, f.Status, f.IPAddress = false, drivers.None, ""
	return nil
}

func (f *Fake) setState(ctx context.Context, method string, s drivers.State) error {
	if err := f.enter(ctx, method); err != nil {
		return err
	}
	if !f.Created {
		return f.notFound(method)
	}
	f.Status = s
	return nil
}

// Start sets the state to Running.
func (f *Fake) Start(ctx context.Context) error { return f.setState(ctx, "Start", drivers.Running) }

// Stop sets the state to Stopped.
func (f *Fake) Stop(ctx context.Context) error { return f.setState(ctx, "Stop", drivers.Stopped) }

// Restart sets the state to Running.
func (f *Fake) Restart(ctx context.Context) error {
	return f.setState(ctx, "Restart", drivers.Running)
}

// Kill sets the state to Stopped.
func (f *Fake) Kill(ctx context.Context) error { return f.setState(ctx, "Kill", drivers.Stopped) }

// GetState returns Status; ErrNotFound before Create.
func (f *Fake) GetState(ctx context.Context) (drivers.State, error) {
	if err := f.enter(ctx, "GetState"); err != nil {
		return drivers.Error, err
	}
	if !f.Created {
		return drivers.None, f.notFound("GetState")
	}
	return f.Status, nil
}

// GetIP returns IPAddress.
func (f *Fake) GetIP(ctx context.Context) (string, error) {
	if err := f.enter(ctx, "GetIP"); err != nil {
		return "", err
	}
	return f.BaseDriver.GetIP(ctx)
}

// GetPrivateIP returns IPAddress.
func (f *Fake) GetPrivateIP(ctx context.Context) (string, error) {
	if err := f.enter(ctx, "GetPrivateIP"); err != nil {
		return "", err
	}
	return f.BaseDriver.GetIP(ctx)
}

// GetURL returns tcp://IPAddress:2376.
func (f *Fake) GetURL(ctx context.Context) (string, error) {
	if err := f.enter(ctx, "GetURL"); err != nil {
		return "", err
	}
	ip, err := f.BaseDriver.GetIP(ctx)
	if err != nil {
		return "", err
	}
	return drivers.DockerURL(ip, 2376), nil
}

// GetSSHHostname returns IPAddress.
func (f *Fake) GetSSHHostname(ctx context.Context) (string, error) {
	if err := f.enter(ctx, "GetSSHHostname"); err != nil {
		return "", err
	}
	return f.BaseDriver.GetIP(ctx)
}

// GetSSHPort returns SSHPort, 22 when unset.
func (f *Fake) GetSSHPort(ctx context.Context) (int, error) {
	if err := f.enter(ctx, "GetSSHPort"); err != nil {
		return 0, err
	}
	return f.BaseDriver.GetSSHPort(ctx)
}

// GetSSHUsername returns SSHUser, root when unset.
func (f *Fake) GetSSHUsername(ctx context.Context) (string, error) {
	if err := f.enter(ctx, "GetSSHUsername"); err != nil {
		return "", err
	}
	return f.BaseDriver.GetSSHUsername(ctx)
}

// GetSSHKeyPath returns SSHKeyPath.
func (f *Fake) GetSSHKeyPath(ctx context.Context) (string, error) {
	if err := f.enter(ctx, "GetSSHKeyPath"); err != nil {
		return "", err
	}
	return f.BaseDriver.GetSSHKeyPath(ctx)
}

// GetEndpoint gathers the getters' values; a Fake's endpoint is static.
func (f *Fake) GetEndpoint(ctx context.Context) (drivers.Endpoint, error) {
	if err := f.enter(ctx, "GetEndpoint"); err != nil {
		return drivers.Endpoint{}, err
	}
	return drivers.EndpointOf(ctx, f, true)
}

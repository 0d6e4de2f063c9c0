package legacy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/machine-cli/machine/drivers"
)

// configTimeout bounds the config calls that have no context of their own
// (UnmarshalJSON).
const configTimeout = 10 * time.Second

// Driver is one machine's driver, served by its own docker-machine plugin
// process. Its JSON is the plugin's own config (GetConfigRaw), kept after
// every call: what config.json stores as the machine's "Driver", byte for
// byte as the plugin wrote it.
type Driver struct {
	c *conn

	mu     sync.Mutex
	config json.RawMessage
	flags  []drivers.Flag
}

var _ drivers.Driver = (*Driver)(nil)

// Start runs the docker-machine plugin at path for one machine and hands it
// config, the machine's stored driver JSON (SetConfigRaw); an empty config
// leaves the plugin's defaults. ctx bounds the start. Close ends the plugin.
func Start(ctx context.Context, path string, config json.RawMessage, opts Options) (*Driver, error) {
	c, err := start(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	d := &Driver{c: c}
	if len(bytes.TrimSpace(config)) > 0 {
		if err := d.setConfig(ctx, config); err != nil {
			c.close()
			return nil, err
		}
	} else {
		d.refresh(ctx)
	}
	return d, nil
}

// Close ends the plugin process; the driver fails afterwards.
func (d *Driver) Close() { d.c.close() }

// MarshalJSON returns the plugin's config as of the last call.
func (d *Driver) MarshalJSON() ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.config) == 0 {
		return nil, fmt.Errorf("driver plugin %s: no config read from the plugin", d.c.path)
	}
	return bytes.Clone(d.config), nil
}

// UnmarshalJSON hands data to the plugin (SetConfigRaw).
func (d *Driver) UnmarshalJSON(data []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), configTimeout)
	defer cancel()
	return d.setConfig(ctx, data)
}

func (d *Driver) setConfig(ctx context.Context, data []byte) error {
	if err := d.c.call(ctx, "SetConfigRaw", bytes.Clone(data), nil); err != nil {
		return d.c.mapError("SetConfigRaw", err, drivers.ErrInvalidConfig)
	}
	d.refresh(ctx)
	return nil
}

// refresh keeps the plugin's current config (GetConfigRaw). A failure keeps
// the last one: the call that came before reports what went wrong.
func (d *Driver) refresh(ctx context.Context) {
	var raw []byte
	if err := d.c.call(ctx, "GetConfigRaw", struct{}{}, &raw); err != nil || !json.Valid(raw) {
		return
	}
	d.mu.Lock()
	d.config = raw
	d.mu.Unlock()
}

// do runs a method that may change the driver's config, then reads the
// config back.
func (d *Driver) do(ctx context.Context, method string, args, reply any, fallback error) error {
	err := d.c.call(ctx, method, args, reply)
	if ctx.Err() == nil {
		d.refresh(ctx)
	}
	return d.c.mapError(method, err, fallback)
}

func (d *Driver) act(ctx context.Context, method string) error {
	return d.do(ctx, method, struct{}{}, nil, nil)
}

func (d *Driver) str(ctx context.Context, method string) (string, error) {
	var s string
	err := d.do(ctx, method, struct{}{}, &s, nil)
	return s, err
}

// DriverName implements drivers.Driver.
func (d *Driver) DriverName(ctx context.Context) (string, error) {
	var s string
	err := d.c.call(ctx, "DriverName", struct{}{}, &s)
	return s, d.c.mapError("DriverName", err, nil)
}

// GetCreateFlags implements drivers.Driver with the plugin's mcnflag
// values.
func (d *Driver) GetCreateFlags(ctx context.Context) ([]drivers.Flag, error) {
	d.mu.Lock()
	cached := d.flags
	d.mu.Unlock()
	if cached != nil {
		return cached, nil
	}
	var raw []any
	if err := d.c.call(ctx, "GetCreateFlags", struct{}{}, &raw); err != nil {
		return nil, d.c.mapError("GetCreateFlags", err, nil)
	}
	flags := make([]drivers.Flag, 0, len(raw))
	for _, v := range raw {
		f, err := flagOf(v)
		if err != nil {
			return nil, fmt.Errorf("driver plugin %s: GetCreateFlags: %w", d.c.path, err)
		}
		flags = append(flags, f)
	}
	d.mu.Lock()
	d.flags = flags
	d.mu.Unlock()
	return flags, nil
}

// SetConfigFromFlags implements drivers.Driver: the plugin gets a value for
// every one of its flags, as from docker-machine. Its errors wrap
// drivers.ErrInvalidConfig unless their wording says otherwise.
func (d *Driver) SetConfigFromFlags(ctx context.Context, opts drivers.Options) error {
	flags, err := d.GetCreateFlags(ctx)
	if err != nil {
		return err
	}
	// An interface value, as docker-machine sends its DriverOptions.
	var arg any = flagValues(flags, opts)
	return d.do(ctx, "SetConfigFromFlags", &arg, nil, drivers.ErrInvalidConfig)
}

// PreCreateCheck implements drivers.Driver.
func (d *Driver) PreCreateCheck(ctx context.Context) error { return d.act(ctx, "PreCreateCheck") }

// Create implements drivers.Driver.
func (d *Driver) Create(ctx context.Context) error { return d.act(ctx, "Create") }

// Remove implements drivers.Driver.
func (d *Driver) Remove(ctx context.Context) error { return d.act(ctx, "Remove") }

// Start implements drivers.Driver.
func (d *Driver) Start(ctx context.Context) error { return d.act(ctx, "Start") }

// Stop implements drivers.Driver.
func (d *Driver) Stop(ctx context.Context) error { return d.act(ctx, "Stop") }

// Restart implements drivers.Driver.
func (d *Driver) Restart(ctx context.Context) error { return d.act(ctx, "Restart") }

// Kill implements drivers.Driver.
func (d *Driver) Kill(ctx context.Context) error { return d.act(ctx, "Kill") }

// GetState implements drivers.Driver, mapping docker-machine's state.State.
func (d *Driver) GetState(ctx context.Context) (drivers.State, error) {
	var n int
	if err := d.do(ctx, "GetState", struct{}{}, &n, nil); err != nil {
		return drivers.Error, err
	}
	return stateOf(n)
}

// GetIP implements drivers.Driver.
func (d *Driver) GetIP(ctx context.Context) (string, error) { return d.str(ctx, "GetIP") }

// GetPrivateIP implements drivers.Driver. docker-machine's drivers know no
// private address: it is the IP.
func (d *Driver) GetPrivateIP(ctx context.Context) (string, error) { return d.GetIP(ctx) }

// GetURL implements drivers.Driver.
func (d *Driver) GetURL(ctx context.Context) (string, error) { return d.str(ctx, "GetURL") }

// GetSSHHostname implements drivers.Driver.
func (d *Driver) GetSSHHostname(ctx context.Context) (string, error) {
	return d.str(ctx, "GetSSHHostname")
}

// GetSSHPort implements drivers.Driver.
func (d *Driver) GetSSHPort(ctx context.Context) (int, error) {
	var port int
	err := d.do(ctx, "GetSSHPort", struct{}{}, &port, nil)
	return port, err
}

// GetSSHUsername implements drivers.Driver.
func (d *Driver) GetSSHUsername(ctx context.Context) (string, error) {
	return d.str(ctx, "GetSSHUsername")
}

// GetSSHKeyPath implements drivers.Driver.
func (d *Driver) GetSSHKeyPath(ctx context.Context) (string, error) {
	return d.str(ctx, "GetSSHKeyPath")
}

// GetEndpoint implements drivers.Driver from the single getters. A
// docker-machine driver may find a new address by itself (DHCP), so the
// endpoint is not static.
func (d *Driver) GetEndpoint(ctx context.Context) (drivers.Endpoint, error) {
	return drivers.EndpointOf(ctx, d, false)
}

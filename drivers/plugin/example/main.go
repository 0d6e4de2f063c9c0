// Command machine-driver-example is the driver of drivers/README.md: a
// complete external driver for a host that already runs, reachable over SSH
// with a key. Build it as machine-driver-example on PATH and run
// `machine create -d example --example-address HOST --example-ssh-key KEY NAME`.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/drivers/plugin"
)

// Driver is the configuration of one machine. Its exported fields are
// stored as JSON in the machine's config.json and handed back to a fresh
// Driver for every call, so it keeps no other state.
type Driver struct {
	drivers.BaseDriver // IPAddress, SSHUser, SSHPort, SSHKeyPath, MachineName, StorePath
	EnginePort         int
	Tags               []string `json:",omitempty"`
	SkipCheck          bool     `json:",omitempty"`
}

func main() {
	plugin.Serve(func() drivers.Driver {
		return &Driver{BaseDriver: drivers.BaseDriver{SSHUser: "root", SSHPort: 22}, EnginePort: 2376}
	})
}

// DriverName is the name users pass to `create -d`.
func (d *Driver) DriverName(context.Context) (string, error) { return "example", nil }

// GetCreateFlags lists the flags of `create -d example`, one of each kind.
func (d *Driver) GetCreateFlags(context.Context) ([]drivers.Flag, error) {
	return []drivers.Flag{
		{Name: "example-address", Kind: drivers.FlagString, EnvVar: "EXAMPLE_ADDRESS", Usage: "IP address of the host (required)"},
		{Name: "example-ssh-key", Kind: drivers.FlagString, EnvVar: "EXAMPLE_SSH_KEY", Usage: "SSH private key that logs in (required)"},
		{Name: "example-ssh-user", Kind: drivers.FlagString, Default: "root", Usage: "SSH user"},
		{Name: "example-ssh-port", Kind: drivers.FlagInt, Default: "22", Usage: "SSH port"},
		{Name: "example-engine-port", Kind: drivers.FlagInt, Default: "2376", Usage: "Docker engine port"},
		{Name: "example-tag", Kind: drivers.FlagStringSlice, Usage: "a tag to remember (repeatable)"},
		{Name: "example-skip-check", Kind: drivers.FlagBool, Usage: "do not check that SSH answers before creating"},
	}, nil
}

// SetConfigFromFlags takes the flag values; bad ones are ErrInvalidConfig.
func (d *Driver) SetConfigFromFlags(_ context.Context, opts drivers.Options) error {
	d.IPAddress, d.SSHKeyPath = opts.String("example-address"), opts.String("example-ssh-key")
	d.SSHUser, d.SSHPort, d.EnginePort = opts.String("example-ssh-user"), opts.Int("example-ssh-port"), opts.Int("example-engine-port")
	d.Tags, d.SkipCheck = opts.StringSlice("example-tag"), opts.Bool("example-skip-check")
	if net.ParseIP(d.IPAddress) == nil {
		return fmt.Errorf("--example-address %q is not an IP address: %w", d.IPAddress, drivers.ErrInvalidConfig)
	}
	if d.SSHKeyPath == "" {
		return fmt.Errorf("--example-ssh-key is required: %w", drivers.ErrInvalidConfig)
	}
	return nil
}

// PreCreateCheck checks that the host's SSH port answers.
func (d *Driver) PreCreateCheck(ctx context.Context) error {
	if d.SkipCheck {
		return nil
	}
	if err := drivers.WaitTCP(ctx, d.sshAddr(), 5*time.Second, 2*time.Second, 500*time.Millisecond); err != nil {
		return fmt.Errorf("example: cannot reach %s over SSH: %w", d.sshAddr(), err)
	}
	return nil
}

// Create makes nothing: the host exists. The machine command provisions it
// (Docker, TLS) over SSH once Create returns.
func (d *Driver) Create(ctx context.Context) error { return d.PreCreateCheck(ctx) }

// Remove leaves the host alone; removing twice is fine.
func (d *Driver) Remove(context.Context) error { return nil }

// Start is not supported: the host is powered on where it stands.
func (d *Driver) Start(context.Context) error { return drivers.NotSupported("example", "start") }

// Stop is not supported, nor are Restart and Kill.
func (d *Driver) Stop(context.Context) error { return drivers.NotSupported("example", "stop") }

// Restart is not supported.
func (d *Driver) Restart(context.Context) error { return drivers.NotSupported("example", "restart") }

// Kill is not supported.
func (d *Driver) Kill(context.Context) error { return drivers.NotSupported("example", "kill") }

// GetState is Running when the SSH port answers, Stopped when it refuses.
func (d *Driver) GetState(ctx context.Context) (drivers.State, error) {
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := new(net.Dialer).DialContext(dctx, "tcp", d.sshAddr())
	switch {
	case err == nil:
		conn.Close()
		return drivers.Running, nil
	case errors.Is(err, syscall.ECONNREFUSED):
		return drivers.Stopped, nil
	default:
		return drivers.Error, fmt.Errorf("example: %s: %w", d.sshAddr(), drivers.DialReason(err))
	}
}

// GetPrivateIP is the host's one address.
func (d *Driver) GetPrivateIP(ctx context.Context) (string, error) { return d.GetIP(ctx) }

// GetURL is the Docker endpoint.
func (d *Driver) GetURL(ctx context.Context) (string, error) {
	ip, err := d.GetIP(ctx)
	if err != nil {
		return "", err
	}
	return drivers.DockerURL(ip, d.EnginePort), nil
}

// GetEndpoint gathers the addresses; they follow from the flags alone.
func (d *Driver) GetEndpoint(ctx context.Context) (drivers.Endpoint, error) {
	return drivers.EndpointOf(ctx, d, true)
}

func (d *Driver) sshAddr() string { return net.JoinHostPort(d.IPAddress, strconv.Itoa(d.SSHPort)) }

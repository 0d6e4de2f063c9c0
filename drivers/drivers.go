// Package drivers defines the contract between libmachine and a machine
// driver. Drivers run out of process (see drivers/plugin); this package holds
// only plain types so that drivers, the plugin glue and libmachine share them.
package drivers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
)

// Sentinel errors. They keep their identity across the plugin boundary, so
// callers use errors.Is on what a remote driver returned.
var (
	// ErrNotSupported: the driver cannot do this operation (for example
	// stopping a generic host).
	ErrNotSupported = errors.New("not supported by this driver")
	// ErrNotFound: the machine's resource does not exist (any more).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: the resource the driver was asked to make exists.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInvalidConfig: the user gave flags or values the driver refuses.
	ErrInvalidConfig = errors.New("invalid driver configuration")
	// ErrNotRunning: the operation needs a running machine and this one
	// does not answer (a generic host that is down).
	ErrNotRunning = errors.New("machine is not running")
)

// NotSupported wraps ErrNotSupported with the driver and operation.
func NotSupported(driver, op string) error {
	return fmt.Errorf("%s driver: %s: %w", driver, op, ErrNotSupported)
}

// Driver is what every driver implements; one value describes one machine.
// The value's exported fields are its configuration: libmachine stores them
// as JSON in the machine's config.json ("Driver") and hands them back to a
// fresh value for each call, so a driver keeps no other state between calls.
//
// Contract:
//   - Remove on a machine that is already gone returns nil.
//   - GetState never fails for a machine that merely does not answer: it
//     returns Stopped or Error with a nil or descriptive error.
//   - Operations a driver cannot do return an error wrapping ErrNotSupported.
//   - Operations that need a running machine (a generic host's Restart)
//     return an error wrapping ErrNotRunning when it does not answer.
type Driver interface {
	// DriverName is the name users pass to `create -d`.
	DriverName(ctx context.Context) (string, error)
	// GetCreateFlags lists the flags `create` accepts for this driver.
	GetCreateFlags(ctx context.Context) ([]Flag, error)
	// SetConfigFromFlags copies flag values into the driver's configuration
	// and validates them (errors wrap ErrInvalidConfig).
	SetConfigFromFlags(ctx context.Context, opts Options) error
	// PreCreateCheck checks that Create can work, before anything is made.
	PreCreateCheck(ctx context.Context) error
	// Create makes the machine; on return it is reachable over SSH.
	Create(ctx context.Context) error
	// Remove deletes the machine and what the driver made for it.
	Remove(ctx context.Context) error
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Restart(ctx context.Context) error
	Kill(ctx context.Context) error
	// GetState reports the machine's state, computed live.
	GetState(ctx context.Context) (State, error)
	// GetIP is the address clients use to reach the machine.
	GetIP(ctx context.Context) (string, error)
	// GetPrivateIP is the address other machines on its network use.
	GetPrivateIP(ctx context.Context) (string, error)
	// GetURL is the Docker endpoint, tcp://IP:PORT.
	GetURL(ctx context.Context) (string, error)
	GetSSHHostname(ctx context.Context) (string, error)
	GetSSHPort(ctx context.Context) (int, error)
	GetSSHUsername(ctx context.Context) (string, error)
	// GetSSHKeyPath is the private key used to log in, on the client.
	GetSSHKeyPath(ctx context.Context) (string, error)
	// GetEndpoint returns all of the above addresses in one call, and
	// whether they follow from the driver's config alone (see Endpoint).
	GetEndpoint(ctx context.Context) (Endpoint, error)
}

// Endpoint is how clients reach a machine.
type Endpoint struct {
	IP          string
	PrivateIP   string
	URL         string
	SSHHostname string
	SSHPort     int
	SSHUser     string
	SSHKeyPath  string
	// Static says the values follow from the driver's config alone: a
	// client may store them with the config and use them without asking the
	// driver until the config changes. A driver whose machine can get a new
	// address by itself (DHCP) says false.
	Static bool
}

// EndpointOf gathers d's endpoint from its getters; drivers implement
// GetEndpoint with it.
func EndpointOf(ctx context.Context, d Driver, static bool) (Endpoint, error) {
	var (
		e    = Endpoint{Static: static}
		errs []error
	)
	get := func(f func(context.Context) (string, error), into *string) {
		v, err := f(ctx)
		*into = v
		errs = append(errs, err)
	}
	get(d.GetIP, &e.IP)
	get(d.GetPrivateIP, &e.PrivateIP)
	get(d.GetURL, &e.URL)
	get(d.GetSSHHostname, &e.SSHHostname)
	get(d.GetSSHUsername, &e.SSHUser)
	get(d.GetSSHKeyPath, &e.SSHKeyPath)
	port, err := d.GetSSHPort(ctx)
	e.SSHPort = port
	if err := errors.Join(append(errs, err)...); err != nil {
		return Endpoint{}, err
	}
	return e, nil
}

// FlagKind says how a flag's value is parsed.
type FlagKind string

// The kinds of driver flags.
const (
	FlagString      FlagKind = "string"
	FlagInt         FlagKind = "int"
	FlagBool        FlagKind = "bool"
	FlagStringSlice FlagKind = "stringSlice"
)

// Flag describes one `create` flag of a driver.
type Flag struct {
	Name   string
	Kind   FlagKind
	Usage  string
	EnvVar string `json:",omitempty"`
	// Default is the default of string and int flags ("22").
	Default string `json:",omitempty"`
	// DefaultSlice is the default of stringSlice flags.
	DefaultSlice []string `json:",omitempty"`
}

// Options are the values of a driver's flags, by flag name. Values are
// string, int, bool or []string as the flag's kind says; after a trip through
// JSON, ints may arrive as float64 and slices as []any, which the accessors
// accept.
type Options map[string]any

// String returns the value of a string flag, or "".
func (o Options) String(name string) string {
	switch v := o[name].(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// Int returns the value of an int flag, or 0.
func (o Options) Int(name string) int {
	switch v := o[name].(type) {
	case int:
		return v
	case int64:
		return int(v)
	case float64:
		return int(v)
	case string:
		n, _ := strconv.Atoi(v)
		return n
	}
	return 0
}

// Bool returns the value of a bool flag, or false.
func (o Options) Bool(name string) bool {
	switch v := o[name].(type) {
	case bool:
		return v
	case string:
		b, _ := strconv.ParseBool(v)
		return b
	}
	return false
}

// StringSlice returns the value of a stringSlice flag, or nil.
func (o Options) StringSlice(name string) []string {
	switch v := o[name].(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

// State is a machine's state, with docker-machine's names.
type State int

// Machine states.
const (
	None State = iota
	Running
	Paused
	Saved
	Stopped
	Stopping
	Starting
	Error
	Timeout
)

var stateNames = [...]string{"", "Running", "Paused", "Saved", "Stopped", "Stopping", "Starting", "Error", "Timeout"}

// String returns docker-machine's name for the state.
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return ""
}

// BaseDriver holds the fields every driver has, with docker-machine's JSON
// names so that its config.json files read the same. Drivers embed it.
type BaseDriver struct {
	IPAddress      string
	MachineName    string
	SSHUser        string
	SSHPort        int
	SSHKeyPath     string
	StorePath      string
	SwarmMaster    bool
	SwarmHost      string
	SwarmDiscovery string
}

// ResolveStorePath returns the path of file in the machine's directory of
// the store, StorePath/machines/MachineName/file (docker-machine's layout).
func (d *BaseDriver) ResolveStorePath(file string) string {
	return filepath.Join(d.StorePath, "machines", d.MachineName, file)
}

// GetSSHHostname returns the machine's IP address.
func (d *BaseDriver) GetSSHHostname(ctx context.Context) (string, error) { return d.GetIP(ctx) }

// GetSSHPort returns the SSH port, 22 when unset.
func (d *BaseDriver) GetSSHPort(context.Context) (int, error) {
	if d.SSHPort == 0 {
		return 22, nil
	}
	return d.SSHPort, nil
}

// GetSSHUsername returns the SSH user, root when unset.
func (d *BaseDriver) GetSSHUsername(context.Context) (string, error) {
	if d.SSHUser == "" {
		return "root", nil
	}
	return d.SSHUser, nil
}

// GetSSHKeyPath returns the private key path.
func (d *BaseDriver) GetSSHKeyPath(context.Context) (string, error) { return d.SSHKeyPath, nil }

// GetIP returns IPAddress, or an error when it is not known yet.
func (d *BaseDriver) GetIP(context.Context) (string, error) {
	if d.IPAddress == "" {
		return "", fmt.Errorf("machine %q has no IP address yet", d.MachineName)
	}
	return d.IPAddress, nil
}

// PreCreateCheck does nothing.
func (d *BaseDriver) PreCreateCheck(context.Context) error { return nil }

// DockerURL renders tcp://ip:port, bracketing IPv6 addresses.
func DockerURL(ip string, port int) string {
	return "tcp://" + net.JoinHostPort(ip, strconv.Itoa(port))
}

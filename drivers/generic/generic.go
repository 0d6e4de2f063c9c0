// Package generic is docker-machine's generic driver: an existing host
// reachable over SSH. It makes and removes nothing remote.
package generic

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/machine-cli/machine/drivers"
)

const (
	driverName        = "generic"
	defaultSSHUser    = "root"
	defaultSSHPort    = 22
	defaultEnginePort = 2376

	// createBound limits how long Create waits for the SSH port.
	createBound = 10 * time.Second
	// dialTimeout limits one TCP dial of the SSH port.
	dialTimeout = 3 * time.Second
	// stateTimeout limits the dial of GetState.
	stateTimeout = 2 * time.Second
	// retryEvery is the pause between dials while Create waits.
	retryEvery = 500 * time.Millisecond
)

// Flag names.
const (
	flagIPAddress  = "generic-ip-address"
	flagSSHUser    = "generic-ssh-user"
	flagSSHKey     = "generic-ssh-key"
	flagSSHPort    = "generic-ssh-port"
	flagEnginePort = "generic-engine-port"
	flagPrivateIP  = "generic-private-ip"
)

// Driver is the generic driver. Its JSON is docker-machine's, plus
// PrivateIPAddress.
type Driver struct {
	drivers.BaseDriver
	// EnginePort is the Docker engine's TLS port.
	EnginePort int
	// SSHKey is the private key the user gave; Create copies it into the
	// machine directory and sets SSHKeyPath to the copy.
	SSHKey string
	// PrivateIPAddress is the address other machines use, when it differs
	// from IPAddress.
	PrivateIPAddress string `json:",omitempty"`
}

var _ drivers.Driver = (*Driver)(nil)

// New returns a generic driver for a new machine; it is a driver factory.
func New() drivers.Driver {
	return &Driver{
		BaseDriver: drivers.BaseDriver{SSHUser: defaultSSHUser, SSHPort: defaultSSHPort},
		EnginePort: defaultEnginePort,
	}
}

// DriverName returns "generic".
func (d *Driver) DriverName(context.Context) (string, error) { return driverName, nil }

// GetCreateFlags returns docker-machine's generic flags and
// --generic-private-ip.
func (d *Driver) GetCreateFlags(context.Context) ([]drivers.Flag, error) {
	return []drivers.Flag{
		{Name: flagIPAddress, Kind: drivers.FlagString, EnvVar: "GENERIC_IP_ADDRESS",
			Usage: "IP address or host name of the machine (required)"},
		{Name: flagSSHUser, Kind: drivers.FlagString, EnvVar: "GENERIC_SSH_USER",
			Usage: "SSH user", Default: defaultSSHUser},
		{Name: flagSSHKey, Kind: drivers.FlagString, EnvVar: "GENERIC_SSH_KEY",
			Usage: "SSH private key path (if not given, the SSH agent or default keys are used)"},
		{Name: flagSSHPort, Kind: drivers.FlagInt, EnvVar: "GENERIC_SSH_PORT",
			Usage: "SSH port", Default: strconv.Itoa(defaultSSHPort)},
		{Name: flagEnginePort, Kind: drivers.FlagInt, EnvVar: "GENERIC_ENGINE_PORT",
			Usage: "Docker engine port", Default: strconv.Itoa(defaultEnginePort)},
		{Name: flagPrivateIP, Kind: drivers.FlagString, EnvVar: "GENERIC_PRIVATE_IP",
			Usage: "IP address other machines use to reach this one (default: the IP address)"},
	}, nil
}

// SetConfigFromFlags takes the flag values and reports every invalid one;
// the errors wrap drivers.ErrInvalidConfig.
func (d *Driver) SetConfigFromFlags(_ context.Context, opts drivers.Options) error {
	c := drivers.Check{Opts: opts}
	invalid := c.Invalid

	d.IPAddress = opts.String(flagIPAddress)
	if d.IPAddress == "" {
		invalid("--%s is required", flagIPAddress)
	}
	d.SSHUser = opts.String(flagSSHUser)
	if d.SSHUser == "" {
		d.SSHUser = defaultSSHUser
	}
	d.SSHPort = port(opts, flagSSHPort, defaultSSHPort, invalid)
	d.EnginePort = port(opts, flagEnginePort, defaultEnginePort, invalid)

	d.PrivateIPAddress = opts.String(flagPrivateIP)
	if d.PrivateIPAddress != "" && net.ParseIP(d.PrivateIPAddress) == nil {
		invalid("--%s %q is not an IP address", flagPrivateIP, d.PrivateIPAddress)
	}

	d.SSHKey = opts.String(flagSSHKey)
	if d.SSHKey != "" {
		if err := checkReadable(d.SSHKey); err != nil {
			invalid("--%s: %w", flagSSHKey, err)
		}
	}
	return c.Err()
}

// port returns an int flag's value, def when absent, and reports values out
// of 1-65535.
func port(opts drivers.Options, name string, def int, invalid func(string, ...any)) int {
	if _, ok := opts[name]; !ok {
		return def
	}
	p := opts.Int(name)
	if p < 1 || p > 65535 {
		invalid("--%s %v is not a port (1-65535)", name, opts[name])
	}
	return p
}

// checkReadable says why path is not a readable file, naming it.
func checkReadable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("cannot read %q: %w", path, pe.Err)
		}
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return fmt.Errorf("%q is a directory, not a key file", path)
	}
	return nil
}

// Create copies the SSH key into the machine directory and waits, at most
// 10 seconds, until the SSH port accepts connections.
func (d *Driver) Create(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("generic: create: %w", err)
	}
	if d.IPAddress == "" {
		return fmt.Errorf("--%s is required: %w", flagIPAddress, drivers.ErrInvalidConfig)
	}
	if d.SSHKey != "" {
		if err := d.importKey(); err != nil {
			return err
		}
	}
	return waitForSSH(ctx, d.sshAddr())
}

// importKey copies SSHKey (and SSHKey.pub) into the machine directory, as
// id_rsa, id_ecdsa or id_ed25519 after the key's type.
func (d *Driver) importKey() error {
	key, err := os.ReadFile(d.SSHKey)
	if err != nil {
		return fmt.Errorf("ssh key: %w", err)
	}
	dir := d.ResolveStorePath("")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("ssh key: %w", err)
	}
	dst := filepath.Join(dir, keyFileName(key))
	if err := writeFile(dst, key, 0o600); err != nil {
		return fmt.Errorf("ssh key: %w", err)
	}
	if pub, err := os.ReadFile(d.SSHKey + ".pub"); err == nil {
		if err := writeFile(dst+".pub", pub, 0o644); err != nil {
			return fmt.Errorf("ssh key: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("ssh key: %w", err)
	}
	d.SSHKeyPath = dst
	return nil
}

// keyFileName names a private key after its type; id_rsa, docker-machine's
// name, when the type cannot be told.
func keyFileName(key []byte) string {
	var pub ssh.PublicKey
	signer, err := ssh.ParsePrivateKey(key)
	var missing *ssh.PassphraseMissingError
	switch {
	case err == nil:
		pub = signer.PublicKey()
	case errors.As(err, &missing):
		pub = missing.PublicKey
	}
	if pub == nil {
		return "id_rsa"
	}
	switch pub.Type() {
	case ssh.KeyAlgoED25519:
		return "id_ed25519"
	case ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
		return "id_ecdsa"
	default:
		return "id_rsa"
	}
}

// writeFile writes data to path with exactly perm, through a temporary file.
func writeFile(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// waitForSSH dials addr until it accepts a TCP connection, for at most
// createBound. The error is one line naming addr and the last reason.
func waitForSSH(ctx context.Context, addr string) error {
	last := drivers.WaitTCP(ctx, addr, createBound, dialTimeout, retryEvery)
	if last == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return &reachError{addr: addr, cause: last, ctx: err}
	}
	return &reachError{addr: addr, cause: last}
}

// reachError says a host's SSH port did not answer; it wraps the dial error
// and, when the caller's context ended, the context's error.
type reachError struct {
	addr  string
	cause error
	ctx   error
}

func (e *reachError) Error() string {
	return fmt.Sprintf("cannot reach %s over SSH: %v", e.addr, e.cause)
}

func (e *reachError) Unwrap() []error {
	if e.ctx != nil {
		return []error{e.cause, e.ctx}
	}
	return []error{e.cause}
}

// Remove does nothing: the host is the user's.
func (d *Driver) Remove(context.Context) error { return nil }

// Start is not supported: the generic driver cannot power a host on.
func (d *Driver) Start(context.Context) error { return d.notSupported("start", "start") }

// Stop is not supported: the host is stopped on the host itself.
func (d *Driver) Stop(context.Context) error { return d.notSupported("stop", "stop") }

// Kill is not supported: the host is powered off on the host itself.
func (d *Driver) Kill(context.Context) error { return d.notSupported("kill", "power off") }

// GetState dials the SSH port: Running when it answers, Stopped when the
// connection is refused, Error with the reason otherwise.
func (d *Driver) GetState(ctx context.Context) (drivers.State, error) {
	if d.IPAddress == "" {
		return drivers.Error, fmt.Errorf("machine %q has no IP address", d.MachineName)
	}
	dctx, cancel := context.WithTimeout(ctx, stateTimeout)
	defer cancel()
	conn, err := new(net.Dialer).DialContext(dctx, "tcp", d.sshAddr())
	switch {
	case err == nil:
		conn.Close()
		return drivers.Running, nil
	case errors.Is(err, syscall.ECONNREFUSED):
		return drivers.Stopped, nil
	case ctx.Err() != nil:
		return drivers.Error, fmt.Errorf("state of %s: %w", d.sshAddr(), ctx.Err())
	default:
		return drivers.Error, &reachError{addr: d.sshAddr(), cause: drivers.DialReason(err)}
	}
}

func (d *Driver) sshAddr() string {
	p, _ := d.GetSSHPort(context.Background())
	return net.JoinHostPort(d.IPAddress, strconv.Itoa(p))
}

// GetURL returns tcp://IP:EnginePort.
func (d *Driver) GetURL(ctx context.Context) (string, error) {
	ip, err := d.GetIP(ctx)
	if err != nil {
		return "", err
	}
	port := d.EnginePort
	if port == 0 {
		port = defaultEnginePort
	}
	return drivers.DockerURL(ip, port), nil
}

// GetPrivateIP returns PrivateIPAddress, or IPAddress when it is unset.
func (d *Driver) GetPrivateIP(ctx context.Context) (string, error) {
	if d.PrivateIPAddress != "" {
		return d.PrivateIPAddress, nil
	}
	return d.GetIP(ctx)
}

// GetEndpoint returns the machine's addresses; they come from the flags the
// user gave, so they are static.
func (d *Driver) GetEndpoint(ctx context.Context) (drivers.Endpoint, error) {
	return drivers.EndpointOf(ctx, d, true)
}

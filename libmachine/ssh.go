package libmachine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/libmachine/host"
	"github.com/machine-cli/machine/libmachine/store"
	"github.com/machine-cli/machine/sshclient"
)

// Endpoint returns how to reach machine name. When its config holds an
// endpoint the driver called static, no driver is started.
func (c *Client) Endpoint(ctx context.Context, name string) (*host.Host, drivers.Endpoint, error) {
	if err := host.ValidateName(name); err != nil {
		return nil, drivers.Endpoint{}, err
	}
	h, err := c.Store.Load(name)
	if err != nil {
		return nil, drivers.Endpoint{}, err
	}
	if ep, ok := storedEndpoint(h); ok {
		return h, ep, nil
	}
	d, err := c.Plugins.Driver(ctx, h.DriverName, h.Driver)
	if err != nil {
		return nil, drivers.Endpoint{}, err
	}
	ep, err := d.GetEndpoint(ctx)
	if err != nil {
		return nil, drivers.Endpoint{}, fmt.Errorf("%s: %w", name, err)
	}
	return h, ep, nil
}

// endpoint returns m's endpoint, from its config when static.
func (c *Client) endpoint(ctx context.Context, m *Machine) (drivers.Endpoint, error) {
	if ep, ok := storedEndpoint(m.Host); ok {
		return ep, nil
	}
	ep, err := m.Driver.GetEndpoint(ctx)
	if err != nil {
		return drivers.Endpoint{}, fmt.Errorf("%s: %w", m.Name, err)
	}
	return ep, nil
}

// storedEndpoint decodes the endpoint kept in h, when it is static.
func storedEndpoint(h *host.Host) (drivers.Endpoint, bool) {
	if len(h.Endpoint) == 0 {
		return drivers.Endpoint{}, false
	}
	var ep drivers.Endpoint
	if err := json.Unmarshal(h.Endpoint, &ep); err != nil || !ep.Static || ep.URL == "" || ep.SSHHostname == "" {
		return drivers.Endpoint{}, false
	}
	return ep, true
}

// recordEndpoint asks the driver for m's endpoint, keeps it in m's config
// and returns it.
func (c *Client) recordEndpoint(ctx context.Context, m *Machine) (drivers.Endpoint, error) {
	ep, err := m.Driver.GetEndpoint(ctx)
	if err != nil {
		return drivers.Endpoint{}, err
	}
	raw, err := json.Marshal(ep)
	if err != nil {
		return drivers.Endpoint{}, err
	}
	m.Host.Endpoint = raw
	return ep, nil
}

// SSH opens an SSH connection to the machine, verifying its host key
// against the one recorded in the machine's directory.
func (c *Client) SSH(ctx context.Context, m *Machine) (*sshclient.Client, error) {
	ep, err := c.endpoint(ctx, m)
	if err != nil {
		return nil, err
	}
	return c.dialSSH(ctx, m.Name, ep, "")
}

// SSHByName opens an SSH connection to machine name (see SSH), starting its
// driver only when the stored endpoint is not static.
func (c *Client) SSHByName(ctx context.Context, name string) (*sshclient.Client, error) {
	_, ep, err := c.Endpoint(ctx, name)
	if err != nil {
		return nil, err
	}
	return c.dialSSH(ctx, name, ep, "")
}

func (c *Client) dialSSH(ctx context.Context, name string, ep drivers.Endpoint, hostKey string) (*sshclient.Client, error) {
	return c.dialSSHAs(ctx, name, ep, hostKey, ep.SSHUser)
}

// dialSSHAs is dialSSH logging in as user instead of the endpoint's user.
func (c *Client) dialSSHAs(ctx context.Context, name string, ep drivers.Endpoint, hostKey, user string) (*sshclient.Client, error) {
	return sshclient.Dial(ctx, sshclient.Config{
		Host:           ep.SSHHostname,
		Port:           ep.SSHPort,
		User:           user,
		KeyPath:        ep.SSHKeyPath,
		KnownHostsPath: c.Store.MachinePath(name, store.KnownHostsFile),
		HostKey:        hostKey,
	})
}

// ErrNoSSHClient is wrapped by the error of SystemSSH when the system has no
// ssh client.
var ErrNoSSHClient = errors.New("the system's ssh client (OpenSSH) is not installed")

// OpenSSH prepares machine name for the system's OpenSSH client, logging in
// as user (the machine's SSH user when empty): it writes the machine's
// known_hosts file for OpenSSH from the keys machine recorded (connecting
// once first, to record the host's key, when none is recorded yet) and
// returns the options that use it.
func (c *Client) OpenSSH(ctx context.Context, name, user string) (sshclient.OpenSSH, error) {
	_, ep, err := c.Endpoint(ctx, name)
	if err != nil {
		return sshclient.OpenSSH{}, err
	}
	return c.openSSH(ctx, name, ep, user)
}

func (c *Client) openSSH(ctx context.Context, name string, ep drivers.Endpoint, user string) (sshclient.OpenSSH, error) {
	if user == "" {
		user = ep.SSHUser
	}
	o := sshclient.OpenSSH{
		Host:           ep.SSHHostname,
		Port:           ep.SSHPort,
		User:           user,
		KeyPath:        ep.SSHKeyPath,
		KnownHostsPath: c.Store.MachinePath(name, store.OpenSSHKnownHostsFile),
		Alias:          name,
	}
	addr := sshclient.JoinHostPort(ep.SSHHostname, ep.SSHPort)
	src := c.Store.MachinePath(name, store.KnownHostsFile)
	n, err := sshclient.WriteOpenSSHKnownHosts(src, o.KnownHostsPath, addr, o.Alias)
	if err != nil {
		return sshclient.OpenSSH{}, fmt.Errorf("%s: %w", name, err)
	}
	if n == 0 {
		client, err := c.dialSSH(ctx, name, ep, "")
		if err != nil {
			return sshclient.OpenSSH{}, err
		}
		_ = client.Close()
		if n, err = sshclient.WriteOpenSSHKnownHosts(src, o.KnownHostsPath, addr, o.Alias); err != nil {
			return sshclient.OpenSSH{}, fmt.Errorf("%s: %w", name, err)
		}
		if n == 0 {
			return sshclient.OpenSSH{}, fmt.Errorf("%s: no host key recorded in %s", name, src)
		}
	}
	return o, nil
}

// SystemSSH returns the system's ssh client set up to log into machine name
// (see OpenSSH), with args after the destination as docker-machine passed
// them: OpenSSH options (-L 8080:localhost:80, -C, -o ...), then the remote
// command, or only a command. The caller connects its streams and runs it;
// when ctx ends, ssh gets SIGTERM.
func (c *Client) SystemSSH(ctx context.Context, name string, args []string) (*exec.Cmd, error) {
	bin, err := exec.LookPath("ssh")
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w: install it, or leave out the OpenSSH options and --native-ssh=false to use machine's own client", name, ErrNoSSHClient)
	}
	o, err := c.OpenSSH(ctx, name, "")
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, SystemSSHArgs(o, args)...)
	// A cancelled command (SIGTERM or Ctrl-C to machine) ends ssh as a
	// signal to ssh itself would.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	c.debugf("ssh: %s", strings.Join(cmd.Args, " "))
	return cmd, nil
}

// SystemSSHArgs returns the arguments of the system's ssh client (without
// the program's name) for o, followed by args: OpenSSH options and a
// command, or a command alone, which is then put after "--" so that ssh
// never reads the command's own options ("ls -l") as its options.
func SystemSSHArgs(o sshclient.OpenSSH, args []string) []string {
	out := append(o.Options(), "-l", o.User, o.Host)
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		out = append(out, "--")
	}
	return append(out, args...)
}

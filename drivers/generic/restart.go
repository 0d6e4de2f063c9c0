package generic

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/internal/retry"
	"github.com/machine-cli/machine/libmachine/store"
	"github.com/machine-cli/machine/sshclient"
)

const (
	// rebootBound limits how long Restart waits for the host to reboot and
	// answer over SSH again.
	rebootBound = 5 * time.Minute
	// rebootCommandBound limits the wait for the reboot command's exit
	// status: the connection may go down with the host instead of answering.
	rebootCommandBound = 15 * time.Second
	// probeBound limits one look at the host's boot while waiting.
	probeBound = 10 * time.Second
	// probeDialTimeout bounds one connect (and handshake) while waiting.
	probeDialTimeout = 3 * time.Second

	// rebootScript reboots through systemd, or with reboot(8) on a host
	// without it. It runs as root (sshclient.AsRoot).
	rebootScript = "systemctl reboot || reboot"
	// bootKeyScript prints what tells one boot of the host from the next:
	// the kernel's boot id and the start time of PID 1 (field 22 of
	// /proc/1/stat, in clock ticks since the kernel booted). The boot id
	// changes when a machine reboots; a container that stands for a host
	// shares its kernel, so only PID 1 changes when it restarts.
	bootKeyScript = `cat /proc/sys/kernel/random/boot_id && sed 's/.*) //' /proc/1/stat | cut -d' ' -f20`
)

// errStillUp is a probe's answer while the host has not rebooted yet.
var errStillUp = errors.New("the host has not rebooted yet")

// Restart reboots the host over SSH (`systemctl reboot`, else `reboot`, as
// root) and returns once it answers over SSH again from a new boot: the boot
// key (bootKeyScript) read before the reboot must have changed, so Restart
// never returns while the old system is still shutting down. The dropped
// connection of a host going down is expected. A host that does not answer
// before the reboot gives an error wrapping drivers.ErrNotRunning.
//
// The driver connects with the machine's key and verifies the host key
// recorded in the machine's known_hosts file in the store, as libmachine
// does: the driver runs in its own process but on the same machine and
// store, so it opens the same files rather than asking libmachine for a
// connection across the plugin boundary.
func (d *Driver) Restart(ctx context.Context) error {
	if d.IPAddress == "" {
		return fmt.Errorf("generic driver: restart: --%s is not set: %w", flagIPAddress, drivers.ErrInvalidConfig)
	}
	if st, err := d.GetState(ctx); st != drivers.Running {
		reason := "its SSH port " + d.sshAddr() + " refuses connections"
		if err != nil {
			reason = err.Error()
		}
		return fmt.Errorf("generic driver: cannot restart %q: %s: %w", d.MachineName, reason, drivers.ErrNotRunning)
	}
	cfg := d.sshConfig()
	before, err := d.bootKey(ctx, cfg)
	if err != nil {
		return fmt.Errorf("generic driver: restart %q: %w", d.MachineName, err)
	}
	if err := d.reboot(ctx, cfg); err != nil {
		return fmt.Errorf("generic driver: restart %q: %w", d.MachineName, err)
	}
	wctx, cancel := context.WithTimeout(ctx, rebootBound)
	defer cancel()
	cfg.DialTimeout = probeDialTimeout
	err = retry.Poll(wctx, time.Second, 2*time.Second, func(ctx context.Context) error {
		pctx, cancel := context.WithTimeout(ctx, probeBound)
		defer cancel()
		now, err := d.bootKey(pctx, cfg)
		var changed *sshclient.HostKeyChangedError
		switch {
		case errors.As(err, &changed), errors.Is(err, sshclient.ErrHostKeyMismatch):
			return retry.Stop(err)
		case err != nil:
			return err
		case now == before:
			return errStillUp
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("generic driver: restart %q: %w", d.MachineName, context.Cause(ctx))
		}
		return fmt.Errorf("generic driver: %q (%s) did not come back over SSH within %s of its reboot: %w", d.MachineName, d.sshAddr(), rebootBound, err)
	}
	return nil
}

// sshConfig is how the driver reaches the host: the machine's key and its
// recorded host key.
func (d *Driver) sshConfig() sshclient.Config {
	port, _ := d.GetSSHPort(context.Background())
	user, _ := d.GetSSHUsername(context.Background())
	return sshclient.Config{
		Host:           d.IPAddress,
		Port:           port,
		User:           user,
		KeyPath:        d.SSHKeyPath,
		KnownHostsPath: d.ResolveStorePath(store.KnownHostsFile),
		DialTimeout:    dialTimeout,
	}
}

// bootKey connects and reads the host's boot key.
func (d *Driver) bootKey(ctx context.Context, cfg sshclient.Config) (string, error) {
	cl, err := sshclient.Dial(ctx, cfg)
	if err != nil {
		return "", err
	}
	defer cl.Close()
	out, err := cl.Output(ctx, bootKeyScript)
	if err != nil {
		return "", fmt.Errorf("read the boot id on %s: %w", cl.Addr(), err)
	}
	key := strings.Join(strings.Fields(string(out)), " ")
	if len(strings.Fields(key)) != 2 {
		return "", fmt.Errorf("read the boot id on %s: unexpected answer %q", cl.Addr(), out)
	}
	return key, nil
}

// reboot asks the host to reboot. A connection that drops, or does not
// answer, before the exit status arrives is what a reboot looks like and
// is no error (Restart then checks that the host did reboot); a command
// that ran and failed (sudo asking for a password) is.
func (d *Driver) reboot(ctx context.Context, cfg sshclient.Config) error {
	cl, err := sshclient.Dial(ctx, cfg)
	if err != nil {
		return err
	}
	defer cl.Close()
	rctx, cancel := context.WithTimeout(ctx, rebootCommandBound)
	defer cancel()
	var stderr sshclient.TailBuffer
	status, err := cl.Run(rctx, sshclient.AsRoot(rebootScript), nil, nil, &stderr)
	switch {
	case ctx.Err() != nil:
		return context.Cause(ctx)
	case err != nil:
		return nil
	case status != 0:
		return fmt.Errorf("reboot: %w", &sshclient.ExitError{Cmd: rebootScript, Status: status, Stderr: stderr.String()})
	}
	return nil
}

// notSupportedError answers start, stop and kill, which need a power switch
// that the generic driver does not have: the host is the user's. It says
// what to do instead and wraps drivers.ErrNotSupported.
type notSupportedError struct {
	op, verb, name, addr string
}

func (e *notSupportedError) Error() string {
	msg := fmt.Sprintf("the generic driver cannot %s a machine: %s the host %s by its own means", e.op, e.verb, e.addr)
	if e.op != "start" {
		msg += fmt.Sprintf(` ("machine restart %s" reboots it over SSH)`, e.name)
	}
	return msg
}

func (e *notSupportedError) Unwrap() error { return drivers.ErrNotSupported }

func (d *Driver) notSupported(op, verb string) error {
	addr := d.IPAddress
	if addr == "" {
		addr = "of machine " + d.MachineName
	}
	return &notSupportedError{op: op, verb: verb, name: d.MachineName, addr: addr}
}

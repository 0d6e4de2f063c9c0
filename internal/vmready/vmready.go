// Package vmready waits for a local VM that boots a cloud image to be
// ready for provisioning, as the local VM drivers (qemu, virtualbox) see
// it through a loopback forward: its SSH server's banner, then a login as
// the machine's user, then cloud-init done.
package vmready

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/machine-cli/machine/internal/retry"
	"github.com/machine-cli/machine/sshclient"
)

// SSHBanner reads an SSH server's identification line ("SSH-2.0-...")
// from addr. A port forward accepts TCP connections before the guest
// listens, so only a banner says that SSH answers.
func SSHBanner(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := new(net.Dialer).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetReadDeadline(d)
	}
	buf := make([]byte, 0, 256)
	chunk := make([]byte, 256)
	for len(buf) < 4096 {
		n, err := conn.Read(chunk)
		buf = append(buf, chunk[:n]...)
		// Servers may send other lines before the identification (RFC 4253 4.2).
		lines := strings.Split(string(buf), "\n")
		for _, line := range lines[:len(lines)-1] {
			if strings.HasPrefix(line, "SSH-") {
				return nil
			}
		}
		if err != nil {
			return err
		}
	}
	return errors.New("no SSH identification line")
}

// Config says how to reach the VM and how long to wait.
type Config struct {
	// Host and Port are the loopback forward of the VM's SSH server.
	Host string
	Port int
	// User and KeyPath log in; KnownHostsPath records the host key seen
	// first (the one libmachine then requires).
	User, KeyPath, KnownHostsPath string
	// Machine names the machine in messages.
	Machine string
	// LoginBound and CloudInitBound bound the two waits.
	LoginBound, CloudInitBound time.Duration
	// Notify gets progress lines ("logged in, waiting for cloud-init
	// (52 s)"), prefixed with Prefix ("qemu: ").
	Notify func(string)
	Prefix string
}

// LoginError says that the VM's SSH server answered but the login never
// worked; drivers add what they know of the boot (a serial console).
type LoginError struct {
	User string
	Err  error
}

// Error says which user could not log in, and why.
func (e *LoginError) Error() string {
	return fmt.Sprintf("cannot log in to the VM over SSH as %s: %v", e.User, e.Err)
}

// Unwrap returns the last login's error.
func (e *LoginError) Unwrap() error { return e.Err }

// Wait logs in over SSH, retrying until the login works, and waits for
// `cloud-init status --wait`. A host key that differs from the recorded
// one fails at once.
func Wait(ctx context.Context, c Config) error {
	start := time.Now()
	notify := func(format string, args ...any) {
		if c.Notify != nil {
			c.Notify(c.Prefix + fmt.Sprintf(format, args...) + fmt.Sprintf(" (%d s)", int(time.Since(start).Seconds())))
		}
	}
	var client *sshclient.Client
	lctx, cancel := context.WithTimeout(ctx, c.LoginBound)
	defer cancel()
	err := retry.Poll(lctx, time.Second, 2*time.Second, func(ctx context.Context) error {
		var err error
		client, err = sshclient.Dial(ctx, sshclient.Config{
			Host: c.Host, Port: c.Port, User: c.User, KeyPath: c.KeyPath,
			KnownHostsPath: c.KnownHostsPath, DialTimeout: 10 * time.Second,
		})
		if errors.Is(err, sshclient.ErrHostKeyMismatch) {
			return retry.Stop(err)
		}
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &LoginError{User: c.User, Err: err}
	}
	defer client.Close()
	notify("logged in, waiting for cloud-init")
	cctx, ccancel := context.WithTimeout(ctx, c.CloudInitBound)
	defer ccancel()
	out, err := client.Output(cctx, "cloud-init status --wait")
	if err != nil {
		status := strings.TrimSpace(string(out))
		if i := strings.LastIndexByte(status, '\n'); i >= 0 {
			status = status[i+1:]
		}
		return fmt.Errorf("cloud-init on the VM did not finish well (%s): run `machine ssh %s sudo cloud-init status --long`: %w", status, c.Machine, err)
	}
	notify("cloud-init done")
	return nil
}

package qemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/machine-cli/machine/internal/retry"
	"github.com/machine-cli/machine/internal/vmready"
)

// BootError says that a VM did not come up, with the last lines of its
// serial console.
type BootError = vmready.BootError

// bootNotice is how often WaitBoot says it still waits.
const bootNotice = 15 * time.Second

// WaitBoot waits up to bound for the VM's SSH server to send its banner
// on sshAddr (the loopback forward), writing progress lines with elapsed
// seconds to w: the stage of the boot seen on the serial console, and
// every 15 s that it still waits. User-mode networking accepts TCP
// connections before the guest listens, so only a banner counts. When the
// VM never answers or QEMU exits, the error is a *BootError with the
// serial log's tail. The caller then waits for cloud-init and Docker.
func (v *VM) WaitBoot(ctx context.Context, w io.Writer, sshAddr string, bound time.Duration) error {
	start := time.Now()
	elapsed := func() int { return int(time.Since(start).Seconds()) }
	stage, lastNote := "", time.Now()
	say := func(format string, args ...any) {
		fmt.Fprintf(w, "qemu: "+format+" (%d s)\n", append(args, elapsed())...)
		lastNote = time.Now()
	}
	pid, err := v.PID()
	if err != nil {
		return err
	}
	if pid == 0 {
		return v.bootError("QEMU is not running")
	}
	wctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	err = retry.Poll(wctx, time.Second, time.Second, func(ctx context.Context) error {
		if s := v.stage(); s != stage {
			stage = s
			say("%s", s)
		}
		if err := vmready.SSHBanner(ctx, sshAddr); err == nil {
			return nil
		}
		if !v.alive(pid) {
			return retry.Stop(v.bootError("QEMU exited during the boot"))
		}
		if time.Since(lastNote) >= bootNotice {
			say("still booting (%s), waiting for SSH on %s", stage, sshAddr)
		}
		return errors.New("no SSH banner yet")
	})
	if err == nil {
		say("SSH answers on %s", sshAddr)
		return nil
	}
	var be *BootError
	if errors.As(err, &be) {
		return be
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return v.bootError(fmt.Sprintf("the VM did not answer on SSH (%s) within %s", sshAddr, bound))
}

// stage is the last boot stage the serial log shows.
func (v *VM) stage() string { return vmready.Stage(v.path(SerialLog)) }

// SerialTail is the last n non-empty lines of the VM's serial log, with
// terminal control sequences removed.
func (v *VM) SerialTail(n int) []string { return vmready.SerialTail(v.path(SerialLog), n) }

func (v *VM) bootError(reason string) *BootError {
	return vmready.NewBootError(reason, v.path(SerialLog))
}

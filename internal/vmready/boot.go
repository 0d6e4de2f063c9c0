package vmready

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/machine-cli/machine/internal/retry"
)

// bootNotice is how often WaitBoot says it still waits.
const bootNotice = 15 * time.Second

// Boot is a VM's boot as WaitBoot watches it.
type Boot struct {
	Serial  string        // the VM's serial log
	SSHAddr string        // the loopback address forwarded to the guest's SSH port
	Bound   time.Duration // how long to wait for the banner
	// Say shows a progress line ("firmware (0 s)"); the caller adds its
	// driver's prefix.
	Say func(string)
	// Gone says why the VM no longer runs ("QEMU exited during the boot"),
	// "" while it runs.
	Gone func(context.Context) string
}

// WaitBoot waits up to b.Bound for the VM's SSH server to send its banner,
// saying with elapsed seconds each stage of the boot its serial console
// shows and, every 15 s, that it still waits. It fails at once, with a
// BootError holding the serial log's tail, when the firmware finds
// nothing to boot or the VM is gone, and at the bound when SSH never
// answers.
func WaitBoot(ctx context.Context, b Boot) error {
	start := time.Now()
	stage, lastNote := "", time.Now()
	say := func(format string, args ...any) {
		b.Say(fmt.Sprintf(format+" (%d s)", append(args, int(time.Since(start).Seconds()))...))
		lastNote = time.Now()
	}
	wctx, cancel := context.WithTimeout(ctx, b.Bound)
	defer cancel()
	err := retry.Poll(wctx, time.Second, time.Second, func(ctx context.Context) error {
		if s := Stage(b.Serial); s != stage {
			stage = s
			say("%s", s)
		}
		if NothingToBoot(b.Serial) {
			return retry.Stop(NewBootError(NothingToBootReason, b.Serial))
		}
		if err := SSHBanner(ctx, b.SSHAddr); err == nil {
			return nil
		}
		if why := b.Gone(ctx); why != "" {
			return retry.Stop(NewBootError(why, b.Serial))
		}
		if time.Since(lastNote) >= bootNotice {
			say("still booting (%s), waiting for SSH on %s", stage, b.SSHAddr)
		}
		return errors.New("no SSH banner yet")
	})
	if err == nil {
		say("SSH answers on %s", b.SSHAddr)
		return nil
	}
	var be *BootError
	if errors.As(err, &be) {
		return be
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return NewBootError(fmt.Sprintf("the VM did not answer on SSH (%s) within %s", b.SSHAddr, b.Bound), b.Serial)
}

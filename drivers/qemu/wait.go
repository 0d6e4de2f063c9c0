package qemu

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/machine-cli/machine/internal/vmready"
)

// BootError says that a VM did not come up, with the last lines of its
// serial console.
type BootError = vmready.BootError

// WaitBoot waits up to bound for the VM's SSH server to send its banner
// on sshAddr (the loopback forward), writing progress lines with elapsed
// seconds to w: the stage of the boot seen on the serial console, and
// every 15 s that it still waits. User-mode networking accepts TCP
// connections before the guest listens, so only a banner counts. When the
// VM never answers or QEMU exits, the error is a *BootError with the
// serial log's tail. The caller then waits for cloud-init and Docker.
func (v *VM) WaitBoot(ctx context.Context, w io.Writer, sshAddr string, bound time.Duration) error {
	pid, err := v.PID()
	if err != nil {
		return err
	}
	if pid == 0 {
		return v.bootError("QEMU is not running")
	}
	return vmready.WaitBoot(ctx, vmready.Boot{
		Serial: v.path(SerialLog), SSHAddr: sshAddr, Bound: bound,
		Say: func(line string) { fmt.Fprintf(w, "qemu: %s\n", line) },
		Gone: func(context.Context) string {
			if v.alive(pid) {
				return ""
			}
			return "QEMU exited during the boot"
		},
	})
}

// SerialTail is the last n non-empty lines of the VM's serial log, with
// terminal control sequences removed.
func (v *VM) SerialTail(n int) []string { return vmready.SerialTail(v.path(SerialLog), n) }

func (v *VM) bootError(reason string) *BootError {
	return vmready.NewBootError(reason, v.path(SerialLog))
}

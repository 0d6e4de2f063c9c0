package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/machine-cli/machine/internal/retry"
	"github.com/machine-cli/machine/internal/vmready"
)

// BootError says that a VM did not come up, with the last lines of its
// serial console.
type BootError struct {
	Reason string   // what went wrong, one line
	Log    string   // the serial log's path
	Tail   []string // its last lines
}

// Error is the reason, then the serial log's tail, indented.
func (e *BootError) Error() string {
	if len(e.Tail) == 0 {
		return fmt.Sprintf("%s; the VM printed nothing on its serial console (%s)", e.Reason, e.Log)
	}
	return fmt.Sprintf("%s; last lines of its serial console (%s):\n    %s", e.Reason, e.Log, strings.Join(e.Tail, "\n    "))
}

// bootStage is a step of a boot, recognised in the serial log.
type bootStage struct {
	name   string // shown on progress
	marker string // first text of this stage on the serial console; "" for the first
}

// bootStages are the steps a boot goes through before SSH answers.
var bootStages = []bootStage{
	{"firmware", ""},
	{"boot loader", "BdsDxe: starting"},
	{"kernel", "Linux version"},
	{"system", "systemd["},
}

// tailLines is how many serial log lines a BootError shows.
const tailLines = 20

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
	stage, lastNote := -1, time.Now()
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
		if s := v.stage(); s > stage {
			stage = s
			say("%s", bootStages[s].name)
		}
		if err := vmready.SSHBanner(ctx, sshAddr); err == nil {
			return nil
		}
		if !v.alive(pid) {
			return retry.Stop(v.bootError("QEMU exited during the boot"))
		}
		if time.Since(lastNote) >= bootNotice {
			say("still booting (%s), waiting for SSH on %s", bootStages[stage].name, sshAddr)
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

// stage is the last boot stage the serial log shows, 0 when it shows none.
func (v *VM) stage() int {
	log, _ := os.ReadFile(v.path(SerialLog))
	for i := len(bootStages) - 1; i > 0; i-- {
		if bytes.Contains(log, []byte(bootStages[i].marker)) {
			return i
		}
	}
	return 0
}

// SerialTail is the last n non-empty lines of the VM's serial log, with
// terminal control sequences removed.
func (v *VM) SerialTail(n int) []string {
	data, _ := os.ReadFile(v.path(SerialLog))
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(stripControl(l)); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

func (v *VM) bootError(reason string) *BootError {
	return &BootError{Reason: reason, Log: v.path(SerialLog), Tail: v.SerialTail(tailLines)}
}

// stripControl drops ANSI escape sequences and other control characters
// that firmware and consoles write.
func stripControl(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0x1b { // ESC [ ... final byte in @..~
			if i+1 < len(s) && s[i+1] == '[' {
				i += 2
				for i < len(s) && (s[i] < '@' || s[i] > '~') {
					i++
				}
			}
			continue
		}
		if c < ' ' && c != '\t' {
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

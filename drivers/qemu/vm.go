package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/machine-cli/machine/internal/retry"
)

// Status is a VM's state as QEMU reports it.
type Status string

// The states of a VM.
const (
	// StatusRunning: QEMU runs and the guest's CPUs run.
	StatusRunning Status = "running"
	// StatusPaused: QEMU runs, the guest's CPUs do not (paused, suspended,
	// not started yet).
	StatusPaused Status = "paused"
	// StatusStopped: no QEMU process for the machine.
	StatusStopped Status = "stopped"
	// StatusError: QEMU runs but the guest failed (panicked, internal or
	// I/O error), or QEMU does not answer on its QMP socket.
	StatusError Status = "error"
)

// VM is the QEMU process of one machine, known by the machine's directory
// where it keeps its pidfile, QMP socket and logs.
type VM struct {
	Dir string
}

// Open is the VM whose files are in dir; it need not run. A relative dir
// is made absolute: QEMU's command line names the absolute paths.
func Open(dir string) *VM {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return &VM{Dir: dir}
}

func (v *VM) path(name string) string { return filepath.Join(v.Dir, name) }

// startTimeout bounds QEMU's start, up to its detaching from the command.
const startTimeout = 30 * time.Second

// hostfwdRE finds the loopback port in QEMU's complaint about a host
// forward it could not set up (the port was taken after Ports chose it).
var hostfwdRE = regexp.MustCompile(`(?i)could not set up host forwarding rule 'tcp:127\.0\.0\.1:(\d+)-`)

// Start launches c's VM detached from the command: QEMU daemonizes in its
// own session with its stdio on files, and Start returns once it runs in
// the background with the guest starting, or with QEMU's reason for not
// starting (a port taken after Ports chose it, bad firmware, ...). It
// gives the machine its copy of the firmware's variable store first.
func Start(ctx context.Context, c Config) (*VM, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	v := Open(c.Dir)
	if pid, err := v.PID(); err != nil {
		return nil, err
	} else if pid != 0 {
		return nil, fmt.Errorf("the VM already runs (QEMU process %d)", pid)
	}
	if !c.BIOS {
		if err := CopyVars(c.Firmware, c.Dir); err != nil {
			return nil, err
		}
	}
	// A new serial log for each boot: its tail tells about this boot only.
	for _, name := range []string{SerialLog, PIDFile} {
		if err := os.Remove(c.Path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("start VM: %w", err)
		}
	}
	logf, err := os.OpenFile(c.Path(QEMULog), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start VM: %w", err)
	}
	defer logf.Close()
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Binary, c.Args()...)
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	runErr := cmd.Run()
	if runErr != nil {
		said, _ := os.ReadFile(c.Path(QEMULog))
		if m := hostfwdRE.FindSubmatch(said); m != nil {
			port, _ := strconv.Atoi(string(m[1]))
			flag := "--qemu-ssh-port"
			if port == c.EnginePort {
				flag = "--qemu-engine-port"
			}
			return nil, PortTakenError(port, flag)
		}
		if ctx.Err() != nil {
			// The daemon may have forked before the command was killed.
			_ = v.Kill(context.Background())
			return nil, fmt.Errorf("QEMU did not start within %s (see %s)", startTimeout, c.Path(QEMULog))
		}
		return nil, fmt.Errorf("QEMU did not start: %s", complaint(string(said), runErr.Error()))
	}
	pid, err := v.PID()
	if err != nil {
		return nil, err
	}
	if pid == 0 {
		return nil, fmt.Errorf("QEMU started but its pidfile %s names no running process (see %s)", c.Path(PIDFile), c.Path(QEMULog))
	}
	return v, nil
}

// PID is the running QEMU process of the VM, or 0 when none runs (no
// pidfile, or its process is gone or is not this VM's QEMU).
func (v *VM) PID() (int, error) {
	data, err := os.ReadFile(v.path(PIDFile))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("VM pidfile: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, nil // QEMU writes the pidfile after creating it; or a stale scrap
	}
	if !v.alive(pid) {
		return 0, nil
	}
	return pid, nil
}

// alive tells whether pid is this VM's QEMU: the process exists, is not a
// zombie and, where /proc shows it, was started with this VM's pidfile.
func (v *VM) alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, fs.ErrNotExist) || !procMounted()
	}
	// pid (comm) S ...: the state follows the last ')'.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	return bytes.Contains(cmdline, []byte(v.path(PIDFile)))
}

func procMounted() bool {
	_, err := os.Stat("/proc/self/stat")
	return err == nil
}

// qmp connects to the VM's QMP socket.
func (v *VM) qmp(ctx context.Context) (*qmpClient, error) {
	return dialQMP(ctx, v.path(QMPSocket))
}

// Status is the VM's state: Stopped when no QEMU runs for it, else what
// QMP's query-status says. A QEMU that runs but does not answer on QMP is
// StatusError with the reason.
func (v *VM) Status(ctx context.Context) (Status, error) {
	pid, err := v.PID()
	if err != nil {
		return StatusError, err
	}
	if pid == 0 {
		return StatusStopped, nil
	}
	q, err := v.qmp(ctx)
	if err != nil {
		return StatusError, fmt.Errorf("QEMU process %d runs but does not answer: %w", pid, err)
	}
	defer q.Close()
	var st struct {
		Status string `json:"status"`
	}
	if err := q.Execute(ctx, "query-status", &st); err != nil {
		return StatusError, err
	}
	return statusOf(st.Status), nil
}

// statusOf maps QMP's RunState to a Status.
func statusOf(runState string) Status {
	switch runState {
	case "running":
		return StatusRunning
	case "shutdown":
		return StatusStopped
	case "internal-error", "io-error", "guest-panicked", "colo":
		return StatusError
	}
	return StatusPaused
}

// Stop powers the VM down through ACPI (QMP system_powerdown), waits up
// to grace for QEMU to exit, then quits it, and as a last resort kills the
// process. A VM that does not run is stopped already.
func (v *VM) Stop(ctx context.Context, grace time.Duration) error {
	pid, err := v.PID()
	if err != nil || pid == 0 {
		return err
	}
	if q, err := v.qmp(ctx); err == nil {
		err = q.Execute(ctx, "system_powerdown", nil)
		q.Close()
		if err == nil && v.waitGone(ctx, pid, grace) == nil {
			return nil
		}
	}
	return v.Kill(ctx)
}

// PowerDown presses the VM's ACPI power button (QMP system_powerdown)
// and returns: the guest powers down and QEMU exits in its own time. A VM
// that does not run is an error.
func (v *VM) PowerDown(ctx context.Context) error {
	pid, err := v.PID()
	if err != nil {
		return err
	}
	if pid == 0 {
		return fmt.Errorf("the VM does not run")
	}
	q, err := v.qmp(ctx)
	if err != nil {
		return fmt.Errorf("QEMU process %d runs but does not answer: %w", pid, err)
	}
	defer q.Close()
	return q.Execute(ctx, "system_powerdown", nil)
}

// Pause stops the guest's CPUs (QMP stop), or with pause false runs them
// again (cont).
func (v *VM) Pause(ctx context.Context, pause bool) error {
	q, err := v.qmp(ctx)
	if err != nil {
		return err
	}
	defer q.Close()
	if pause {
		return q.Execute(ctx, "stop", nil)
	}
	return q.Execute(ctx, "cont", nil)
}

// quitWait is how long Kill waits for QEMU to exit after quit, and after
// SIGKILL.
const quitWait = 10 * time.Second

// Kill ends the VM at once: QMP quit, then SIGKILL if QEMU does not exit.
// A VM that does not run is killed already.
func (v *VM) Kill(ctx context.Context) error {
	pid, err := v.PID()
	if err != nil || pid == 0 {
		return err
	}
	if q, err := v.qmp(ctx); err == nil {
		err = q.quit(ctx)
		q.Close()
		if err == nil && v.waitGone(ctx, pid, quitWait) == nil {
			return nil
		}
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill QEMU process %d: %w", pid, err)
	}
	if err := v.waitGone(ctx, pid, quitWait); err != nil {
		return fmt.Errorf("QEMU process %d does not exit: %w", pid, err)
	}
	_ = os.Remove(v.path(PIDFile))
	return nil
}

// waitGone waits up to bound for pid to leave the process table.
func (v *VM) waitGone(ctx context.Context, pid int, bound time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	return retry.Poll(ctx, 100*time.Millisecond, 500*time.Millisecond, func(context.Context) error {
		if v.alive(pid) {
			return fmt.Errorf("QEMU process %d still runs", pid)
		}
		return nil
	})
}

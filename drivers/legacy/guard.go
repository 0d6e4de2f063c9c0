package legacy

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// A docker-machine plugin knows nothing of our lifeline (see
// drivers/plugin/lifeline.go): it ends only when asked (Close), when killed,
// or 10 s after the heartbeats stop. So that it also ends at once when the
// command is killed outright (SIGKILL), the machine binary runs it through
// a guard: a small process of its own (`machine __legacy-guard PATH`) that
// leads the plugin's process group, holds the lifeline's read end and kills
// the whole group when the lifeline breaks. The plugin's stdin, stdout and
// stderr are the guard's, so the protocol passes straight through.

// GuardCommand is the hidden argument with which the machine binary guards
// a docker-machine plugin: `machine __legacy-guard PATH`.
const GuardCommand = "__legacy-guard"

// guardLifelineEnv names the guard's descriptor of the lifeline's read end.
const guardLifelineEnv = "MACHINE_LEGACY_LIFELINE_FD"

// RunGuard is the guard process: it runs the plugin at path in its own
// process group and returns the plugin's exit status, or kills the group
// (itself included) once the process that started it has ended. A guard
// started without a lifeline just runs the plugin.
func RunGuard(path string) int {
	// A signal sent to the guard itself (it leads a group of its own, so a
	// terminal's ^C does not reach it) ends the group, as the host's end
	// does.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		<-sigs
		_ = syscall.Kill(0, syscall.SIGKILL)
	}()
	if f := guardLifeline(); f != nil {
		go func() {
			_, _ = io.Copy(io.Discard, f) // EOF: the host is gone
			_ = syscall.Kill(0, syscall.SIGKILL)
		}()
	}
	cmd := exec.Command(path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, guardLifelineEnv+"=") })
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, ws.Signal())
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	default:
		fmt.Fprintln(os.Stderr, err)
		return 127
	}
}

// guardLifeline opens the lifeline's read end named in the environment,
// keeping it from the plugin; nil when there is none.
func guardLifeline() *os.File {
	fd, err := strconv.Atoi(os.Getenv(guardLifelineEnv))
	if err != nil || fd < 3 {
		return nil
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "lifeline")
}

// lifeline is the pipe between the host and a guard: the host keeps the
// write end (close-on-exec, so no other child inherits it) and never writes.
type lifeline struct {
	parent, child *os.File
}

// attachLifeline passes a new lifeline's read end to cmd.
func attachLifeline(cmd *exec.Cmd) (*lifeline, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("lifeline pipe: %w", err)
	}
	fd := 3 + len(cmd.ExtraFiles)
	cmd.ExtraFiles = append(cmd.ExtraFiles, r)
	cmd.Env = append(cmd.Env, guardLifelineEnv+"="+strconv.Itoa(fd))
	return &lifeline{parent: w, child: r}, nil
}

package plugin

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
)

// A plugin process must not outlive the command that started it, however
// that command ends, SIGKILL included; yet it must outlive a SIGINT or
// SIGTERM, after which the command still needs its driver to roll a create
// back. Signals cannot tell these apart (the plugin runs in its own process
// group so that a group-wide SIGTERM does not reach it), so the plugin
// watches the host process itself, through a pipe: the host keeps the write
// end, the plugin inherits the read end and blocks reading it. Nothing is
// ever written; when the host process ends, by exit or by any signal, the
// kernel closes its descriptors, the read returns EOF and the plugin exits.
//
// This works the same on Linux and macOS (it is plain POSIX), costs no
// polling, and cannot be fooled by PID reuse or by the plugin being
// re-parented to a subreaper rather than PID 1 (a getppid() watch can).
// Linux's PR_SET_PDEATHSIG is not used: macOS lacks it, and on Linux it
// fires when the *thread* that started the child exits, which in a Go
// program is not the process ending.

// lifelineEnv names the plugin's descriptor of the lifeline's read end.
const lifelineEnv = "MACHINE_PLUGIN_LIFELINE_FD"

// lifeline is the pipe between the host and one plugin process.
type lifeline struct {
	parent *os.File // write end, held by the host for the plugin's life
	child  *os.File // read end, inherited by the plugin
}

// attachLifeline makes the pipe and passes its read end to cmd, naming the
// descriptor in cmd's environment. Both ends are close-on-exec in the host,
// so no other child inherits them.
func attachLifeline(cmd *exec.Cmd) (*lifeline, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("driver plugin: lifeline pipe: %w", err)
	}
	fd := 3 + len(cmd.ExtraFiles)
	cmd.ExtraFiles = append(cmd.ExtraFiles, r)
	cmd.Env = append(cmd.Env, lifelineEnv+"="+strconv.Itoa(fd))
	return &lifeline{parent: w, child: r}, nil
}

// watchLifeline ends the process (calling exit) once the host that started
// it has ended. It returns false, doing nothing, when the process was not
// started with a lifeline (run by hand, or by an older host).
func watchLifeline(exit func()) bool {
	v := os.Getenv(lifelineEnv)
	if v == "" {
		return false
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return false
	}
	f := os.NewFile(uintptr(fd), "lifeline")
	if f == nil {
		return false
	}
	// Not inherited by what the driver runs.
	os.Unsetenv(lifelineEnv)
	go func() {
		_, _ = io.Copy(io.Discard, f) // returns at EOF: the host is gone
		exit()
	}()
	return true
}

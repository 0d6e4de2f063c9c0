package sshclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"golang.org/x/crypto/ssh"
)

// stderrTail is how much of a failed command's stderr ExitError keeps.
const stderrTail = 4096

// ExitError is a remote command that ran and exited with a non-zero status.
type ExitError struct {
	Cmd    string
	Status int    // exit status; 128+N when killed by signal N
	Stderr string // the last lines of its stderr, trimmed
}

// Error gives the command, its status and the last lines of its stderr.
func (e *ExitError) Error() string {
	msg := fmt.Sprintf("command %q exited with status %d", shortCmd(e.Cmd), e.Status)
	if e.Stderr != "" {
		msg += ": " + lastLines(e.Stderr, 10)
	}
	return msg
}

// Output runs cmd and returns its stdout. A non-zero exit returns
// *ExitError with the tail of stderr.
func (c *Client) Output(ctx context.Context, cmd string) ([]byte, error) {
	var out bytes.Buffer
	var stderr TailBuffer
	status, err := c.Run(ctx, cmd, nil, &out, &stderr)
	if err != nil {
		return out.Bytes(), err
	}
	if status != 0 {
		return out.Bytes(), &ExitError{Cmd: cmd, Status: status, Stderr: stderr.String()}
	}
	return out.Bytes(), nil
}

// Run runs cmd with the given stdin, stdout and stderr (nil: none) and
// returns its exit status. The error is for failures to run it or to hear
// how it ended; cancelling ctx signals (TERM) and closes the session.
func (c *Client) Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if err := ctx.Err(); err != nil {
		return -1, fmt.Errorf("ssh: %q: %w", shortCmd(cmd), context.Cause(ctx))
	}
	s, err := c.session(stdin, stdout, stderr)
	if err != nil {
		return -1, err
	}
	defer s.Close()
	stop := context.AfterFunc(ctx, func() {
		_ = s.Signal(ssh.SIGTERM)
		_ = s.Close()
	})
	defer stop()
	return c.status(ctx, cmd, s.Run(cmd))
}

// status turns what Session.Run/Wait returned into an exit status or a
// transport error.
func (c *Client) status(ctx context.Context, cmd string, err error) (int, error) {
	if err == nil {
		return 0, nil
	}
	if ctx.Err() != nil {
		return -1, fmt.Errorf("ssh: %q: %w", shortCmd(cmd), context.Cause(ctx))
	}
	var exit *ssh.ExitError
	if errors.As(err, &exit) {
		if sig := exit.Signal(); sig != "" {
			return 128 + signalNumber(sig), nil
		}
		return exit.ExitStatus(), nil
	}
	var missing *ssh.ExitMissingError
	if errors.As(err, &missing) {
		return -1, fmt.Errorf("ssh: %q on %s ended without an exit status (connection lost?)", shortCmd(cmd), c.addr)
	}
	return -1, fmt.Errorf("ssh: run %q on %s: %w", shortCmd(cmd), c.addr, err)
}

// WriteFile writes data to name on the host with the given permissions
// (mode.Perm()), atomically: it writes name.tmp.PID next to it and renames
// it into place, creating the directory when needed. It uses `sudo -n` when
// the remote user is not root, so files it makes are owned by root then.
//
// It streams data into `cat` rather than using SFTP: the sftp subsystem runs
// as the login user and cannot be combined with sudo portably, while a shell
// line does the sudo, the temp file, chmod and the rename in one session.
func (c *Client) WriteFile(ctx context.Context, name string, data []byte, mode os.FileMode) error {
	script := fmt.Sprintf(`set -e
mkdir -p %s
umask 077
t=%s.tmp.$$
trap 'rm -f "$t"' EXIT
cat > "$t"
chmod %o "$t"
mv -f "$t" %s`, ShellQuote(path.Dir(name)), ShellQuote(name), mode.Perm(), ShellQuote(name))
	var stderr TailBuffer
	status, err := c.Run(ctx, AsRoot(script), bytes.NewReader(data), nil, &stderr)
	if err == nil && status != 0 {
		err = &ExitError{Cmd: "write " + name, Status: status, Stderr: stderr.String()}
	}
	if err != nil {
		return fmt.Errorf("ssh: write %s on %s: %w", name, c.addr, err)
	}
	return nil
}

// AsRoot wraps a shell script into a command line that runs it with sh as
// root: directly when the login user is root, else through `sudo -n`
// (which fails rather than asks for a password). It is the one place the
// tree decides how to become root on a host.
func AsRoot(script string) string {
	q := ShellQuote(script)
	return fmt.Sprintf(`if [ "$(id -u)" = 0 ]; then sh -c %s; else sudo -n sh -c %s; fi`, q, q)
}

// ShellQuote quotes s as one word for a POSIX shell.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,@+%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// TailBuffer is an io.Writer that keeps the last 4 KiB written to it, for
// the stderr of commands whose failure is reported.
type TailBuffer struct{ b []byte }

// Write appends p, dropping the oldest bytes beyond the limit.
func (t *TailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - stderrTail; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

// String returns what is kept, trimmed of surrounding white space.
func (t *TailBuffer) String() string { return strings.TrimSpace(string(t.b)) }

func shortCmd(cmd string) string {
	cmd = strings.TrimSpace(cmd)
	if i := strings.IndexByte(cmd, '\n'); i >= 0 {
		cmd = cmd[:i] + " ..."
	}
	if len(cmd) > 80 {
		cmd = cmd[:77] + "..."
	}
	return cmd
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// signalNumber maps an SSH signal name (RFC 4254 6.10) to its usual number.
func signalNumber(name string) int {
	switch ssh.Signal(name) {
	case ssh.SIGHUP:
		return 1
	case ssh.SIGINT:
		return 2
	case ssh.SIGQUIT:
		return 3
	case ssh.SIGILL:
		return 4
	case ssh.SIGABRT:
		return 6
	case ssh.SIGFPE:
		return 8
	case ssh.SIGKILL:
		return 9
	case ssh.SIGSEGV:
		return 11
	case ssh.SIGPIPE:
		return 13
	case ssh.SIGALRM:
		return 14
	case ssh.SIGTERM:
		return 15
	case ssh.SIGUSR1:
		return 10
	case ssh.SIGUSR2:
		return 12
	}
	return 127
}

// session opens a session wired to the given streams (nil ones are left
// unconnected).
func (c *Client) session(stdin io.Reader, stdout, stderr io.Writer) (*ssh.Session, error) {
	s, err := c.c.NewSession()
	if err != nil {
		return nil, fmt.Errorf("ssh: open session on %s: %w", c.addr, err)
	}
	if stdin != nil {
		s.Stdin = stdin
	}
	if stdout != nil {
		s.Stdout = stdout
	}
	if stderr != nil {
		s.Stderr = stderr
	}
	return s, nil
}

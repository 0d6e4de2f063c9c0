package sshclient

import (
	"context"
	"fmt"
	"io"
	"os"

	"golang.org/x/crypto/ssh"
	"golang.org/x/term"
)

// Interactive runs cmd ("" for a login shell) attached to the caller's
// terminal and returns its exit status. When stdin is a terminal it is put
// in raw mode (always restored), the session gets a PTY with $TERM and the
// window size, and window resizes are forwarded; otherwise no PTY is used.
// Cancelling ctx signals (TERM) and closes the session.
//
// A goroutine reading stdin for the session may stay blocked in Read after
// Interactive returns, until stdin yields one more read.
func (c *Client) Interactive(ctx context.Context, cmd string, stdin *os.File, stdout, stderr io.Writer) (int, error) {
	var in io.Reader
	if stdin != nil { // not a nil *os.File in a non-nil interface
		in = stdin
	}
	s, err := c.session(in, stdout, stderr)
	if err != nil {
		return -1, err
	}
	defer s.Close()

	if stdin != nil && term.IsTerminal(int(stdin.Fd())) {
		fd := int(stdin.Fd())
		width, height, err := term.GetSize(fd)
		if err != nil || width <= 0 || height <= 0 {
			width, height = 80, 24
		}
		termName := os.Getenv("TERM")
		if termName == "" {
			termName = "xterm"
		}
		modes := ssh.TerminalModes{ssh.ECHO: 1, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
		if err := s.RequestPty(termName, height, width, modes); err != nil {
			return -1, fmt.Errorf("ssh: request a terminal on %s: %w", c.addr, err)
		}
		old, err := term.MakeRaw(fd)
		if err != nil {
			return -1, fmt.Errorf("ssh: set the terminal to raw mode: %w", err)
		}
		defer func() { _ = term.Restore(fd, old) }()
		stopResize := forwardResizes(fd, s)
		defer stopResize()
	}

	stop := context.AfterFunc(ctx, func() {
		_ = s.Signal(ssh.SIGTERM)
		_ = s.Close()
	})
	defer stop()
	if cmd == "" {
		err = s.Shell()
	} else {
		err = s.Start(cmd)
	}
	if err != nil {
		return -1, fmt.Errorf("ssh: start %q on %s: %w", shortCmd(cmd), c.addr, err)
	}
	return c.status(ctx, cmd, s.Wait())
}

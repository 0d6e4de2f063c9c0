package sshclient_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/machine-cli/machine/internal/testio"
	"github.com/machine-cli/machine/sshclient/sshtest"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestInteractiveTerminal(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	c := dial(t, config(t, srv, filepath.Join(t.TempDir(), "known_hosts")))

	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("no pty: %v", err)
	}
	t.Cleanup(func() { _ = ptmx.Close(); _ = tty.Close() })
	if err := pty.Setsize(tty, &pty.Winsize{Rows: 30, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TERM", "xterm-machinetest")

	var out testio.Buffer
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		status, err := c.Interactive(t.Context(), `echo "T=$TERM S=$(stty size)"; read x; echo "S2=$(stty size)"; exit 7`, tty, &out, &out)
		done <- result{status, err}
	}()

	waitFor(t, "the first line", func() bool { return strings.Contains(out.String(), "S=30 100") })
	if ptys := srv.PTYs(); len(ptys) != 1 || ptys[0].Term != "xterm-machinetest" || ptys[0].Cols != 100 || ptys[0].Rows != 30 {
		t.Errorf("pty requests = %+v", ptys)
	}
	raw, _ := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if raw.Lflag&unix.ECHO != 0 || raw.Lflag&unix.ICANON != 0 {
		t.Errorf("terminal not in raw mode while running")
	}

	// Resize the local terminal: the new size reaches the remote PTY.
	if err := pty.Setsize(tty, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	select {
	case size := <-srv.Resized:
		if size != [2]int{120, 40} {
			t.Errorf("window-change = %v", size)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no window-change request")
	}
	if _, err := ptmx.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}

	select {
	case r := <-done:
		if r.err != nil || r.status != 7 {
			t.Errorf("Interactive = %d, %v", r.status, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Interactive did not return")
	}
	if !strings.Contains(out.String(), "T=xterm-machinetest") || !strings.Contains(out.String(), "S2=40 120") {
		t.Errorf("output = %q", out.String())
	}
	after, _ := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag {
		t.Errorf("terminal mode not restored")
	}
}

func TestInteractiveNoTerminal(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	c := dial(t, config(t, srv, filepath.Join(t.TempDir(), "known_hosts")))
	in, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.WriteString("hello\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	status, err := c.Interactive(t.Context(), "cat; exit 2", in, &out, nil)
	if err != nil || status != 2 || out.String() != "hello\n" {
		t.Errorf("Interactive = %d, %v, output %q", status, err, out.String())
	}
	if len(srv.PTYs()) != 0 {
		t.Errorf("a PTY was requested for a non-terminal stdin")
	}
}

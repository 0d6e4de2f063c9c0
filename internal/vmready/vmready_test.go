package vmready

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// serve answers each connection on a loopback port with handle.
func serve(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			handle(c)
			c.Close()
		}
	}()
	return l.Addr().String()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestSSHBanner(t *testing.T) {
	for _, tc := range []struct {
		name   string
		handle func(net.Conn)
		ok     bool
	}{
		{"banner", func(c net.Conn) { c.Write([]byte("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")) }, true},
		{"lines before the banner", func(c net.Conn) { c.Write([]byte("hello\r\nSSH-2.0-x\r\n")) }, true},
		// What a port forward does before the guest listens.
		{"accepts and closes", func(net.Conn) {}, false},
		{"not ssh", func(c net.Conn) { c.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\n")) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := serve(t, tc.handle)
			err := SSHBanner(context.Background(), addr)
			if tc.ok != (err == nil) {
				t.Errorf("SSHBanner = %v, want ok %v", err, tc.ok)
			}
		})
	}
	t.Run("nothing listens", func(t *testing.T) {
		if err := SSHBanner(context.Background(), net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))); err == nil {
			t.Error("SSHBanner succeeded with nothing listening")
		}
	})
}

// TestWaitLoginFails: a server that never logs in ends in a LoginError
// after the bound, naming the user.
func TestWaitLoginFails(t *testing.T) {
	addr := serve(t, func(c net.Conn) { c.Write([]byte("SSH-2.0-x\r\n")) })
	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	dir := t.TempDir()
	err := Wait(context.Background(), Config{
		Host: "127.0.0.1", Port: p, User: "docker", KeyPath: filepath.Join(dir, "none"),
		KnownHostsPath: filepath.Join(dir, "known_hosts"), Machine: "dev",
		LoginBound: 2 * time.Second, CloudInitBound: time.Second,
	})
	var le *LoginError
	if !errors.As(err, &le) || le.User != "docker" {
		t.Fatalf("err = %v, want a LoginError for docker", err)
	}
}

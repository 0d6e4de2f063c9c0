package qemu

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
)

// listen takes a free loopback port for the test's duration.
func listen(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// freePort is a port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestPorts(t *testing.T) {
	taken := listen(t)
	given := freePort(t)
	for _, tc := range []struct {
		name        string
		ssh, engine int
		err         string // substring; "" means success
	}{
		{name: "both chosen"},
		{name: "ssh given", ssh: given},
		{name: "ssh taken", ssh: taken, err: "127.0.0.1:" + strconv.Itoa(taken) + " (--qemu-ssh-port) port is taken by another program: pick another port or leave --qemu-ssh-port out to get a free one"},
		{name: "engine taken", engine: taken, err: "(--qemu-engine-port) port is taken"},
		{name: "same port twice", ssh: given, engine: given, err: "--qemu-ssh-port and --qemu-engine-port are both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ssh, engine, err := Ports(tc.ssh, tc.engine)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.err)
				}
				if strings.Contains(tc.err, "taken") && !errors.Is(err, ErrPortTaken) {
					t.Errorf("err does not wrap ErrPortTaken: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ssh == 0 || engine == 0 || ssh == engine {
				t.Fatalf("ports %d, %d: want two different ports", ssh, engine)
			}
			if tc.ssh != 0 && ssh != tc.ssh {
				t.Errorf("ssh port = %d, want the given %d", ssh, tc.ssh)
			}
			// Both are free again for QEMU to bind.
			for _, p := range []int{ssh, engine} {
				l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
				if err != nil {
					t.Fatalf("port %d not released: %v", p, err)
				}
				l.Close()
			}
		})
	}
}

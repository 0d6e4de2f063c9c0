package qemu

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// ErrPortTaken: a loopback port the VM needs is in use.
var ErrPortTaken = errors.New("port is taken")

// Ports picks the loopback ports the VM forwards to its SSH server and its
// Docker engine: a port given (non-zero) must be free, a zero one is
// chosen free by the kernel, and the two differ.
func Ports(ssh, engine int) (int, int, error) {
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	take := func(port int, flag string) (int, error) {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				return 0, PortTakenError(port, flag)
			}
			return 0, fmt.Errorf("%s %d: %w", flag, port, err)
		}
		held = append(held, l)
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	if ssh != 0 && ssh == engine {
		return 0, 0, fmt.Errorf("--qemu-ssh-port and --qemu-engine-port are both %d: give them different ports", ssh)
	}
	s, err := take(ssh, "--qemu-ssh-port")
	if err != nil {
		return 0, 0, err
	}
	e, err := take(engine, "--qemu-engine-port")
	if err != nil {
		return 0, 0, err
	}
	return s, e, nil
}

// PortTakenError is the error for a loopback port in use, naming the flag
// that sets it; it wraps ErrPortTaken.
func PortTakenError(port int, flag string) error {
	return fmt.Errorf("127.0.0.1:%d (%s) %w by another program: pick another port or leave %s out to get a free one", port, flag, ErrPortTaken, flag)
}

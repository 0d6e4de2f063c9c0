// Package loopport picks and checks the loopback ports that a local VM's
// port forwards bind (SSH, the Docker engine).
package loopport

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// TakenError says that a port asked for is in use on 127.0.0.1.
type TakenError struct {
	Port int
	Err  error
}

// Error names the port and why it could not be bound.
func (e *TakenError) Error() string { return fmt.Sprintf("127.0.0.1:%d is taken: %v", e.Port, e.Err) }

// Unwrap returns the bind error.
func (e *TakenError) Unwrap() error { return e.Err }

// Hold binds each port on 127.0.0.1 at once, a zero one chosen free by
// the kernel, and releases them all before it returns their numbers (the
// VM's forwards bind them next), so that the numbers differ. A non-zero
// port in use is a *TakenError.
func Hold(ports ...int) ([]int, error) {
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	got := make([]int, len(ports))
	for i, p := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			if p != 0 && errors.Is(err, syscall.EADDRINUSE) {
				return nil, &TakenError{Port: p, Err: err}
			}
			return nil, fmt.Errorf("loopback port %d: %w", p, err)
		}
		held = append(held, l)
		got[i] = l.Addr().(*net.TCPAddr).Port
	}
	return got, nil
}

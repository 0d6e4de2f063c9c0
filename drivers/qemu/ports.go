package qemu

import (
	"errors"
	"fmt"

	"github.com/machine-cli/machine/internal/loopport"
)

// ErrPortTaken: a loopback port the VM needs is in use.
var ErrPortTaken = errors.New("port is taken")

// Ports picks the loopback ports the VM forwards to its SSH server and its
// Docker engine: a port given (non-zero) must be free, a zero one is
// chosen free by the kernel, and the two differ.
func Ports(ssh, engine int) (int, int, error) {
	if ssh != 0 && ssh == engine {
		return 0, 0, fmt.Errorf("--qemu-ssh-port and --qemu-engine-port are both %d: give them different ports", ssh)
	}
	got, err := loopport.Hold(ssh, engine)
	var te *loopport.TakenError
	if errors.As(err, &te) {
		flag := "--qemu-ssh-port"
		if te.Port == engine {
			flag = "--qemu-engine-port"
		}
		return 0, 0, PortTakenError(te.Port, flag)
	}
	if err != nil {
		return 0, 0, err
	}
	return got[0], got[1], nil
}

// PortTakenError is the error for a loopback port in use, naming the flag
// that sets it; it wraps ErrPortTaken.
func PortTakenError(port int, flag string) error {
	return fmt.Errorf("127.0.0.1:%d (%s) %w by another program: pick another port or leave %s out to get a free one", port, flag, ErrPortTaken, flag)
}

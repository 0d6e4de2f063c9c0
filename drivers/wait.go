package drivers

import (
	"context"
	"errors"
	"net"
	"os"
	"time"

	"github.com/machine-cli/machine/internal/retry"
)

// WaitTCP dials addr until it accepts a TCP connection, for at most bound,
// each dial limited to dialTimeout and every between tries. It returns nil
// once a connection is made; otherwise the last dial's reason, stripped to
// its cause ("connection refused"), not the bound's own timeout. Callers
// check ctx to tell their own cancellation from the bound.
func WaitTCP(ctx context.Context, addr string, bound, dialTimeout, every time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	var last error
	err := retry.Poll(wctx, every, every, func(ctx context.Context) error {
		dctx, dcancel := context.WithTimeout(ctx, dialTimeout)
		defer dcancel()
		conn, err := new(net.Dialer).DialContext(dctx, "tcp", addr)
		if err == nil {
			conn.Close()
			return nil
		}
		if last == nil || wctx.Err() == nil {
			last = err
		}
		return err
	})
	if err == nil {
		return nil
	}
	return DialReason(last)
}

// DialReason strips a dial error to its cause ("connection refused").
func DialReason(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		err = op.Err
	}
	var sys *os.SyscallError
	if errors.As(err, &sys) && sys.Err != nil {
		err = sys.Err
	}
	return err
}

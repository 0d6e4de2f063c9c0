package legacy

import (
	"errors"
	"fmt"
	"io"
	"net/rpc"
	"strings"

	"github.com/machine-cli/machine/drivers"
)

// A docker-machine driver's errors cross net/rpc as bare strings
// (rpc.ServerError). These phrases, matched case-insensitively, give them
// back the identity of our sentinel errors, checked in this order. They are
// the wordings docker-machine's own drivers use ("generic driver does not
// support stop", drivers.ErrHostIsNotRunning's "Host is not running"), and
// net/rpc's for a method an old plugin lacks. "not found" and "already
// exists" are not among them: such words appear in too many unrelated
// failures ("sh: 1: virsh: not found") for a caller to act on them.
var errorPhrases = []struct {
	phrase string
	err    error
}{
	{"does not support", drivers.ErrNotSupported},
	{"not supported", drivers.ErrNotSupported},
	{"not implemented", drivers.ErrNotSupported},
	{"rpc: can't find method", drivers.ErrNotSupported},
	{"host is not running", drivers.ErrNotRunning},
}

// mapError turns what a net/rpc call returned into our error: the driver's
// message, wrapping the sentinel its wording stands for (fallback when none
// does, nil for none), or for a broken connection, an error naming the
// plugin.
func (c *conn) mapError(method string, err error, fallback error) error {
	if err == nil {
		return nil
	}
	var se rpc.ServerError
	if errors.As(err, &se) {
		msg := string(se)
		lower := strings.ToLower(msg)
		for _, p := range errorPhrases {
			if strings.Contains(lower, p.phrase) {
				return &driverError{msg: msg, err: p.err}
			}
		}
		return &driverError{msg: msg, err: fallback}
	}
	if errors.Is(err, rpc.ErrShutdown) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("driver plugin %s: %s: the plugin ended%s", c.path, method, c.exitNote())
	}
	return fmt.Errorf("driver plugin %s: %s: %w", c.path, method, err)
}

// driverError is a driver's message, wrapping a sentinel (or nothing)
// whose text it does not repeat.
type driverError struct {
	msg string
	err error
}

func (e *driverError) Error() string { return e.msg }
func (e *driverError) Unwrap() error { return e.err }

// states maps docker-machine's state.State numbers to ours. They are the
// same list in the same order today; the table keeps that an explicit
// choice rather than a cast.
var states = map[int]drivers.State{
	0: drivers.None,
	1: drivers.Running,
	2: drivers.Paused,
	3: drivers.Saved,
	4: drivers.Stopped,
	5: drivers.Stopping,
	6: drivers.Starting,
	7: drivers.Error,
	8: drivers.Timeout,
}

// stateOf maps a docker-machine state number to our State; a number
// docker-machine never had is Error, with an error saying so.
func stateOf(n int) (drivers.State, error) {
	if s, ok := states[n]; ok {
		return s, nil
	}
	return drivers.Error, fmt.Errorf("driver reported unknown state %d", n)
}

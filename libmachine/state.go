package libmachine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/machine-cli/machine/drivers"
)

// State returns machine name's state as its driver reports it, within ctx
// (`machine status`). With a driver error the state is Error; with a
// machine that cannot be loaded, None.
func (c *Client) State(ctx context.Context, name string) (drivers.State, error) {
	m, err := c.Load(ctx, name)
	if err != nil {
		return drivers.None, err
	}
	st, err := m.Driver.GetState(ctx)
	if err != nil {
		if st == drivers.None {
			// A driver's failure is state Error, as in ls (the state a
			// driver returns with its error does not cross the plugin
			// boundary).
			st = drivers.Error
		}
		return st, fmt.Errorf("state of %s: %w", name, err)
	}
	return st, nil
}

// ErrNoActiveHost is wrapped by Active's error when no machine is the one
// DOCKER_HOST points at; its text is docker-machine's.
var ErrNoActiveHost = errors.New("No active host found") //nolint:staticcheck // docker-machine's words, which scripts look for

// Active returns the name of the machine whose Docker URL is dockerHost
// (the value of DOCKER_HOST) and whose driver says it is Running, as
// docker-machine's `active`: every machine is looked at concurrently, each
// within timeout. A machine whose endpoint is stored needs no driver unless
// its URL is dockerHost. When there is no such machine the error wraps
// ErrNoActiveHost and says why (DOCKER_HOST unset, no machine with that URL,
// the machine is not running, or machines that did not answer in time).
func (c *Client) Active(ctx context.Context, dockerHost string, timeout time.Duration) (string, error) {
	if dockerHost == "" {
		return "", fmt.Errorf("%w: DOCKER_HOST is not set (run `eval $(machine env NAME)` to point it at a machine)", ErrNoActiveHost)
	}
	names, err := c.Store.List()
	if err != nil {
		return "", err
	}
	looks := eachWithin(ctx, names, timeout, func(mctx context.Context, name string) activeLook {
		l := c.lookActive(mctx, name, dockerHost)
		l.timedOut = l.err != nil && errors.Is(mctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
		return l
	}, func(name string) activeLook {
		return activeLook{name: name, timedOut: true}
	})
	if err := ctx.Err(); err != nil {
		return "", context.Cause(ctx)
	}
	return pickActive(looks, dockerHost, timeout)
}

// activeLook is what Active learned about one machine.
type activeLook struct {
	name string
	// match says the machine's URL is DOCKER_HOST.
	match bool
	// state is the driver's state of a matching machine.
	state drivers.State
	// err is why the machine could not be looked at.
	err error
	// timedOut says err came from the timeout.
	timedOut bool
}

// lookActive finds whether machine name has URL dockerHost and, if it has,
// its state.
func (c *Client) lookActive(ctx context.Context, name, dockerHost string) activeLook {
	l := activeLook{name: name}
	_, ep, err := c.Endpoint(ctx, name)
	if err != nil {
		l.err = err
		return l
	}
	if ep.URL != dockerHost {
		return l
	}
	l.match = true
	l.state, l.err = c.State(ctx, name)
	return l
}

// pickActive decides Active's answer from what it learned, as
// docker-machine: a matching Running machine wins; otherwise, a machine that
// timed out makes the answer a timeout.
func pickActive(looks []activeLook, dockerHost string, timeout time.Duration) (string, error) {
	var down, late []string
	for _, l := range looks {
		switch {
		case l.match && l.err == nil && l.state == drivers.Running:
			return l.name, nil
		case l.timedOut:
			late = append(late, fmt.Sprintf("%q", l.name))
		case l.match && l.err != nil:
			down = append(down, fmt.Sprintf("%q (%v)", l.name, l.err))
		case l.match:
			down = append(down, fmt.Sprintf("%q, which is %s", l.name, stateName(l.state)))
		}
	}
	sort.Strings(late)
	switch {
	case len(down) > 0:
		return "", fmt.Errorf("%w: DOCKER_HOST %s is machine %s", ErrNoActiveHost, dockerHost, strings.Join(down, "; "))
	case len(late) > 0:
		return "", fmt.Errorf("%w: timeout: %s did not answer within %s (raise it with --timeout)", ErrNoActiveHost, strings.Join(late, ", "), timeout)
	}
	return "", fmt.Errorf("%w: no machine has DOCKER_HOST's URL %s", ErrNoActiveHost, dockerHost)
}

// stateName names a state for messages, "in no known state" for None.
func stateName(s drivers.State) string {
	if s == drivers.None {
		return "in no known state"
	}
	return s.String()
}

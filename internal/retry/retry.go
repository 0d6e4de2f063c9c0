// Package retry polls a check until it succeeds.
package retry

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Poll calls check until it succeeds, waiting first after the first
// failure and twice as long after each other, up to most, until ctx ends;
// then it returns ctx's cause with the last failure. A failure marked with
// Stop ends it at once with that failure.
func Poll(ctx context.Context, first, most time.Duration, check func(context.Context) error) error {
	delay := first
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		var stop stopError
		if errors.As(err, &stop) {
			return stop.err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w; last attempt: %w", context.Cause(ctx), err)
		case <-t.C:
		}
		delay = min(2*delay, most)
	}
}

// Stop marks err as final: Poll returns err at once instead of trying
// again.
func Stop(err error) error { return stopError{err} }

type stopError struct{ err error }

func (s stopError) Error() string { return s.err.Error() }
func (s stopError) Unwrap() error { return s.err }

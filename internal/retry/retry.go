// Package retry polls a check until it succeeds.
package retry

import (
	"context"
	"fmt"
	"time"
)

// Poll calls check until it succeeds, waiting first after the first
// failure and twice as long after each other, up to most, until ctx ends;
// then it returns ctx's cause with the last failure.
func Poll(ctx context.Context, first, most time.Duration, check func(context.Context) error) error {
	delay := first
	for {
		err := check(ctx)
		if err == nil {
			return nil
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

package retry

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPoll(t *testing.T) {
	for _, tc := range []struct {
		name      string
		failures  int // check fails this many times, then succeeds
		timeout   time.Duration
		wantCalls int
		wantErr   string
	}{
		{name: "at once", failures: 0, timeout: time.Second, wantCalls: 1},
		{name: "after three failures", failures: 3, timeout: 5 * time.Second, wantCalls: 4},
		{name: "never", failures: 1 << 30, timeout: 50 * time.Millisecond, wantErr: "context deadline exceeded; last attempt: failure 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), tc.timeout)
			defer cancel()
			calls := 0
			err := Poll(ctx, time.Millisecond, 4*time.Millisecond, func(context.Context) error {
				calls++
				if calls <= tc.failures {
					return errors.New("failure 1")
				}
				return nil
			})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("Poll = %v, want %q wrapping the deadline", err, tc.wantErr)
				}
				return
			}
			if err != nil || calls != tc.wantCalls {
				t.Fatalf("Poll = %v after %d calls, want nil after %d", err, calls, tc.wantCalls)
			}
		})
	}
}

func TestPollStop(t *testing.T) {
	final := errors.New("refused for good")
	calls := 0
	err := Poll(t.Context(), time.Millisecond, time.Millisecond, func(context.Context) error {
		calls++
		if calls < 3 {
			return errors.New("not yet")
		}
		return Stop(final)
	})
	if err != final || calls != 3 {
		t.Fatalf("Poll = %v after %d calls, want %v after 3", err, calls, final)
	}
}

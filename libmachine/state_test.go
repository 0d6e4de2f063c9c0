package libmachine

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/machine-cli/machine/drivers"
)

// TestPickActive: Active's answer from what it learned about each machine,
// as docker-machine's `active` decides it, with the reason when there is
// none.
func TestPickActive(t *testing.T) {
	const url = "tcp://10.0.0.5:2376"
	tests := []struct {
		name  string
		looks []activeLook
		want  string
		err   string // "": no error
	}{
		{"the running match", []activeLook{{name: "a"}, {name: "b", match: true, state: drivers.Running}, {name: "c"}}, "b", ""},
		{"a match wins over a timeout", []activeLook{{name: "a", err: errors.New("late"), timedOut: true}, {name: "b", match: true, state: drivers.Running}}, "b", ""},
		{"no match", []activeLook{{name: "a"}, {name: "b"}}, "", "No active host found: no machine has DOCKER_HOST's URL " + url},
		{"no machines", nil, "", "No active host found: no machine has DOCKER_HOST's URL " + url},
		{"the match is stopped", []activeLook{{name: "a", match: true, state: drivers.Stopped}}, "", `No active host found: DOCKER_HOST ` + url + ` is machine "a", which is Stopped`},
		{"the match failed", []activeLook{{name: "a", match: true, state: drivers.Error, err: errors.New("state of a: no route")}}, "", `No active host found: DOCKER_HOST ` + url + ` is machine "a" (state of a: no route)`},
		{"timeouts", []activeLook{{name: "b", err: errors.New("late"), timedOut: true}, {name: "a", err: errors.New("late"), timedOut: true}, {name: "c"}}, "", `No active host found: timeout: "a", "b" did not answer within 10s (raise it with --timeout)`},
		{"a broken machine is no timeout", []activeLook{{name: "a", err: errors.New("corrupt config")}}, "", "No active host found: no machine has DOCKER_HOST's URL " + url},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pickActive(tc.looks, url, 10*time.Second)
			if tc.err == "" {
				if err != nil || got != tc.want {
					t.Errorf("pickActive = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil || err.Error() != tc.err || !errors.Is(err, ErrNoActiveHost) {
				t.Errorf("pickActive = %q, %v; want the error %q wrapping ErrNoActiveHost", got, err, tc.err)
			}
		})
	}
}

// TestActiveWithSlowMachines: Active answers although machines hang (a
// driver that never starts, a config.json whose read blocks, a port that
// never answers): the machine DOCKER_HOST points at wins, and without one
// the hung machine is named as not answering in time.
func TestActiveWithSlowMachines(t *testing.T) {
	c := testClient(t, listStore(t, true))
	_, up, err := c.Endpoint(t.Context(), "a-up")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dockerHost, want, wantErr string
	}{
		{up.URL, "a-up", ""},
		{"tcp://192.0.2.1:2376", "", `timeout: "g-hung", "h-fifo" did not answer within 2s`},
	} {
		type answer struct {
			name string
			err  error
		}
		done := make(chan answer, 1)
		go func() {
			name, err := c.Active(t.Context(), tc.dockerHost, 2*time.Second)
			done <- answer{name, err}
		}()
		select {
		case a := <-done:
			if a.name != tc.want || (tc.wantErr == "") != (a.err == nil) || a.err != nil && !strings.Contains(a.err.Error(), tc.wantErr) {
				t.Errorf("Active(%s) = %q, %v; want %q, %q", tc.dockerHost, a.name, a.err, tc.want, tc.wantErr)
			}
		case <-time.After(time.Minute):
			t.Fatalf("Active(%s) did not return: a hung machine held it", tc.dockerHost)
		}
	}
}

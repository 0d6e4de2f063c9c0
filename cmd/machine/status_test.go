package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestUserErrors: mistakes on the command lines of status, active, env -u
// and the per-machine commands give one Error line, nothing on stdout, and
// exit 1.
func TestUserErrors(t *testing.T) {
	tests := []struct {
		name       string
		dockerHost string
		args       []string
		want       string
	}{
		{"status of a missing machine", "", []string{"status", "ghost"}, `machine "ghost" does not exist`},
		{"status of the missing default", "", []string{"status"}, `machine "default" does not exist`},
		{"status of two", "", []string{"status", "a", "b"}, "status takes one machine name, got 2: a b"},
		{"status with a zero timeout", "", []string{"status", "-t", "0", "a"}, "--timeout 0: give a number of seconds, at least 1"},
		{"status with a bad timeout", "", []string{"status", "--timeout", "soon", "a"}, "invalid value \"soon\" for flag -timeout"},
		{"active with a name", "", []string{"active", "n1"}, `active takes no machine name (it reads DOCKER_HOST), got ["n1"]`},
		{"active without DOCKER_HOST", "", []string{"active"}, "No active host found: DOCKER_HOST is not set"},
		{"active of no machine", "tcp://192.0.2.1:2376", []string{"active"}, "No active host found: no machine has DOCKER_HOST's URL tcp://192.0.2.1:2376"},
		{"active with a negative timeout", "tcp://192.0.2.1:2376", []string{"active", "-t", "-1"}, "--timeout -1: give a number of seconds, at least 1"},
		{"env -u with a name", "", []string{"env", "-u", "n1"}, "Expected no machine name when the -u flag is present: run `machine env -u` alone"},
		// Commands that report progress per machine refuse an unknown one
		// before they say they are working on it.
		{"upgrade of a missing machine", "", []string{"upgrade", "ghost"}, `machine "ghost" does not exist`},
		{"provision of a missing machine", "", []string{"provision", "ghost"}, `machine "ghost" does not exist`},
		{"stop of a missing machine", "", []string{"stop", "ghost"}, `machine "ghost" does not exist`},
		{"ip of a missing machine", "", []string{"ip", "ghost"}, `machine "ghost" does not exist`},
	}
	store := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("DOCKER_HOST", tc.dockerHost)
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"machine", "-s", store}, tc.args...), &stdout, &stderr)
			if code != 1 || stdout.Len() != 0 {
				t.Errorf("exit %d, stdout %q; want 1 and nothing", code, stdout.String())
			}
			if got := stderr.String(); strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, "Error: ") || !strings.Contains(got, tc.want) {
				t.Errorf("stderr = %q, want one Error line with %q", got, tc.want)
			}
		})
	}
}

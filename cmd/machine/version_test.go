package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestVersion: version prints machine's own version on stdout; with a name
// it is about that machine, and mistakes give one Error line.
func TestVersion(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		stdout string
		err    string
	}{
		{"command", []string{"version"}, "machine version " + version + "\n", ""},
		{"flag", []string{"--version"}, "machine version " + version + "\n", ""},
		{"missing machine", []string{"version", "ghost"}, "", `machine "ghost" does not exist`},
		{"two names", []string{"version", "a", "b"}, "", "version takes one machine name, got 2"},
	}
	store := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"machine", "-s", store}, tc.args...), &stdout, &stderr)
			if stdout.String() != tc.stdout {
				t.Errorf("stdout = %q, want %q", stdout.String(), tc.stdout)
			}
			if tc.err == "" {
				if code != 0 || stderr.Len() != 0 {
					t.Errorf("exit %d, stderr %q", code, stderr.String())
				}
				return
			}
			if code == 0 || strings.Count(stderr.String(), "\n") != 1 || !strings.HasPrefix(stderr.String(), "Error: ") || !strings.Contains(stderr.String(), tc.err) {
				t.Errorf("exit %d, stderr %q; want one Error line with %q", code, stderr.String(), tc.err)
			}
		})
	}
}

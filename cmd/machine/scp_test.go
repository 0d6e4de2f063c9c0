package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/machine-cli/machine/libmachine/transfer"
)

func TestProgressLine(t *testing.T) {
	tests := []struct {
		p       transfer.Progress
		elapsed time.Duration
		want    string
	}{
		{transfer.Progress{Path: "big", Size: 50 << 20, Done: 25 << 20}, time.Second, "big   50%  25.0MB  25.0MB/s"},
		{transfer.Progress{Path: "n1:/x", Size: 100, Done: 100}, 2 * time.Second, "n1:/x  100%  100B  50B/s"},
		{transfer.Progress{Path: "empty", Size: 0, Done: 0}, 0, "empty  100%  0B  -"},
		{transfer.Progress{Path: "g", Size: 3 << 30, Done: 3 << 30}, 10 * time.Second, "g  100%  3.0GB  307.2MB/s"},
	}
	for _, tc := range tests {
		if got := progressLine(tc.p, tc.elapsed); got != tc.want {
			t.Errorf("progressLine(%+v, %v) = %q, want %q", tc.p, tc.elapsed, got, tc.want)
		}
	}
}

// TestProgressMeterNotTerminal: without a terminal, one line per file, when
// it is done.
func TestProgressMeterNotTerminal(t *testing.T) {
	var buf bytes.Buffer
	m := newProgressMeter(&buf)
	for _, p := range []transfer.Progress{{Path: "a", Size: 10}, {Path: "a", Size: 10, Done: 5}, {Path: "a", Size: 10, Done: 10},
		{Path: "b", Size: 0}} {
		m.update(p)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "a  100%  10B") || !strings.HasPrefix(lines[1], "b  100%  0B") {
		t.Errorf("progress output %q, want a line for a and one for b", buf.String())
	}
}

// TestNativeSSHFlagShown: --native-ssh is in the global help, true by
// default, and says what false does.
func TestNativeSSHFlagShown(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"machine", "--help"}, &out, &errOut); code != 0 {
		t.Fatalf("--help: exit %d: %s", code, errOut.String())
	}
	help := out.String()
	i := strings.Index(help, "--native-ssh")
	if i < 0 {
		t.Fatalf("--native-ssh not in help:\n%s", help)
	}
	line, _, _ := strings.Cut(help[i:], "\n")
	for _, want := range []string{"false runs the system's ssh", "(default: true)", "$MACHINE_NATIVE_SSH"} {
		if !strings.Contains(line, want) {
			t.Errorf("--native-ssh help %q lacks %q", line, want)
		}
	}
}

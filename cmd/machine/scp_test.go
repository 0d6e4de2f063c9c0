package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/machine-cli/machine/libmachine/transfer"
)

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
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "a  100%  10 B") || !strings.HasPrefix(lines[1], "b  100%  0 B") {
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

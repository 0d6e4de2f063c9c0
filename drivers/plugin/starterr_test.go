//go:build unix

package plugin

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestLaunchNotAPlugin: an executable that speaks neither protocol, or
// ends while starting, or speaks another version of ours, is one line naming
// the file.
func TestLaunchNotAPlugin(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, script, want string
		// build, when set, is the package under testdata built as the
		// driver instead of script.
		build string
	}{
		{"garbage", "echo 'Usage: foo [options]'; exec sleep 60", `speaks neither machine's driver protocol nor docker-machine's: its first line on stdout was "Usage: foo [options]"`, ""},
		{"dies", "echo 'cannot find libvirt' >&2; exit 2", "ended while starting: cannot find libvirt", ""},
		{"silent", "exit 0", "ended while starting, printing nothing", ""},
		{"v2", "", "speaks driver plugin protocol 2; this machine speaks 1: install a build of the driver for protocol 1", "machine-driver-v2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, ExternalPrefix+tc.name)
			if tc.build != "" {
				path = buildDriver(t, tc.build)
			} else if err := os.WriteFile(path, []byte("#!/bin/sh\n"+tc.script+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(path)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			_, err := Launch(t.Context(), cmd, LaunchOptions{})
			if err == nil {
				t.Fatal("Launch succeeded")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.Contains(msg, path) || !strings.Contains(msg, tc.want) {
				t.Errorf("Launch error %q: want one line naming %s and containing %q", msg, path, tc.want)
			}
		})
	}
}

// TestRawStderr: of what a driver writes to its stderr descriptor itself
// (as go-plugin passes it on: a line, then its newline), notices reach the
// user and the last line is kept for a start error.
func TestRawStderr(t *testing.T) {
	for _, tc := range []struct {
		name        string
		writes      []string
		wantNotices string
		wantLast    string
	}{
		{"log lines", []string{`{"@level":"debug","@message":"starting"}`, "\n", "listening", "\n"}, "", "listening"},
		{"a notice", []string{noticePrefix + "open https://example.test/device and enter ABCD", "\n"}, "open https://example.test/device and enter ABCD\n", noticePrefix + "open https://example.test/device and enter ABCD"},
		{"notices among logs", []string{"a\n" + noticePrefix + "one\nb\n", noticePrefix + "two\r\n"}, "one\ntwo\n", noticePrefix + "two"},
		{"marker not at the start", []string{"x " + noticePrefix + "no", "\n"}, "", "x " + noticePrefix + "no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var notices strings.Builder
			last := &lastLine{}
			w := &rawStderr{last: last, notices: &notices}
			for _, s := range tc.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if notices.String() != tc.wantNotices || last.get() != tc.wantLast {
				t.Errorf("notices %q, last line %q; want %q, %q", notices.String(), last.get(), tc.wantNotices, tc.wantLast)
			}
		})
	}
	// Without a notices writer the notice is dropped, not a panic.
	if _, err := (&rawStderr{last: &lastLine{}}).Write([]byte(noticePrefix + "x\n")); err != nil {
		t.Error(err)
	}
}

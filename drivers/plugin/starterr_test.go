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
// ends while starting, is one line naming the file.
func TestLaunchNotAPlugin(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, script, want string
	}{
		{"garbage", "echo 'Usage: foo [options]'; exec sleep 60", `speaks neither machine's driver protocol nor docker-machine's: its first line on stdout was "Usage: foo [options]"`},
		{"dies", "echo 'cannot find libvirt' >&2; exit 2", "ended while starting: cannot find libvirt"},
		{"silent", "exit 0", "ended while starting, printing nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, ExternalPrefix+tc.name)
			if err := os.WriteFile(path, []byte("#!/bin/sh\n"+tc.script+"\n"), 0o755); err != nil {
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

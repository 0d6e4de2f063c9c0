//go:build unix

// Package fsutiltest has helpers for tests of file locking. BlockedOn reads
// Linux's /proc/locks.
package fsutiltest

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
)

// BlockedOn counts the flock(2) requests waiting for the file at path, from
// /proc/locks, where the kernel lists each blocked request as "->" under the
// lock it waits for.
func BlockedOn(t testing.TB, path string) int {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	ino := fmt.Sprintf(":%d", fi.Sys().(*syscall.Stat_t).Ino)
	data, err := os.ReadFile("/proc/locks")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		// 2: -> FLOCK  ADVISORY  WRITE 1234 fe:00:5678 0 EOF
		f := strings.Fields(line)
		if len(f) >= 7 && f[1] == "->" && f[2] == "FLOCK" && strings.HasSuffix(f[6], ino) {
			n++
		}
	}
	return n
}

// Package proctest tells tests whether a process still runs, from Linux's
// /proc: a zombie (ended, not yet reaped, as under a PID 1 that does not
// reap) counts as ended, which kill(pid, 0) cannot tell.
package proctest

import (
	"bytes"
	"os"
	"strconv"
)

// Running reports whether process pid runs: it is in /proc and not a
// zombie. Where there is no /proc it reports false.
func Running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may
	// itself hold ") ".
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z'
}

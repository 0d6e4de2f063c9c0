package vmready

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// BootError says that a VM did not come up, with the last lines of its
// serial console.
type BootError struct {
	Reason string   // what went wrong, one line
	Log    string   // the serial log's path
	Tail   []string // its last lines
}

// Error is the reason, then the serial log's tail, indented.
func (e *BootError) Error() string {
	if len(e.Tail) == 0 {
		return fmt.Sprintf("%s; the VM printed nothing on its serial console (%s)", e.Reason, e.Log)
	}
	return fmt.Sprintf("%s; last lines of its serial console (%s):\n    %s", e.Reason, e.Log, strings.Join(e.Tail, "\n    "))
}

// TailLines is how many serial log lines a BootError shows.
const TailLines = 20

// NewBootError is a BootError with the tail of the serial log at path.
func NewBootError(reason, path string) *BootError {
	return &BootError{Reason: reason, Log: path, Tail: SerialTail(path, TailLines)}
}

// bootStage is a step of a boot, recognised in the serial log.
type bootStage struct {
	name   string // shown on progress
	marker string // first text of this stage on the serial console; "" for the first
}

// bootStages are the steps a boot goes through before SSH answers.
var bootStages = []bootStage{
	{"firmware", ""},
	{"boot loader", "BdsDxe: starting"},
	{"kernel", "Linux version"},
	{"system", "systemd["},
}

// Stage is the last boot stage the serial log at path shows: "firmware"
// (nothing yet), "boot loader", "kernel" or "system".
func Stage(path string) string {
	log, _ := os.ReadFile(path)
	for i := len(bootStages) - 1; i > 0; i-- {
		if bytes.Contains(log, []byte(bootStages[i].marker)) {
			return bootStages[i].name
		}
	}
	return bootStages[0].name
}

// SerialTail is the last n non-empty lines of the serial log at path, with
// terminal control sequences removed.
func SerialTail(path string, n int) []string {
	data, _ := os.ReadFile(path)
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(stripControl(l)); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// stripControl drops ANSI escape sequences and other control characters
// that firmware and consoles write.
func stripControl(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0x1b { // ESC [ ... final byte in @..~
			if i+1 < len(s) && s[i+1] == '[' {
				i += 2
				for i < len(s) && (s[i] < '@' || s[i] > '~') {
					i++
				}
			}
			continue
		}
		if c < ' ' && c != '\t' {
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

package plugin

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// unrecognized starts go-plugin's report of a plugin whose first line on
// stdout is not its handshake (a line or nothing).
const unrecognized = "Unrecognized remote plugin message: "

// incompatible matches go-plugin's report of a plugin whose handshake names
// a protocol version the host does not speak, capturing that version.
var incompatible = regexp.MustCompile(`^incompatible API version with plugin\. Plugin version: (\d+),`)

// startError turns go-plugin's many-line report of an executable that did
// not complete the handshake into one line naming the file: it printed
// something else (it speaks neither our protocol nor docker-machine's, whose
// plugins are found as docker-machine-driver-NAME), or it ended first, with
// its last line on stderr; or it speaks another version of our protocol
// (each side's versions named). Other errors pass unchanged.
func startError(path string, err error, stderr *lastLine) error {
	first, _, _ := strings.Cut(err.Error(), "\n")
	if m := incompatible.FindStringSubmatch(first); m != nil {
		var ours []string
		for _, v := range slices.Sorted(maps.Keys(versionedPlugins(nil))) {
			ours = append(ours, strconv.Itoa(v))
		}
		return fmt.Errorf("%s speaks driver plugin protocol %s; this machine speaks %s: install a build of the driver for protocol %s",
			path, m[1], strings.Join(ours, ", "), strings.Join(ours, " or "))
	}
	got, ok := strings.CutPrefix(first, unrecognized)
	if !ok {
		return err
	}
	if got = strings.TrimSpace(got); got != "" {
		return fmt.Errorf("%s speaks neither machine's driver protocol nor docker-machine's: its first line on stdout was %q, not a go-plugin handshake", path, clip(got))
	}
	if l := stderr.get(); l != "" {
		return fmt.Errorf("driver plugin %s ended while starting: %s", path, clip(l))
	}
	return fmt.Errorf("driver plugin %s ended while starting, printing nothing", path)
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}

// lastLine is an io.Writer keeping the last non-empty line written.
type lastLine struct {
	mu   sync.Mutex
	line string
}

func (l *lastLine) Write(p []byte) (int, error) {
	for line := range strings.Lines(string(p)) {
		if line = strings.TrimSpace(line); line != "" {
			l.mu.Lock()
			l.line = line
			l.mu.Unlock()
		}
	}
	return len(p), nil
}

func (l *lastLine) get() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.line
}

// exitQuiet is go-plugin's logger with its "plugin process exited" error
// lowered to Debug: startError already says so, in one line.
type exitQuiet struct{ hclog.Logger }

// Error implements hclog.Logger.
func (q exitQuiet) Error(msg string, args ...any) {
	if msg == "plugin process exited" {
		q.Logger.Debug(msg, args...)
		return
	}
	q.Logger.Error(msg, args...)
}

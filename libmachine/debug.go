package libmachine

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/machine-cli/machine/provision"
)

// debugRunner logs each remote command (not its output, which may hold a
// secret such as a join token) with its duration, for --debug.
type debugRunner struct {
	provision.Runner
	name string
	w    io.Writer
}

// runner returns r, wrapped to log its commands when c.Debug is set.
func (c *Client) runner(name string, r provision.Runner) provision.Runner {
	if c.Debug == nil {
		return r
	}
	return &debugRunner{Runner: r, name: name, w: c.Debug}
}

func (d *debugRunner) log(what string, start time.Time, err error) {
	status := "ok"
	if err != nil {
		status = "error: " + firstLine(err.Error())
	}
	fmt.Fprintf(d.w, "[%s] ssh %s (%s, %s)\n", d.name, what, time.Since(start).Round(time.Millisecond), status)
}

// Output implements provision.Runner.
func (d *debugRunner) Output(ctx context.Context, cmd string) ([]byte, error) {
	start := time.Now()
	out, err := d.Runner.Output(ctx, cmd)
	d.log(summary(cmd), start, err)
	return out, err
}

// Run implements provision.Runner.
func (d *debugRunner) Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	start := time.Now()
	status, err := d.Runner.Run(ctx, cmd, stdin, stdout, stderr)
	if err == nil && status != 0 {
		err = fmt.Errorf("exit status %d", status)
	}
	d.log(summary(cmd), start, err)
	return status, err
}

// WriteFile implements provision.Runner; it logs the path and mode only.
func (d *debugRunner) WriteFile(ctx context.Context, path string, data []byte, mode os.FileMode) error {
	start := time.Now()
	err := d.Runner.WriteFile(ctx, path, data, mode)
	d.log(fmt.Sprintf("write %s (%d bytes, %#o)", path, len(data), mode), start, err)
	return err
}

// summary shortens a command to one line for the log.
func summary(cmd string) string {
	s := strings.Join(strings.Fields(cmd), " ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// debugf writes one line of detail for --debug, when c.Debug is set.
func (c *Client) debugf(format string, args ...any) {
	if c.Debug != nil {
		fmt.Fprintf(c.Debug, format+"\n", args...)
	}
}

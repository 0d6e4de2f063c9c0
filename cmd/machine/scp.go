package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/machine-cli/machine/libmachine"
	"github.com/machine-cli/machine/libmachine/transfer"
)

func scpCommand(env *cliEnv) *cli.Command {
	return &cli.Command{
		Name:      "scp",
		Usage:     "Copy files between this computer and machines, or between machines",
		ArgsUsage: "[[user@]machine:]PATH [[user@]machine:]PATH",
		Description: "Copies over SFTP as the machine's SSH user (or user@), with its key and recorded host key; " +
			"between two machines the data streams through this computer. A colon after a slash is part of a " +
			"local path (./a:b); \"localhost:path\" is local.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "recursive", Aliases: []string{"r"}, Usage: "Copy files recursively (required to copy directories)"},
			&cli.BoolFlag{Name: "delta", Aliases: []string{"d"}, Usage: "Reduce amount of data sent over network by sending only the differences (uses rsync over ssh, needed on both sides)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "Disables the progress meter as well as warning and diagnostic messages"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return fmt.Errorf("scp takes a source and a destination, got %d arguments; see `machine scp --help`", c.NArg())
			}
			api, err := env.machine(c)
			if err != nil {
				return err
			}
			opts := libmachine.CopyOptions{
				Recursive: c.Bool("recursive"),
				Delta:     c.Bool("delta"),
				Quiet:     c.Bool("quiet"),
				Output:    env.stderr,
			}
			if !opts.Quiet {
				opts.Progress = newProgressMeter(env.stderr).update
			}
			return api.Copy(c.Context, libmachine.ParseLocation(c.Args().Get(0)), libmachine.ParseLocation(c.Args().Get(1)), opts)
		},
	}
}

// progressMeter renders scp's progress on stderr: on a terminal, one line
// per file rewritten as it goes; otherwise one line per file when it is
// done.
type progressMeter struct {
	w        io.Writer
	terminal bool
	file     string
	start    time.Time
	last     time.Time
}

func newProgressMeter(w io.Writer) *progressMeter {
	f, ok := w.(*os.File)
	return &progressMeter{w: w, terminal: ok && term.IsTerminal(int(f.Fd()))}
}

// redraw is how often a terminal line is rewritten.
const redraw = 200 * time.Millisecond

func (p *progressMeter) update(pr transfer.Progress) {
	now := time.Now()
	if pr.Path != p.file || pr.Done == 0 {
		p.file, p.start, p.last = pr.Path, now, time.Time{}
	}
	finished := pr.Done >= pr.Size
	switch {
	case finished:
		p.print(pr, now, "\n")
	case p.terminal && now.Sub(p.last) >= redraw:
		p.last = now
		p.print(pr, now, "")
	}
}

func (p *progressMeter) print(pr transfer.Progress, now time.Time, end string) {
	prefix := ""
	if p.terminal {
		prefix = "\r\033[K"
	}
	fmt.Fprint(p.w, prefix+progressLine(pr, now.Sub(p.start))+end)
}

// progressLine is "PATH  PCT%  SIZE  RATE" for a file after elapsed.
func progressLine(pr transfer.Progress, elapsed time.Duration) string {
	pct := int64(100)
	if pr.Size > 0 {
		pct = pr.Done * 100 / pr.Size
	}
	rate := "-"
	if s := elapsed.Seconds(); s > 0 && pr.Done > 0 {
		rate = humanBytes(float64(pr.Done)/s) + "/s"
	}
	return fmt.Sprintf("%s  %3d%%  %s  %s", pr.Path, pct, humanBytes(float64(pr.Done)), rate)
}

// humanBytes gives n bytes in B, KB, MB or GB (powers of 1024, as scp).
func humanBytes(n float64) string {
	units := []string{"B", "KB", "MB", "GB", "TB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f%s", n, units[i])
	}
	return fmt.Sprintf("%.1f%s", n, units[i])
}

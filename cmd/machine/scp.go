package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/machine-cli/machine/internal/progress"
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

// progressMeter reports scp's progress on stderr, file by file: a bar
// per file on a terminal, otherwise a line per file when it is done.
type progressMeter struct {
	w    io.Writer
	file string
	bar  *progress.Bar
}

func newProgressMeter(w io.Writer) *progressMeter { return &progressMeter{w: w} }

func (p *progressMeter) update(pr transfer.Progress) {
	if p.bar == nil || pr.Path != p.file || pr.Done == 0 {
		p.file, p.bar = pr.Path, progress.New(p.w, pr.Path, pr.Size, progress.Options{Summary: true})
	}
	p.bar.Set(pr.Done)
	if pr.Done >= pr.Size {
		p.bar.Finish()
		p.bar = nil
	}
}

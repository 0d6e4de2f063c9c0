package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

func rmCommand(env *cliEnv) *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Usage:     "Remove machines",
		ArgsUsage: "NAME...",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "remove from the store even when the machine is broken or its driver fails"},
			&cli.BoolFlag{Name: "y", Usage: "assume yes: do not ask for confirmation"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return fmt.Errorf("rm needs at least one machine name; usage: machine rm [-f] [-y] NAME...")
			}
			api, err := env.machine(c)
			if err != nil {
				return err
			}
			list := c.Args().Slice()
			if !c.Bool("y") {
				ok, err := confirm(c.Context, env, list)
				if err != nil {
					return err
				}
				if !ok {
					return fmt.Errorf("not confirmed: nothing removed (pass -y to remove without asking)")
				}
			}
			return eachMachine(list, func(name string) error {
				if err := api.Remove(c.Context, name, c.Bool("force")); err != nil {
					return err
				}
				fmt.Fprintf(env.stderr, "Successfully removed %s\n", name)
				return nil
			})
		},
	}
}

// confirm asks before removing, as docker-machine does (see askYesNo).
func confirm(ctx context.Context, env *cliEnv, list []string) (bool, error) {
	fmt.Fprintf(env.stderr, "About to remove %s\nWARNING: This action will delete both local reference and remote instance.\n", strings.Join(list, ", "))
	return askYesNo(ctx, env, "nothing removed", "pass -y to remove without asking")
}

// askYesNo asks "Are you sure? (y/n)" on stderr and reads the answer from
// stdin, a terminal or not, so that `echo y | machine rm NAME` confirms. y
// or yes (any case) confirms; n, no or an empty line declines; anything else
// asks again. The end of stdin without an answer declines, with an error
// saying so. Its errors end with undone ("nothing removed") and, where the
// question could have been skipped, skip ("pass -y to remove without
// asking").
func askYesNo(ctx context.Context, env *cliEnv, undone, skip string) (bool, error) {
	in := bufio.NewReader(env.stdin)
	for {
		fmt.Fprint(env.stderr, "Are you sure? (y/n): ")
		var line string
		var err error
		select {
		case <-ctx.Done():
			// Ctrl-C or SIGTERM while waiting: the read cannot be stopped,
			// but the command can.
			fmt.Fprintln(env.stderr)
			return false, fmt.Errorf("interrupted: %s: %w", undone, ctx.Err())
		case a := <-readLine(in):
			line, err = a.line, a.err
		}
		// A terminal echoes the answer's newline; otherwise end the prompt's
		// line here so that what follows starts on a line of its own.
		if err != nil || !isTerminal(env.stdin) {
			fmt.Fprintln(env.stderr)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return false, fmt.Errorf("read the answer: %w", err)
		}
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
			return true, nil
		case "n", "no":
			return false, nil
		case "":
			if err != nil && line == "" {
				return false, fmt.Errorf("no answer on stdin: %s (%s)", undone, skip)
			}
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("answer %q is neither y nor n: %s", strings.TrimSpace(line), undone)
		}
		fmt.Fprintln(env.stderr, "Please answer y or n.")
	}
}

// answer is one line read from stdin, or the error that ended it.
type answer struct {
	line string
	err  error
}

// readLine reads one line from in in the background, so that the wait for
// it can be given up; the channel gets the answer once.
func readLine(in *bufio.Reader) <-chan answer {
	ch := make(chan answer, 1)
	go func() {
		line, err := in.ReadString('\n')
		ch <- answer{line, err}
	}()
	return ch
}

// isTerminal reports whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

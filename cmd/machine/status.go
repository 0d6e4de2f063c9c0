package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/libmachine"
)

// defaultStateTimeout is how many seconds status and active wait for a
// machine's answer, as docker-machine's active and ls.
const defaultStateTimeout = 10

// timeoutFlag is the --timeout/-t of status and active.
func timeoutFlag(what string) cli.Flag {
	return &cli.IntFlag{Name: "timeout", Aliases: []string{"t"}, Value: defaultStateTimeout, Usage: "seconds to wait for " + what}
}

// timeoutOf reads --timeout, which must be positive.
func timeoutOf(c *cli.Context) (time.Duration, error) {
	n := c.Int("timeout")
	if n < 1 {
		return 0, fmt.Errorf("--timeout %d: give a number of seconds, at least 1", n)
	}
	return time.Duration(n) * time.Second, nil
}

func statusCommand(env *cliEnv) *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "Print the state of a machine (Running, Paused, Saved, Stopped, Stopping, Starting, Error, Timeout)",
		ArgsUsage: "[NAME]",
		Flags:     []cli.Flag{timeoutFlag("the driver's answer; after it the state is Timeout")},
		Action: func(c *cli.Context) error {
			timeout, err := timeoutOf(c)
			if err != nil {
				return err
			}
			api, name, err := env.oneMachine(c)
			if err != nil {
				return err
			}
			start := time.Now()
			ctx, cancel := context.WithTimeout(c.Context, timeout)
			defer cancel()
			st, err := api.State(ctx, name)
			switch {
			case libmachine.IsNotExist(err):
				return err
			// The plugin's side of the call ends on the same deadline and
			// may cancel it a moment before ctx's own timer fires, as ls
			// allows for.
			case err != nil && c.Context.Err() == nil && (errors.Is(ctx.Err(), context.DeadlineExceeded) || time.Since(start) >= timeout):
				fmt.Fprintln(env.stdout, drivers.Timeout)
				return fmt.Errorf("the driver of %q did not say its state within %s (raise it with --timeout)", name, timeout)
			}
			if st != drivers.None {
				fmt.Fprintln(env.stdout, st)
			}
			return err
		},
	}
}

func activeCommand(env *cliEnv) *cli.Command {
	return &cli.Command{
		Name:  "active",
		Usage: "Print the name of the machine DOCKER_HOST points at",
		Flags: []cli.Flag{timeoutFlag("each machine's answer")},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("active takes no machine name (it reads DOCKER_HOST), got %q", c.Args().Slice())
			}
			timeout, err := timeoutOf(c)
			if err != nil {
				return err
			}
			api, err := env.machine(c)
			if err != nil {
				return err
			}
			name, err := api.Active(c.Context, os.Getenv("DOCKER_HOST"), timeout)
			if err != nil {
				return err
			}
			fmt.Fprintln(env.stdout, name)
			return nil
		},
	}
}

package main

import (
	"bufio"
	"errors"
	"fmt"
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
				ok, err := confirm(env, list)
				if err != nil {
					return err
				}
				if !ok {
					return fmt.Errorf("nothing removed")
				}
			}
			var errs []error
			for _, name := range list {
				if err := api.Remove(c.Context, name, c.Bool("force")); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(env.stderr, "Successfully removed %s\n", name)
			}
			return errors.Join(errs...)
		},
	}
}

// confirm asks on the terminal before removing; without a terminal it
// refuses and says to pass -y.
func confirm(env *cliEnv, list []string) (bool, error) {
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return false, fmt.Errorf("rm needs confirmation and stdin is not a terminal; pass -y to remove %s", strings.Join(list, ", "))
	}
	fmt.Fprintf(env.stderr, "About to remove %s\nWARNING: This action will delete both local reference and remote instance.\nAre you sure? (y/n): ", strings.Join(list, ", "))
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}

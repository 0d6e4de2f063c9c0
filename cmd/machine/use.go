package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/machine-cli/machine/libmachine/dockercontext"
)

func useCommand(env *cliEnv) *cli.Command {
	return &cli.Command{
		Name:      "use",
		Usage:     "Make a machine docker's current context (docker context use NAME); -u goes back to docker's default",
		ArgsUsage: "NAME | -u",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "unset", Aliases: []string{"u"}, Usage: "make docker's default context current again"},
		},
		Action: func(c *cli.Context) error {
			unset := c.Bool("unset")
			switch {
			case unset && c.NArg() > 0:
				return fmt.Errorf("use -u takes no machine name")
			case !unset && c.NArg() != 1:
				return fmt.Errorf("use takes one machine name, or -u to go back to docker's default context; usage: machine use NAME | machine use -u")
			}
			api, err := env.machine(c)
			if err != nil {
				return err
			}
			name := dockercontext.DefaultName
			if unset {
				if _, err := api.Unuse(); err != nil {
					return err
				}
			} else {
				name = c.Args().First()
				if err := api.Use(c.Context, name); err != nil {
					return err
				}
			}
			fmt.Fprintf(env.stderr, "Current docker context is now %q\n", name)
			// The docker CLI prefers these to the current context.
			if v := os.Getenv("DOCKER_CONTEXT"); v != "" && v != name {
				fmt.Fprintf(env.stderr, "warning: DOCKER_CONTEXT=%s overrides the current context; unset it (unset DOCKER_CONTEXT)\n", v)
			}
			if os.Getenv("DOCKER_HOST") != "" && !unset {
				fmt.Fprintln(env.stderr, "warning: DOCKER_HOST is set and overrides docker contexts; unset it with `eval $(machine env -u)`")
			}
			return nil
		},
	}
}

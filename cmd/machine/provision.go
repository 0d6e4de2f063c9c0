package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// provisionCommand provisions existing machines again (default: "default").
func provisionCommand(env *cliEnv) *cli.Command {
	return &cli.Command{
		Name:      "provision",
		Usage:     "Re-provision existing machines (a host that is as provisioning leaves it is not changed)",
		ArgsUsage: "[NAME...]",
		Action: func(c *cli.Context) error {
			api, err := env.machine(c)
			if err != nil {
				return err
			}
			return eachMachine(names(c), func(name string) error {
				fmt.Fprintf(env.stderr, "Provisioning %q...\n", name)
				if err := api.Provision(c.Context, name); err != nil {
					return err
				}
				fmt.Fprintf(env.stderr, "Machine %q was provisioned.\n", name)
				return nil
			})
		},
	}
}

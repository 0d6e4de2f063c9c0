package main

import (
	"github.com/urfave/cli/v2"

	"github.com/machine-cli/machine/libmachine"
)

// provisionCommand provisions existing machines again (default: "default").
func provisionCommand(env *cliEnv) *cli.Command {
	return &cli.Command{
		Name:      "provision",
		Usage:     "Re-provision existing machines (a host that is as provisioning leaves it is not changed)",
		ArgsUsage: "[NAME...]",
		Action: env.eachReported("Provisioning", "provisioned", func(c *cli.Context, api *libmachine.Client, name string) error {
			return api.Provision(c.Context, name)
		}),
	}
}

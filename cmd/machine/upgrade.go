package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/machine-cli/machine/libmachine"
	"github.com/machine-cli/machine/provision"
)

// upgradeCommand upgrades Docker on machines (default: "default") and
// prints, per machine, the version before and after.
func upgradeCommand(env *cliEnv) *cli.Command {
	return &cli.Command{
		Name:      "upgrade",
		Usage:     "Upgrade Docker on machines by the method that installed it",
		ArgsUsage: "[NAME...]",
		Action: env.eachNamed(func(c *cli.Context, api *libmachine.Client, name string) error {
			fmt.Fprintf(env.stderr, "Upgrading Docker on %q...\n", name)
			v, err := api.Upgrade(c.Context, name)
			if err != nil {
				return err
			}
			fmt.Fprintln(env.stdout, upgradeLine(name, v))
			return nil
		}),
	}
}

// upgradeLine is upgrade's line for one machine: "n1: docker.io 1.2 ->
// 1.3", "n1: docker.io 1.2 -> docker-ce 5:27.3.1" when the upgrade
// changed the package, or "n1: docker.io 1.2 is already the newest
// available".
func upgradeLine(name string, v provision.Versions) string {
	switch {
	case !v.Changed():
		return fmt.Sprintf("%s: %s is already the newest available", name, v.Old)
	case v.Old.Name == v.New.Name:
		return fmt.Sprintf("%s: %s -> %s", name, v.Old, v.New.Version)
	}
	return fmt.Sprintf("%s: %s -> %s", name, v.Old, v.New)
}

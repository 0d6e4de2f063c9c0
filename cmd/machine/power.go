package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/machine-cli/machine/libmachine"
)

// powerCommand is start, stop, restart or kill: the driver's operation on
// each machine named (default: "default"), as docker-machine's.
func powerCommand(env *cliEnv, op libmachine.PowerOp, usage, done string) *cli.Command {
	return &cli.Command{
		Name:      string(op),
		Usage:     usage,
		ArgsUsage: "[NAME...]",
		Action: func(c *cli.Context) error {
			api, err := env.machine(c)
			if err != nil {
				return err
			}
			return eachMachine(names(c), func(name string) error {
				fmt.Fprintf(env.stderr, "%s %q...\n", progressVerb[op], name)
				if err := api.Power(c.Context, name, op); err != nil {
					return err
				}
				fmt.Fprintf(env.stderr, "Machine %q was %s.\n", name, done)
				return nil
			})
		},
	}
}

var progressVerb = map[libmachine.PowerOp]string{
	libmachine.PowerStart: "Starting", libmachine.PowerStop: "Stopping",
	libmachine.PowerRestart: "Restarting", libmachine.PowerKill: "Killing",
}

func startCommand(env *cliEnv) *cli.Command {
	return powerCommand(env, libmachine.PowerStart, "Start machines", "started")
}

func stopCommand(env *cliEnv) *cli.Command {
	return powerCommand(env, libmachine.PowerStop, "Stop machines", "stopped")
}

func restartCommand(env *cliEnv) *cli.Command {
	return powerCommand(env, libmachine.PowerRestart, "Restart machines", "restarted")
}

func killCommand(env *cliEnv) *cli.Command {
	return powerCommand(env, libmachine.PowerKill, "Kill (power off) machines", "killed")
}

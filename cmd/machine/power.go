package main

import (
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
		Action: env.eachReported(progressVerb[op], done, func(c *cli.Context, api *libmachine.Client, name string) error {
			return api.Power(c.Context, name, op)
		}),
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

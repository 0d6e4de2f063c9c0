package main

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/machine-cli/machine/libmachine"
)

func ipCommand(env *cliEnv) *cli.Command {
	return &cli.Command{
		Name:      "ip",
		Usage:     "Print the IP address of machines",
		ArgsUsage: "[NAME...]",
		Action: env.eachNamed(func(c *cli.Context, api *libmachine.Client, name string) error {
			_, ep, err := api.Endpoint(c.Context, name)
			if err != nil {
				return err
			}
			fmt.Fprintln(env.stdout, ep.IP)
			return nil
		}),
	}
}

func urlCommand(env *cliEnv) *cli.Command {
	return &cli.Command{
		Name:      "url",
		Usage:     "Print the Docker URL of a machine",
		ArgsUsage: "[NAME]",
		Action: func(c *cli.Context) error {
			api, name, err := env.oneMachine(c)
			if err != nil {
				return err
			}
			_, ep, err := api.Endpoint(c.Context, name)
			if err != nil {
				return err
			}
			fmt.Fprintln(env.stdout, ep.URL)
			return nil
		},
	}
}

func versionCommand(env *cliEnv) *cli.Command {
	return &cli.Command{
		Name:      "version",
		Usage:     "Print the version of machine, or of Docker on a machine",
		ArgsUsage: "[NAME]",
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				fmt.Fprintf(env.stdout, "machine version %s\n", version)
				return nil
			}
			// As docker-machine's `version NAME`: the machine's Docker
			// server version.
			api, name, err := env.oneMachine(c)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context, dockerTimeout)
			defer cancel()
			cl, err := api.EngineByName(ctx, name)
			if err != nil {
				return err
			}
			defer cl.Close()
			v, err := cl.ServerVersion(ctx)
			if err != nil {
				return fmt.Errorf("docker version of %s: %w", name, err)
			}
			fmt.Fprintln(env.stdout, v.Version)
			return nil
		},
	}
}

// dockerTimeout bounds a command's wait for a machine's dockerd.
const dockerTimeout = 20 * time.Second

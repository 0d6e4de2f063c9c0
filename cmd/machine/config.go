package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func configCommand(env *cliEnv) *cli.Command {
	return &cli.Command{
		Name:      "config",
		Usage:     "Print the docker client flags for a machine",
		ArgsUsage: "[NAME]",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "swarm", Usage: "point at a manager of the machine's swarm"}},
		Action: func(c *cli.Context) error {
			api, name, ep, err := env.dockerTarget(c)
			if err != nil {
				return err
			}
			p := api.CertPaths(name)
			fmt.Fprintf(env.stdout, "--tlsverify\n--tlscacert=%q\n--tlscert=%q\n--tlskey=%q\n-H=%s\n", p.CACert, p.ClientCert, p.ClientKey, ep.URL)
			return nil
		},
	}
}

package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

func sshCommand(env *cliEnv) *cli.Command {
	return &cli.Command{
		Name:            "ssh",
		Usage:           "Log into a machine or run a command on it over SSH",
		ArgsUsage:       "NAME [COMMAND...]",
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			name := defaultMachine
			if len(args) > 0 {
				if args[0] == "--help" || args[0] == "-h" {
					// Not cli.ShowCommandHelp(c, "ssh"): inside a command it
					// looks "ssh" up among ssh's own subcommands.
					cli.HelpPrinter(c.App.Writer, cli.CommandHelpTemplate, c.Command)
					return nil
				}
				name, args = args[0], args[1:]
			}
			if len(args) > 0 && args[0] == "--" {
				args = args[1:]
			}
			api, err := env.machine(c)
			if err != nil {
				return err
			}
			client, err := api.SSHByName(c.Context, name)
			if err != nil {
				return err
			}
			defer client.Close()
			status, err := client.Interactive(c.Context, strings.Join(args, " "), os.Stdin, env.stdout, env.stderr)
			if err != nil {
				return fmt.Errorf("ssh %s: %w", name, err)
			}
			if status != 0 {
				return exitCode(status)
			}
			return nil
		},
	}
}

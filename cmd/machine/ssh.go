package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
)

func sshCommand(env *cliEnv) *cli.Command {
	return &cli.Command{
		Name:      "ssh",
		Usage:     "Log into a machine or run a command on it over SSH",
		ArgsUsage: "NAME [SSH-OPTIONS...] [--] [COMMAND...]",
		Description: "Without OpenSSH options, machine's own SSH client runs the command (or a login shell). " +
			"OpenSSH options after the name (-L 8080:localhost:80, -C, -o ...), or --native-ssh=false, run the " +
			"system's ssh with the machine's key, port and recorded host key, checked strictly; ~/.ssh/config " +
			"applies to the rest. The remote command's exit status is machine's.",
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
			api, err := env.machine(c)
			if err != nil {
				return err
			}
			withOptions := len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "--"
			if withOptions || !c.Bool("native-ssh") {
				cmd, err := api.SystemSSH(c.Context, name, args)
				if err != nil {
					return err
				}
				cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, env.stdout, env.stderr
				return systemSSHStatus(name, cmd.Run())
			}
			if len(args) > 0 && args[0] == "--" {
				args = args[1:]
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

// systemSSHStatus passes on the exit status of the system's ssh (the remote
// command's, or 255 for ssh's own failures, which ssh has explained on
// stderr); a signal that ended it is 128+N.
func systemSSHStatus(name string, err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return exitCode(128 + int(ws.Signal()))
		}
		return exitCode(ee.ExitCode())
	}
	if err != nil {
		return fmt.Errorf("ssh %s: %w", name, err)
	}
	return nil
}

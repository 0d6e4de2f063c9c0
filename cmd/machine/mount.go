package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/machine-cli/machine/libmachine"
)

func mountCommand(env *cliEnv) *cli.Command {
	return &cli.Command{
		Name:      "mount",
		Usage:     "Mount or unmount a directory from a machine with SSHFS",
		ArgsUsage: "[[user@]machine:]PATH [MOUNTPOINT]",
		Description: "Mounts PATH of the machine (\"default\" when no machine is named) on MOUNTPOINT, which defaults to " +
			"PATH, with sshfs over ssh with the machine's key and recorded host key. -u unmounts MOUNTPOINT.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "unmount", Aliases: []string{"u"}, Usage: "Unmount instead of mount"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 || c.NArg() > 2 {
				return fmt.Errorf("mount takes [machine:]PATH and an optional mount point, got %d arguments; see `machine mount --help`", c.NArg())
			}
			src := libmachine.ParseMountSource(c.Args().Get(0))
			dir := src.Path
			if c.NArg() == 2 {
				dir = c.Args().Get(1)
			}
			if dir == "" {
				return fmt.Errorf("mount %s: no mount point: give one after the source", c.Args().Get(0))
			}
			if c.Bool("unmount") {
				return libmachine.Unmount(c.Context, dir)
			}
			api, err := env.machine(c)
			if err != nil {
				return err
			}
			return api.Mount(c.Context, src, dir)
		},
	}
}

package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/machine-cli/machine/libmachine"
)

// swarmFlags are the swarm-mode flags of create, also used (without the
// prefix's init/join parts) by `machine swarm`.
func swarmCreateFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "swarm-init", Usage: "start a swarm-mode cluster on this machine"},
		&cli.StringFlag{Name: "swarm-join", Usage: "join the swarm that machine `NAME` is in"},
		&cli.BoolFlag{Name: "swarm-manager", Usage: "join as a manager (with --swarm-join)"},
		&cli.StringFlag{Name: "swarm-advertise-addr", Usage: "address to advertise to the swarm (default: the private IP)"},
		&cli.StringFlag{Name: "swarm-listen-addr", Usage: "swarm listen address (default 0.0.0.0:2377)"},
		&cli.StringSliceFlag{Name: "swarm-default-addr-pool", Usage: "address pool `CIDR` for the swarm's networks (with --swarm-init)"},
		&cli.StringSliceFlag{Name: "swarm-label", Usage: "node label `KEY=VALUE`"},
	}
}

// legacySwarmFlags are docker-machine's standalone-swarm flags: recognised
// so that they get a clear answer, not "flag provided but not defined".
var legacySwarmFlags = []string{"swarm", "swarm-master", "swarm-discovery", "swarm-strategy", "swarm-opt",
	"swarm-host", "swarm-addr", "swarm-image", "swarm-experimental", "swarm-join-opt"}

func legacySwarmCLIFlags() []cli.Flag {
	var out []cli.Flag
	for _, n := range legacySwarmFlags {
		switch n {
		case "swarm", "swarm-master", "swarm-experimental":
			out = append(out, &cli.BoolFlag{Name: n, Hidden: true})
		case "swarm-opt", "swarm-join-opt":
			out = append(out, &cli.StringSliceFlag{Name: n, Hidden: true})
		default:
			out = append(out, &cli.StringFlag{Name: n, Hidden: true})
		}
	}
	return out
}

// checkLegacySwarm answers docker-machine's standalone-swarm flags.
func checkLegacySwarm(c *cli.Context) error {
	for _, n := range legacySwarmFlags {
		if c.IsSet(n) {
			return fmt.Errorf("--%s belongs to docker-machine's old standalone swarm, which machine does not run; for swarm mode use --swarm-init on the first machine and --swarm-join NAME [--swarm-manager] on the others", n)
		}
	}
	return nil
}

// swarmOptions reads the swarm-mode flags.
func swarmOptions(c *cli.Context) libmachine.SwarmOptions {
	return libmachine.SwarmOptions{
		Init:            c.Bool("swarm-init"),
		Join:            c.String("swarm-join"),
		Manager:         c.Bool("swarm-manager"),
		AdvertiseAddr:   c.String("swarm-advertise-addr"),
		ListenAddr:      c.String("swarm-listen-addr"),
		DefaultAddrPool: c.StringSlice("swarm-default-addr-pool"),
		Labels:          c.StringSlice("swarm-label"),
	}
}

func swarmCommand(env *cliEnv) *cli.Command {
	common := func() []cli.Flag {
		return []cli.Flag{
			&cli.StringFlag{Name: "swarm-advertise-addr", Aliases: []string{"advertise-addr"}, Usage: "address to advertise (default: the private IP)"},
			&cli.StringFlag{Name: "swarm-listen-addr", Aliases: []string{"listen-addr"}, Usage: "swarm listen address (default 0.0.0.0:2377)"},
			&cli.StringSliceFlag{Name: "swarm-label", Aliases: []string{"label"}, Usage: "node label `KEY=VALUE`"},
		}
	}
	up := func(c *cli.Context, name string, o libmachine.SwarmOptions) error {
		api, err := env.machine(c)
		if err != nil {
			return err
		}
		return api.JoinSwarm(c.Context, name, o)
	}
	return &cli.Command{
		Name:  "swarm",
		Usage: "Manage swarm-mode clusters of machines",
		Subcommands: []*cli.Command{
			{
				Name:      "init",
				Usage:     "Start a swarm on a machine",
				ArgsUsage: "NAME",
				Flags: append(common(),
					&cli.StringSliceFlag{Name: "swarm-default-addr-pool", Aliases: []string{"default-addr-pool"}, Usage: "address pool `CIDR`"}),
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return fmt.Errorf("usage: machine swarm init [flags] NAME")
					}
					o := swarmOptions(c)
					o.Init = true
					return up(c, c.Args().First(), o)
				},
			},
			{
				Name:      "join",
				Usage:     "Join a machine to the swarm another machine is in",
				ArgsUsage: "SWARM-MACHINE NAME",
				Flags:     append(common(), &cli.BoolFlag{Name: "swarm-manager", Aliases: []string{"manager"}, Usage: "join as a manager"}),
				Action: func(c *cli.Context) error {
					if c.NArg() != 2 {
						return fmt.Errorf("usage: machine swarm join [--manager] SWARM-MACHINE NAME")
					}
					o := swarmOptions(c)
					o.Join = c.Args().Get(0)
					name := c.Args().Get(1)
					if o.Join == name {
						return fmt.Errorf("a machine cannot join its own swarm")
					}
					return up(c, name, o)
				},
			},
			{
				Name:      "leave",
				Usage:     "Take a machine out of its swarm (drain, leave, remove the node)",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "also the last manager of a swarm with other nodes"}},
				Action: func(c *cli.Context) error {
					api, name, err := env.oneMachine(c)
					if err != nil {
						return err
					}
					return api.LeaveSwarm(c.Context, name, c.Bool("force"))
				},
			},
			{
				Name:      "ls",
				Usage:     "List the nodes of the swarm a machine is in",
				ArgsUsage: "NAME",
				Action: func(c *cli.Context) error {
					api, name, err := env.oneMachine(c)
					if err != nil {
						return err
					}
					nodes, err := api.SwarmNodes(c.Context, name)
					if err != nil {
						return err
					}
					tw := tabwriter.NewWriter(env.stdout, 5, 1, 3, ' ', 0)
					fmt.Fprintln(tw, "MACHINE\tNODE ID\tHOSTNAME\tROLE\tSTATUS\tAVAILABILITY\tMANAGER STATUS\tADDRESS")
					for _, n := range nodes {
						fmt.Fprintln(tw, strings.Join([]string{dash(n.Machine), n.ID, n.Hostname, n.Role, n.Status, n.Availability, n.ManagerStatus, n.Addr}, "\t"))
					}
					return tw.Flush()
				},
			},
		},
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/libmachine"
	"github.com/machine-cli/machine/libmachine/host"
)

func createCommand(env *cliEnv) *cli.Command {
	cmd := &cli.Command{
		Name:      "create",
		Usage:     "Create a machine",
		ArgsUsage: "NAME",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "driver", Aliases: []string{"d"}, Usage: "driver to create the machine with", EnvVars: []string{"MACHINE_DRIVER"}},
			&cli.StringFlag{Name: "engine-install-url", Usage: "URL of a Docker install script, \"distro\" for the OS's own packages, or \"none\" to skip", Value: libmachine.DefaultInstallURL, EnvVars: []string{"MACHINE_DOCKER_INSTALL_URL"}},
			&cli.StringSliceFlag{Name: "engine-opt", Usage: "dockerd flag as `key=value` (rendered --key=value)"},
			&cli.StringSliceFlag{Name: "engine-insecure-registry", Usage: "insecure registry for dockerd"},
			&cli.StringSliceFlag{Name: "engine-registry-mirror", Usage: "registry mirror for dockerd [$" + envRegistryMirror + "]"},
			&cli.StringSliceFlag{Name: "engine-label", Usage: "label for dockerd"},
			&cli.StringFlag{Name: "engine-storage-driver", Usage: "storage driver for dockerd"},
			&cli.StringSliceFlag{Name: "engine-env", Usage: "environment variable `KEY=VALUE` for dockerd"},
			&cli.StringSliceFlag{Name: "tls-san", Usage: "extra name or address for the machine's server certificate"},
			&cli.StringFlag{Name: "ssh-host-key", Usage: "the host's SSH public key (\"ssh-ed25519 AAAA...\" or a file holding it); default: trust the key seen on first connection"},
		},
		Action: func(c *cli.Context) error {
			if err := checkLegacySwarm(c); err != nil {
				return err
			}
			if c.NArg() != 1 {
				return fmt.Errorf("create takes one machine name, got %d; usage: machine create -d DRIVER [flags] NAME", c.NArg())
			}
			name := c.Args().First()
			if err := host.ValidateNewName(name); err != nil {
				return err
			}
			driverName := c.String("driver")
			if driverName == "" {
				return fmt.Errorf("no driver given; choose one with -d (built in: %s)", strings.Join(builtinNames(), ", "))
			}
			api, err := env.machine(c)
			if err != nil {
				return err
			}
			flags, err := env.driverFlags(c.Context, c, driverName)
			if err != nil {
				return err
			}
			hostKey, err := readHostKey(c.String("ssh-host-key"))
			if err != nil {
				return err
			}
			opts := libmachine.CreateOptions{
				Name:          name,
				DriverName:    driverName,
				DriverOptions: driverOptions(c, flags),
				HostKey:       hostKey,
				Swarm:         swarmOptions(c),
				TLSSANs:       c.StringSlice("tls-san"),
				Engine: host.EngineOptions{
					ArbitraryFlags:   c.StringSlice("engine-opt"),
					InsecureRegistry: c.StringSlice("engine-insecure-registry"),
					RegistryMirror:   listFlag(c, "engine-registry-mirror", envRegistryMirror),
					Labels:           c.StringSlice("engine-label"),
					StorageDriver:    c.String("engine-storage-driver"),
					Env:              c.StringSlice("engine-env"),
					InstallURL:       c.String("engine-install-url"),
				},
			}
			if _, err := api.Create(c.Context, opts); err != nil {
				return err
			}
			fmt.Fprintf(env.stderr, "To point your Docker client at it, run: eval $(machine env %s)\n", name)
			return nil
		},
	}
	cmd.Flags = append(cmd.Flags, swarmCreateFlags()...)
	cmd.Flags = append(cmd.Flags, legacySwarmCLIFlags()...)
	return cmd
}

// envRegistryMirror is docker-machine's variable for --engine-registry-mirror.
// It is read by listFlag, which splits it on commas as docker-machine does:
// the app takes list flag values whole.
const envRegistryMirror = "ENGINE_REGISTRY_MIRROR"

// listFlag returns the values of list flag name, or, when it is not on the
// command line, those of environment variable envVar split on commas (as
// docker-machine's flags split theirs).
func listFlag(c *cli.Context, name, envVar string) []string {
	if v := os.Getenv(envVar); envVar != "" && v != "" && !c.IsSet(name) {
		var list []string
		for _, s := range strings.Split(v, ",") {
			list = append(list, strings.TrimSpace(s))
		}
		return list
	}
	return c.StringSlice(name)
}

// readHostKey accepts a public key line or the path of a file holding one.
func readHostKey(v string) (string, error) {
	if v == "" || strings.HasPrefix(v, "ssh-") || strings.HasPrefix(v, "ecdsa-") {
		return v, nil
	}
	b, err := os.ReadFile(v)
	if err != nil {
		return "", fmt.Errorf("--ssh-host-key: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// builtinNames lists the built-in drivers, sorted.
func builtinNames() []string {
	return slices.Sorted(maps.Keys(builtinDrivers))
}

// driverFlagsCache holds the flags of the driver named on the command line,
// fetched once from its plugin.
type driverFlagsCache struct {
	name  string
	flags []drivers.Flag
}

// driverFlags returns the create flags of a driver, asking its plugin.
func (e *cliEnv) driverFlags(ctx context.Context, c *cli.Context, name string) ([]drivers.Flag, error) {
	if e.flags != nil && e.flags.name == name {
		return e.flags.flags, nil
	}
	api, err := e.machine(c)
	if err != nil {
		return nil, err
	}
	d, err := api.Plugins.Driver(ctx, name, []byte("{}"))
	if err != nil {
		return nil, err
	}
	fl, err := d.GetCreateFlags(ctx)
	if err != nil {
		return nil, fmt.Errorf("driver %q: flags: %w", name, err)
	}
	e.flags = &driverFlagsCache{name: name, flags: fl}
	return fl, nil
}

// addDriverFlags adds the flags of the driver named by -d to the create
// command before the command line is parsed, as docker-machine does.
func (e *cliEnv) addDriverFlags(ctx context.Context, app *cli.App, args []string) error {
	name, ok := scanDriver(args)
	if !ok {
		return nil
	}
	var create *cli.Command
	for _, cmd := range app.Commands {
		if cmd.Name == "create" {
			create = cmd
		}
	}
	// Parse the global flags alone to learn the store and debug settings.
	var flags []drivers.Flag
	probe := &cli.App{
		Flags:  app.Flags,
		Writer: e.stderr, ErrWriter: e.stderr,
		Action: func(c *cli.Context) error {
			var err error
			flags, err = e.driverFlags(ctx, c, name)
			return err
		},
	}
	globals := globalArgs(args)
	if err := probe.RunContext(ctx, globals); err != nil {
		return err
	}
	for _, f := range flags {
		create.Flags = append(create.Flags, cliFlag(f))
	}
	return nil
}

// globalArgs returns args up to (not including) the command name.
func globalArgs(args []string) []string {
	out := []string{args[0]}
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "create" {
			break
		}
		out = append(out, a)
	}
	return out
}

// scanDriver finds the driver of a create command line (-d, --driver or
// MACHINE_DRIVER) without parsing it fully.
func scanDriver(args []string) (string, bool) {
	i := 1
	for ; i < len(args) && args[i] != "create"; i++ {
	}
	if i == len(args) {
		return "", false
	}
	for j := i + 1; j < len(args); j++ {
		a := args[j]
		switch {
		case a == "--":
			j = len(args)
		case a == "-d" || a == "--driver" || a == "-driver":
			if j+1 < len(args) {
				return args[j+1], true
			}
		case strings.HasPrefix(a, "-d="), strings.HasPrefix(a, "--driver="), strings.HasPrefix(a, "-driver="):
			return a[strings.Index(a, "=")+1:], true
		}
	}
	if d := os.Getenv("MACHINE_DRIVER"); d != "" {
		return d, true
	}
	return "", false
}

// cliFlag turns a driver flag into a urfave/cli flag.
func cliFlag(f drivers.Flag) cli.Flag {
	var envs []string
	if f.EnvVar != "" {
		envs = []string{f.EnvVar}
	}
	switch f.Kind {
	case drivers.FlagInt:
		n, _ := strconv.Atoi(f.Default)
		return &cli.IntFlag{Name: f.Name, Usage: f.Usage, EnvVars: envs, Value: n}
	case drivers.FlagBool:
		return &cli.BoolFlag{Name: f.Name, Usage: f.Usage, EnvVars: envs}
	case drivers.FlagStringSlice:
		// Its variable is read by driverOptions, which splits it on commas:
		// the app takes flag values whole.
		usage := f.Usage
		if f.EnvVar != "" {
			usage += " [$" + f.EnvVar + "]"
		}
		return &cli.StringSliceFlag{Name: f.Name, Usage: usage, Value: cli.NewStringSlice(f.DefaultSlice...)}
	default:
		return &cli.StringFlag{Name: f.Name, Usage: f.Usage, EnvVars: envs, Value: f.Default}
	}
}

// driverOptions collects the values of the driver's flags. A list flag not
// given on the command line takes its environment variable split on commas,
// as docker-machine's.
func driverOptions(c *cli.Context, flags []drivers.Flag) drivers.Options {
	o := drivers.Options{}
	for _, f := range flags {
		switch f.Kind {
		case drivers.FlagInt:
			o[f.Name] = c.Int(f.Name)
		case drivers.FlagBool:
			o[f.Name] = c.Bool(f.Name)
		case drivers.FlagStringSlice:
			o[f.Name] = listFlag(c, f.Name, f.EnvVar)
		default:
			o[f.Name] = c.String(f.Name)
		}
	}
	return o
}

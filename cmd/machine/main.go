// Command machine creates Docker hosts and points the docker client at them
// over mutual TLS.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/urfave/cli/v2"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/drivers/azure"
	"github.com/machine-cli/machine/drivers/generic"
	"github.com/machine-cli/machine/drivers/legacy"
	"github.com/machine-cli/machine/drivers/plugin"
	"github.com/machine-cli/machine/drivers/qemu"
	"github.com/machine-cli/machine/drivers/virtualbox"
	"github.com/machine-cli/machine/libmachine"
	"github.com/machine-cli/machine/libmachine/dockercontext"
	"github.com/machine-cli/machine/libmachine/store"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// builtinDrivers are the drivers this binary serves itself.
var builtinDrivers = map[string]func() drivers.Driver{
	"azure":      azure.New,
	"generic":    generic.New,
	"qemu":       qemu.NewDriver,
	"virtualbox": virtualbox.NewDriver,
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == libmachine.DriverCommand {
		f, ok := builtinDrivers[os.Args[2]]
		if !ok {
			fmt.Fprintf(os.Stderr, "machine: no built-in driver %q\n", os.Args[2])
			os.Exit(1)
		}
		plugin.Serve(f)
		return
	}
	if len(os.Args) == 3 && os.Args[1] == legacy.GuardCommand {
		os.Exit(legacy.RunGuard(os.Args[2]))
	}
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run executes one command line, reading the process's stdin, and returns
// the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	return runWith(args, os.Stdin, stdout, stderr)
}

// runWith executes one command line with the given stdin and returns the
// exit status.
func runWith(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	completing := isCompletion(args)
	if completing {
		if args = completionArgs(args); args == nil {
			return 0
		}
	}
	env := &cliEnv{stdin: stdin, stdout: stdout, stderr: stderr, args: args}
	defer env.close()
	app := newApp(env)
	if err := env.addDriverFlags(ctx, app, args); err != nil && !completing {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	err := app.RunContext(ctx, args)
	if err == nil && env.notFound != nil {
		err = env.notFound
	}
	if err != nil {
		if code, ok := err.(exitCode); ok {
			return int(code)
		}
		fmt.Fprintln(stderr, "Error:", oneLine(err.Error()))
		return 1
	}
	return 0
}

// exitCode is returned by commands (ssh) that pass on a remote exit status
// without a message.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// cliEnv is the state one command line shares between its parts.
type cliEnv struct {
	// stdin is where rm reads its answer: os.Stdin but in tests.
	stdin          io.Reader
	stdout, stderr io.Writer
	// args is the command line as typed.
	args   []string
	client *libmachine.Client
	flags  *driverFlagsCache
	// notFound is set when the command line names no command of ours.
	notFound error
}

// machine returns the libmachine client for the store the flags chose.
func (e *cliEnv) machine(c *cli.Context) (*libmachine.Client, error) {
	if e.client != nil {
		return e.client, nil
	}
	root, err := store.ResolveRoot(c.String("storage-path"), os.Getenv)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the machine binary: %w", err)
	}
	tls, err := tlsPaths(c)
	if err != nil {
		return nil, err
	}
	level := hclog.Error
	if c.Bool("debug") {
		level = hclog.Debug
	}
	e.client = &libmachine.Client{
		Store: store.New(root),
		Plugins: &libmachine.Plugins{
			Self:     self,
			Builtins: builtinNames(),
			Logger:   hclog.New(&hclog.LoggerOptions{Name: "driver", Output: e.stderr, Level: level}),
			Notices:  e.stderr,
		},
		Log: e.stderr,
		TLS: tls,
	}
	if c.Bool("debug") {
		e.client.Debug = e.stderr
	}
	// Without a home directory, machines are not registered as docker
	// contexts, and `use` says why.
	if dir, err := dockercontext.ConfigDir(os.Getenv); err == nil {
		e.client.Contexts = dockercontext.New(dir)
	}
	return e.client, nil
}

func (e *cliEnv) close() {
	if e.client != nil {
		e.client.Plugins.Close()
	}
}

func newApp(env *cliEnv) *cli.App {
	app := &cli.App{
		Name:                 "machine",
		Usage:                "Create and manage machines running Docker",
		Version:              version,
		Writer:               env.stdout,
		ErrWriter:            env.stderr,
		EnableBashCompletion: true,
		// A repeatable flag takes each value whole, as docker-machine's:
		// --engine-env NO_PROXY=a,b is one variable, not "NO_PROXY=a" and
		// "b". (Driver flags from the environment are split on commas by
		// driverOptions, as docker-machine splits them.)
		DisableSliceFlagSeparator: true,
		HideVersion:               false,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "storage-path", Aliases: []string{"s"}, Usage: "configures storage path", EnvVars: []string{"MACHINE_STORAGE_PATH"}},
			&cli.BoolFlag{Name: "debug", Aliases: []string{"D"}, Usage: "enable debug mode", EnvVars: []string{"MACHINE_DEBUG"}},
			&cli.BoolFlag{Name: "native-ssh", Value: true, EnvVars: []string{"MACHINE_NATIVE_SSH"},
				Usage: "use machine's own SSH client for the ssh command; false runs the system's ssh instead (with the machine's key, port and recorded host key, so ~/.ssh/config applies), as ssh does whenever OpenSSH options follow the machine's name"},
			// docker-machine's tokens for its GitHub release look-ups and its
			// crash reports, neither of which machine makes: accepted so that
			// scripts keep working.
			&cli.StringFlag{Name: "github-api-token", Usage: "does nothing (docker-machine's GitHub API token, accepted for old scripts)", EnvVars: []string{"MACHINE_GITHUB_API_TOKEN"}},
			&cli.StringFlag{Name: "bugsnag-api-token", Usage: "does nothing (docker-machine's crash-report token, accepted for old scripts)", EnvVars: []string{"MACHINE_BUGSNAG_API_TOKEN"}},
		},
		Commands: []*cli.Command{
			activeCommand(env),
			completionCommand(env),
			createCommand(env),
			configCommand(env),
			envCommand(env),
			inspectCommand(env),
			ipCommand(env),
			killCommand(env),
			lsCommand(env),
			mountCommand(env),
			provisionCommand(env),
			regenerateCertsCommand(env),
			restartCommand(env),
			rmCommand(env),
			scpCommand(env),
			sshCommand(env),
			startCommand(env),
			statusCommand(env),
			stopCommand(env),
			swarmCommand(env),
			upgradeCommand(env),
			urlCommand(env),
			useCommand(env),
			versionCommand(env),
		},
		OnUsageError: usageError,
		// Recorded for runWith to report: exiting here would end a test
		// that runs commands in-process.
		CommandNotFound: func(c *cli.Context, name string) {
			if parent := c.Command; parent != nil && parent.Name != "" && parent.Name != c.App.Name && parent.Name != "help" {
				env.notFound = fmt.Errorf("%q is not a %q subcommand; see `machine %s --help`", name, parent.Name, parent.Name)
				return
			}
			env.notFound = fmt.Errorf("%q is not a machine command; see `machine --help`", name)
		},
	}
	app.Flags = append(app.Flags, tlsFlags()...)
	for _, cmd := range app.Commands {
		cmd.OnUsageError = usageError
	}
	env.setCompletion(app)
	return app
}

// usageError turns flag parsing errors into one line.
func usageError(c *cli.Context, err error, _ bool) error {
	name := c.Command.Name
	if name == "" {
		return fmt.Errorf("%v; see `machine --help`", err)
	}
	return fmt.Errorf("%v; see `machine %s --help`", err, name)
}

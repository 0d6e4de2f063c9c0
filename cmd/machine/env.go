package main

import (
	"errors"
	"net/url"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/libmachine"
	"github.com/machine-cli/machine/libmachine/shell"
)

// errUnsetWithName refuses `env -u NAME` in docker-machine's words.
var errUnsetWithName = errors.New("Expected no machine name when the -u flag is present: run `machine env -u` alone") //nolint:staticcheck // docker-machine's words

func envCommand(env *cliEnv) *cli.Command {
	return &cli.Command{
		Name:      "env",
		Usage:     "Print the commands that point the docker client at a machine",
		ArgsUsage: "[NAME]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "shell", Usage: "shell to print for: " + strings.Join(shell.Names(), ", ") + " (default: detected)"},
			&cli.BoolFlag{Name: "unset", Aliases: []string{"u"}, Usage: "print the commands that unset the variables"},
			&cli.BoolFlag{Name: "no-proxy", Usage: "add the machine's IP to NO_PROXY"},
			&cli.BoolFlag{Name: "swarm", Usage: "point at a manager of the machine's swarm"},
		},
		Action: func(c *cli.Context) error {
			shName := c.String("shell")
			if shName == "" {
				shName = shell.Detect(os.Getenv)
			}
			sh, err := shell.Get(shName)
			if err != nil {
				return err
			}
			// The hint repeats the command line as typed, as docker-machine
			// does, so that -s STORE and --shell carry over.
			hint := env.args
			names := []string{"DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_MACHINE_NAME"}
			if c.Bool("unset") {
				if c.NArg() > 0 {
					return errUnsetWithName
				}
				vars := make([]shell.Var, 0, len(names)+1)
				for _, n := range names {
					vars = append(vars, shell.Var{Name: n})
				}
				if c.Bool("no-proxy") {
					vars = append(vars, shell.Var{Name: "NO_PROXY"})
				}
				return shell.Render(env.stdout, sh, vars, true, hint)
			}
			api, name, ep, err := env.dockerTarget(c)
			if err != nil {
				return err
			}
			u := ep.URL
			vars := []shell.Var{
				{Name: "DOCKER_TLS_VERIFY", Value: "1"},
				{Name: "DOCKER_HOST", Value: u},
				{Name: "DOCKER_CERT_PATH", Value: api.CertPaths(name).Dir},
				{Name: "DOCKER_MACHINE_NAME", Value: name},
			}
			if c.Bool("no-proxy") {
				vars = append(vars, shell.Var{Name: "NO_PROXY", Value: noProxy(u)})
			}
			return shell.Render(env.stdout, sh, vars, false, hint)
		},
	}
}

// dockerTarget returns the machine a command that points docker at one
// names ("default" when none), or with --swarm a manager of its swarm: the
// libmachine client, the machine's name and its Docker endpoint.
func (e *cliEnv) dockerTarget(c *cli.Context) (*libmachine.Client, string, drivers.Endpoint, error) {
	api, name, err := e.oneMachine(c)
	if err != nil {
		return nil, "", drivers.Endpoint{}, err
	}
	if c.Bool("swarm") {
		m, err := api.SwarmManager(c.Context, name)
		if err != nil {
			return nil, "", drivers.Endpoint{}, err
		}
		name = m.Name
	}
	_, ep, err := api.DockerEndpoint(c.Context, name)
	if err != nil {
		return nil, "", drivers.Endpoint{}, err
	}
	return api, name, ep, nil
}

// noProxy returns NO_PROXY (or no_proxy) with the Docker URL's host added.
func noProxy(dockerURL string) string {
	host := dockerURL
	if u, err := url.Parse(dockerURL); err == nil {
		host = u.Hostname()
	}
	cur := os.Getenv("NO_PROXY")
	if cur == "" {
		cur = os.Getenv("no_proxy")
	}
	for _, h := range strings.Split(cur, ",") {
		if h == host {
			return cur
		}
	}
	if cur == "" {
		return host
	}
	return cur + "," + host
}

package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/machine-cli/machine/libmachine"
)

// defaultMachine is the name commands use when none is given, as in
// docker-machine.
const defaultMachine = "default"

// oneName returns the single machine name a command takes, or "default".
func oneName(c *cli.Context) (string, error) {
	switch c.NArg() {
	case 0:
		return defaultMachine, nil
	case 1:
		return c.Args().First(), nil
	default:
		return "", fmt.Errorf("%s takes one machine name, got %d: %s", c.Command.Name, c.NArg(), strings.Join(c.Args().Slice(), " "))
	}
}

// names returns the machine names a command takes, or "default".
func names(c *cli.Context) []string {
	if c.NArg() == 0 {
		return []string{defaultMachine}
	}
	return c.Args().Slice()
}

// oneLine trims an error message for printing.
func oneLine(s string) string { return strings.TrimSpace(s) }

// oneMachine returns the libmachine client and the single machine name a
// command takes ("default" when none is given).
func (e *cliEnv) oneMachine(c *cli.Context) (*libmachine.Client, string, error) {
	name, err := oneName(c)
	if err != nil {
		return nil, "", err
	}
	api, err := e.machine(c)
	if err != nil {
		return nil, "", err
	}
	return api, name, nil
}

// eachMachine runs fn for every name, going on after a failure, and
// returns the failures joined (see joinErrors).
func eachMachine(list []string, fn func(name string) error) error {
	var errs []error
	for _, name := range list {
		if err := fn(name); err != nil {
			errs = append(errs, err)
		}
	}
	return joinErrors(errs)
}

// machineFunc does a command's work on one machine.
type machineFunc func(c *cli.Context, api *libmachine.Client, name string) error

// eachNamed is the action of a command that runs fn for every machine it
// names ("default" when none), going on after a failure (see eachMachine).
func (e *cliEnv) eachNamed(fn machineFunc) cli.ActionFunc {
	return func(c *cli.Context) error {
		api, err := e.machine(c)
		if err != nil {
			return err
		}
		return eachMachine(names(c), func(name string) error {
			// An unknown name is one line, not a progress line and then
			// the error.
			if err := api.Store.Found(name); err != nil {
				return err
			}
			return fn(c, api, name)
		})
	}
}

// eachReported is eachNamed that says on stderr `Doing "NAME"...` before
// fn and `Machine "NAME" was done.` once it succeeded.
func (e *cliEnv) eachReported(doing, done string, fn machineFunc) cli.ActionFunc {
	return e.eachNamed(func(c *cli.Context, api *libmachine.Client, name string) error {
		fmt.Fprintf(e.stderr, "%s %q...\n", doing, name)
		if err := fn(c, api, name); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "Machine %q was %s.\n", name, done)
		return nil
	})
}

// joinErrors joins the errors of a command that went through several
// machines into one error on one line, so that it prints as one "Error:"
// line; errors.Is and errors.As see each of them. It returns nil for none.
func joinErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return multiError(errs)
}

// multiError is several errors on one line.
type multiError []error

func (m multiError) Error() string {
	msgs := make([]string, len(m))
	for i, err := range m {
		msgs[i] = oneLine(err.Error())
	}
	return strings.Join(msgs, "; ")
}

func (m multiError) Unwrap() []error { return m }

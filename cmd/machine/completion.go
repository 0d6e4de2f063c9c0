package main

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/machine-cli/machine/libmachine/shell"
)

// completeFlag ends a command line that asks for completions instead of
// running (urfave/cli's --generate-bash-completion). Our shell scripts
// always pass the word being completed, even when empty, just before it:
// `machine status n --generate-bash-completion`.
const completeFlag = "--generate-bash-completion"

// The completion scripts, one per shell. Each asks the machine binary for
// the words that may follow the command line typed so far and lets the
// shell filter them by the word being completed.
var (
	//go:embed completion/machine.bash
	bashCompletion string
	//go:embed completion/machine.zsh
	zshCompletion string
	//go:embed completion/machine.fish
	fishCompletion string
	//go:embed completion/machine.ps1
	powershellCompletion string
)

// completionScripts are the scripts by shell name.
var completionScripts = map[string]string{
	"bash":       bashCompletion,
	"zsh":        zshCompletion,
	"fish":       fishCompletion,
	"powershell": powershellCompletion,
}

// completionShells lists the shells completion knows, in help order.
var completionShells = []string{"bash", "zsh", "fish", "powershell"}

func completionCommand(env *cliEnv) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "Print a shell script that completes machine's commands, flags and machine names",
		ArgsUsage: "bash|zsh|fish|powershell",
		Description: "Load it in the current shell, or from the shell's start-up file:\n" +
			"   bash:        source <(machine completion bash)\n" +
			"   zsh:         source <(machine completion zsh)\n" +
			"   fish:        machine completion fish | source\n" +
			"   powershell:  machine completion powershell | Out-String | Invoke-Expression",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("completion takes one shell (%s), got %d arguments", strings.Join(completionShells, ", "), c.NArg())
			}
			script, ok := completionScripts[c.Args().First()]
			if !ok {
				return fmt.Errorf("completion: no script for shell %q; choose %s", c.Args().First(), strings.Join(completionShells, ", "))
			}
			_, err := fmt.Fprint(env.stdout, script)
			return err
		},
	}
}

// isCompletion says whether a command line asks for completions.
func isCompletion(args []string) bool {
	return len(args) >= 2 && args[len(args)-1] == completeFlag
}

// completionArgs prepares a completion request for the app, or returns nil
// when there is nothing to offer. After "--" only arguments follow, which
// machine does not complete; and urfave/cli would run such a command line
// instead of completing it. A word being completed that is "--" becomes
// "-", which lists the flags as well and which the parser takes as an
// argument.
func completionArgs(args []string) []string {
	words := slices.Clone(args[:len(args)-1])
	last := len(words) - 1
	if last < 1 {
		return append(words, completeFlag)
	}
	if slices.Contains(words[1:last], "--") {
		return nil
	}
	if words[last] == "--" {
		words[last] = "-"
	}
	return append(words, completeFlag)
}

// setCompletion makes every command of app answer completion requests
// (completeFlag) with its subcommands, its flags, the values of some flags
// and, for commands that take machine names, the machines of the store.
func (e *cliEnv) setCompletion(app *cli.App) {
	app.BashComplete = e.completer(nil, nil)
	var walk func(parent []*cli.Command, cmds []*cli.Command)
	walk = func(parent []*cli.Command, cmds []*cli.Command) {
		for _, cmd := range cmds {
			cmd.BashComplete = e.completer(cmd, parent)
			walk(cmd.Subcommands, cmd.Subcommands)
		}
	}
	walk(app.Commands, app.Commands)
}

// completer returns the completion of cmd (nil: the app, with its flags
// and commands); siblings are the commands at cmd's level.
func (e *cliEnv) completer(cmd *cli.Command, siblings []*cli.Command) cli.BashCompleteFunc {
	return func(c *cli.Context) {
		words := e.args
		if n := len(words); n > 0 && words[n-1] == completeFlag {
			words = words[:n-1]
		}
		var cur, prev string
		if n := len(words); n > 1 {
			cur = words[n-1]
		}
		if n := len(words); n > 2 {
			prev = words[n-2]
		}
		flags, subs := c.App.Flags, c.App.Commands
		if cmd != nil {
			flags, subs = cmd.Flags, cmd.Subcommands
		}
		var out []string
		switch {
		case strings.HasPrefix(cur, "-"):
			out = flagNames(flags)
		case takesValue(flags, prev):
			out = e.flagValues(prev)
		case cmd != nil && c.NArg() == 0 && slices.Contains(cmd.Names(), cur):
			// The word being completed is this command's own name, which
			// the parser took as the command: complete it among its
			// siblings.
			out = commandNames(siblings)
		default:
			out = commandNames(subs)
			if cmd != nil && cmd.Name == "completion" {
				out = append(out, completionShells...)
			}
			if cmd != nil && takesMachineNames(cmd) {
				out = append(out, e.machineNames(c)...)
			}
		}
		for _, w := range out {
			fmt.Fprintln(e.stdout, w)
		}
	}
}

// takesMachineNames says whether cmd's arguments name existing machines:
// its usage says NAME, and it is not create (which names a new one).
func takesMachineNames(cmd *cli.Command) bool {
	return strings.Contains(cmd.ArgsUsage, "NAME") && cmd.Name != "create"
}

// machineNames lists the store's machines; none when the store cannot be
// read (completion never fails).
func (e *cliEnv) machineNames(c *cli.Context) []string {
	api, err := e.machine(c)
	if err != nil {
		return nil
	}
	names, err := api.Store.List()
	if err != nil {
		return nil
	}
	return names
}

// flagValues lists the values flag takes, when there is a short list.
func (e *cliEnv) flagValues(flag string) []string {
	switch strings.TrimLeft(flag, "-") {
	case "driver", "d":
		return builtinNames()
	case "shell":
		return shell.Names()
	}
	return nil
}

// commandNames lists the names and aliases of the visible commands but
// help, which urfave/cli adds to every command with subcommands.
func commandNames(cmds []*cli.Command) []string {
	var out []string
	for _, c := range cmds {
		if !c.Hidden && c.Name != "help" {
			out = append(out, c.Names()...)
		}
	}
	return out
}

// flagNames lists the visible flags as typed: --name, or -n for one letter.
func flagNames(flags []cli.Flag) []string {
	var out []string
	for _, f := range flags {
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		for _, n := range f.Names() {
			if len(n) == 1 {
				out = append(out, "-"+n)
			} else {
				out = append(out, "--"+n)
			}
		}
	}
	return out
}

// takesValue says whether word is one of flags that takes a value (not a
// bool flag), written -n, --name or -name.
func takesValue(flags []cli.Flag, word string) bool {
	if !strings.HasPrefix(word, "-") || strings.Contains(word, "=") {
		return false
	}
	name := strings.TrimLeft(word, "-")
	for _, f := range flags {
		if !slices.Contains(f.Names(), name) {
			continue
		}
		_, isBool := f.(*cli.BoolFlag)
		return !isBool
	}
	return false
}

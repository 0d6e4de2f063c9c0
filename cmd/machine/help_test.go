package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/machine-cli/machine/libmachine"
)

// TestMain lets the test binary serve the built-in drivers, as the machine
// binary does: commands run in-process start `os.Executable() __driver NAME`,
// which is this binary.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == libmachine.DriverCommand {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// commandPaths lists every command of the app newApp builds, with their
// subcommands at any depth, as the words typed to reach them ("swarm init").
func commandPaths() []struct {
	path []string
	cmd  *cli.Command
} {
	var out []struct {
		path []string
		cmd  *cli.Command
	}
	var walk func(prefix []string, cmds []*cli.Command)
	walk = func(prefix []string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := append(append([]string(nil), prefix...), c.Name)
			out = append(out, struct {
				path []string
				cmd  *cli.Command
			}{p, c})
			walk(p, c.Subcommands)
		}
	}
	walk(nil, newApp(&cliEnv{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}).Commands)
	return out
}

// TestEveryCommandHelp: every command and subcommand answers --help and -h
// with its usage on stdout, exit 0 and no error.
func TestEveryCommandHelp(t *testing.T) {
	paths := commandPaths()
	if len(paths) < 15 {
		t.Fatalf("found %d commands, expected every command and the swarm subcommands", len(paths))
	}
	store := t.TempDir()
	for _, p := range paths {
		for _, flag := range []string{"--help", "-h"} {
			name := strings.Join(p.path, " ")
			t.Run(name+" "+flag, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				args := append(append([]string{"machine", "-s", store}, p.path...), flag)
				code := run(args, &stdout, &stderr)
				if code != 0 {
					t.Errorf("exit %d, want 0", code)
				}
				want := fmt.Sprintf("machine %s - %s", name, p.cmd.Usage)
				if !strings.Contains(stdout.String(), want) || !strings.Contains(stdout.String(), "USAGE:") {
					t.Errorf("stdout lacks %q and a USAGE section:\n%s", want, stdout.String())
				}
				for _, l := range strings.Split(stderr.String(), "\n") {
					if strings.HasPrefix(l, "Error") {
						t.Errorf("stderr has an error: %q", l)
					}
				}
			})
		}
	}
}

// TestCreateHelpDriverFlags: create -d DRIVER --help lists the driver's own
// flags, fetched from its plugin.
func TestCreateHelpDriverFlags(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		want  []string
		avoid []string
	}{
		{"generic", []string{"create", "-d", "generic", "--help"},
			[]string{"--generic-ip-address", "--generic-ssh-key", "--generic-engine-port", "--generic-private-ip", "--engine-env"}, nil},
		{"no driver", []string{"create", "--help"}, []string{"--driver", "--engine-env"}, []string{"--generic-ip-address"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"machine", "-s", t.TempDir()}, tc.args...), &stdout, &stderr)
			if code != 0 {
				t.Fatalf("exit %d\nstderr:\n%s", code, stderr.String())
			}
			for _, f := range tc.want {
				if !strings.Contains(stdout.String(), f) {
					t.Errorf("help lacks %s:\n%s", f, stdout.String())
				}
			}
			for _, f := range tc.avoid {
				if strings.Contains(stdout.String(), f) {
					t.Errorf("help lists %s without that driver:\n%s", f, stdout.String())
				}
			}
		})
	}
}

// TestUnknownCommand: a command line naming no command of ours fails with
// one Error line (and does not end the process: run returns).
func TestUnknownCommand(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"top level", []string{"frobnicate"}, "\"frobnicate\" is not a machine command; see `machine --help`"},
		{"help topic", []string{"help", "frobnicate"}, "\"frobnicate\" is not a machine command"},
		{"swarm subcommand", []string{"swarm", "frobnicate"}, "\"frobnicate\" is not a \"swarm\" subcommand; see `machine swarm --help`"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"machine", "-s", t.TempDir()}, tc.args...), &stdout, &stderr)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: %q", stdout.String())
			}
			if got := stderr.String(); strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, "Error: ") || !strings.Contains(got, tc.want) {
				t.Errorf("stderr = %q, want one Error line with %q", got, tc.want)
			}
		})
	}
}

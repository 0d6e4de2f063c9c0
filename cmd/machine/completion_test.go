package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompletionScripts: `completion SHELL` prints the script for that
// shell (golden files), and mistakes give one Error line.
func TestCompletionScripts(t *testing.T) {
	for _, sh := range completionShells {
		t.Run(sh, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run([]string{"machine", "-s", t.TempDir(), "completion", sh}, &stdout, &stderr); code != 0 || stderr.Len() != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr.String())
			}
			golden(t, "completion-"+sh+".golden", stdout.Bytes())
		})
	}
	errs := []struct {
		name string
		args []string
		want string
	}{
		{"no shell", []string{"completion"}, "completion takes one shell (bash, zsh, fish, powershell), got 0 arguments"},
		{"two shells", []string{"completion", "bash", "zsh"}, "completion takes one shell (bash, zsh, fish, powershell), got 2 arguments"},
		{"unknown shell", []string{"completion", "tcsh"}, `completion: no script for shell "tcsh"; choose bash, zsh, fish, powershell`},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"machine", "-s", t.TempDir()}, tc.args...), &stdout, &stderr)
			if code != 1 || stdout.Len() != 0 {
				t.Errorf("exit %d, stdout %q", code, stdout.String())
			}
			if got := stderr.String(); got != "Error: "+tc.want+"\n" {
				t.Errorf("stderr = %q, want the Error line %q", got, tc.want)
			}
		})
	}
}

// completionStore makes a store holding machines n1 and web2 (their
// directories are enough for a listing).
func completionStore(t *testing.T) string {
	t.Helper()
	store := t.TempDir()
	for _, n := range []string{"n1", "web2"} {
		if err := os.MkdirAll(filepath.Join(store, "machines", n), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return store
}

// TestCompletionWords: what a shell offers for a command line being
// completed: the binary prints the words that may follow (the protocol of
// the scripts: the words typed, the word being completed, even empty, then
// --generate-bash-completion) and the shell keeps those that start with
// the word being completed.
func TestCompletionWords(t *testing.T) {
	store := completionStore(t)
	tests := []struct {
		name  string
		words []string
		want  string // space-separated
	}{
		{"commands", []string{""}, "active completion create config env inspect ip kill ls mount provision regenerate-certs restart rm scp ssh start status stop swarm upgrade url use version"},
		{"a command by prefix", []string{"st"}, "start status stop"},
		{"a whole command name typed", []string{"ls"}, "ls"},
		{"global flags", []string{"--"}, "--storage-path --debug --native-ssh --github-api-token --bugsnag-api-token --tls-ca-cert --tls-ca-key --tls-client-cert --tls-client-key --help --version"},
		{"a global flag by prefix", []string{"--st"}, "--storage-path"},
		{"machine names", []string{"status", ""}, "n1 web2"},
		{"a machine name by prefix", []string{"status", "w"}, "web2"},
		{"several machine names", []string{"rm", "-y", "n1", ""}, "n1 web2"},
		{"flags of a command", []string{"status", "-"}, "--timeout -t --help -h"},
		{"long flags of a command", []string{"active", "--"}, "--timeout --help"},
		{"nothing after --", []string{"ssh", "n1", "--", ""}, ""},
		{"no machine names for create", []string{"create", ""}, ""},
		{"drivers", []string{"create", "-d", ""}, "azure generic qemu virtualbox"},
		{"a driver's flags", []string{"create", "-d", "generic", "--generic-ssh-"}, "--generic-ssh-user --generic-ssh-key --generic-ssh-port"},
		{"shells of env", []string{"env", "--shell", "t"}, "tcsh"},
		{"a flag's value is not a name", []string{"status", "-t", ""}, ""},
		{"subcommands", []string{"swarm", ""}, "init join leave ls"},
		{"names for a subcommand", []string{"swarm", "leave", ""}, "n1 web2"},
		{"shells of completion", []string{"completion", ""}, "bash zsh fish powershell"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append(append([]string{"machine", "-s", store}, tc.words...), completeFlag)
			if code := run(args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr.String())
			}
			cur := tc.words[len(tc.words)-1]
			var got []string
			for _, w := range strings.Fields(stdout.String()) {
				if strings.HasPrefix(w, cur) {
					got = append(got, w)
				}
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("offered %q, want %q (all: %q)", strings.Join(got, " "), tc.want, stdout.String())
			}
		})
	}
}

// TestCompletionScriptsParse: the real zsh and fish read their scripts
// without a syntax error (bash's is run for real in the integration
// tests, fish's too).
func TestCompletionScriptsParse(t *testing.T) {
	tests := []struct {
		shell string
		args  []string
	}{
		{"zsh", []string{"-n"}},
		{"fish", []string{"--no-execute"}},
		{"bash", []string{"-n"}},
	}
	for _, tc := range tests {
		t.Run(tc.shell, func(t *testing.T) {
			bin, err := exec.LookPath(tc.shell)
			if err != nil {
				t.Fatalf("%s is not installed (scripts/ensure-deps.sh installs it): %v", tc.shell, err)
			}
			path := filepath.Join(t.TempDir(), "machine."+tc.shell)
			if err := os.WriteFile(path, []byte(completionScripts[tc.shell]), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(bin, append(tc.args, path)...).CombinedOutput(); err != nil || len(out) != 0 {
				t.Errorf("%s %v: %v\n%s", tc.shell, tc.args, err, out)
			}
			broken := filepath.Join(t.TempDir(), "broken."+tc.shell)
			if err := os.WriteFile(broken, []byte(completionScripts[tc.shell]+"\nif true; then\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := exec.Command(bin, append(tc.args, broken)...).Run(); err == nil {
				t.Errorf("%s %v accepts a broken script: the check proves nothing", tc.shell, tc.args)
			}
		})
	}
}

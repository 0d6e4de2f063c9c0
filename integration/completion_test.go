package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCompletionShells loads the scripts of `machine completion` into the
// real bash, fish and zsh and completes command lines with them: commands,
// flags and the store's machine names, from the built binary on PATH.
// (zsh's compadd works only inside a completion widget, so the zsh run
// stands in a function that prints what it is given; the rest is zsh's.)
func TestCompletionShells(t *testing.T) {
	m := newCLI(t)
	for _, n := range []string{"n1", "web2"} {
		if err := os.MkdirAll(filepath.Join(m.store, "machines", n), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	script := func(sh string) string {
		path := filepath.Join(dir, "machine."+sh)
		if err := os.WriteFile(path, []byte(m.ok(t, "completion", sh).Stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	shellEnv := append(os.Environ(), "PATH="+env.binDir+string(os.PathListSeparator)+os.Getenv("PATH"), "STORE="+m.store)
	runShell := func(t *testing.T, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = shellEnv
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		return strings.Join(strings.Fields(string(out)), " ")
	}
	// Each case: the words typed before the one being completed, that
	// word, and what the shell offers.
	tests := []struct {
		name        string
		before      []string
		cur, offers string
	}{
		{"machine names", []string{"machine", "-s", "$STORE", "status"}, "", "n1 web2"},
		{"a machine name by prefix", []string{"machine", "-s", "$STORE", "rm", "-y"}, "w", "web2"},
		{"commands", []string{"machine"}, "sta", "start status"},
		{"flags", []string{"machine", "status"}, "--ti", "--timeout"},
		{"subcommands", []string{"machine", "swarm"}, "l", "leave ls"},
		{"shells", []string{"machine", "completion"}, "p", "powershell"},
	}

	t.Run("bash", func(t *testing.T) {
		path := script("bash")
		if got := runShell(t, "bash", "-c", "source "+path+" && complete -p machine"); got != "complete -o bashdefault -o default -F _machine_completion machine" {
			t.Errorf("the script registers %q", got)
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				words := strings.Join(append(append([]string(nil), tc.before...), `"`+tc.cur+`"`), " ")
				prog := "source " + path + `; COMP_WORDS=(` + words + `); COMP_CWORD=` + strconv.Itoa(len(tc.before)) + `; _machine_completion; printf '%s\n' "${COMPREPLY[@]}"`
				if got := runShell(t, "bash", "-c", prog); got != tc.offers {
					t.Errorf("bash offers %q, want %q", got, tc.offers)
				}
			})
		}
	})

	t.Run("fish", func(t *testing.T) {
		path := script("fish")
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				line := strings.Join(tc.before, " ") + " " + tc.cur
				prog := "source " + path + `; complete -C "` + line + `"`
				if got := runShell(t, "fish", "-c", prog); got != tc.offers {
					t.Errorf("fish offers %q, want %q", got, tc.offers)
				}
			})
		}
	})

	t.Run("zsh", func(t *testing.T) {
		path := script("zsh")
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				words := strings.Join(append(append([]string(nil), tc.before...), `"`+tc.cur+`"`), " ")
				prog := `autoload -Uz compinit && compinit -u -d "$STORE/.zcompdump" && source ` + path + `
compadd() { [[ $1 == -a ]] && print -l -- "${(@P)2}" }
words=(` + words + `); CURRENT=` + strconv.Itoa(len(tc.before)+1) + `; _machine`
				// zsh's compadd filters by the word being completed.
				got := strings.Fields(runShell(t, "zsh", "-c", prog))
				var kept []string
				for _, w := range got {
					if strings.HasPrefix(w, tc.cur) {
						kept = append(kept, w)
					}
				}
				if strings.Join(kept, " ") != tc.offers {
					t.Errorf("zsh offers %q, want %q", kept, tc.offers)
				}
			})
		}
	})
}

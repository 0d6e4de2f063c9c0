package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// envShellVars are the variables `machine env` sets or unsets.
var envShellVars = []string{"DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_MACHINE_NAME", "NO_PROXY"}

// envShell is a real shell TestEnvShells evaluates `machine env` output in.
type envShell struct {
	name string // the --shell value
	bin  string // the program
	pkg  string // the Debian package that installs it
	// source are the arguments that evaluate the file env.out in the working
	// directory and then dump the environment as env -0 does (emacs: see
	// emacsDump).
	source []string
	// hint returns the arguments that run the hint's command line (without
	// its comment marker) and then dump the environment; nil when the hint
	// is not run.
	hint func(cmdline string) []string
}

// emacsDump prints NAME=VALUE\0 for each of envShellVars that getenv sees,
// and has env -0 write a child process's environment to $ENV_DUMP.
var emacsDump = func() string {
	var names []string
	for _, n := range envShellVars {
		names = append(names, fmt.Sprintf("%q", n))
	}
	return `(progn
  (dolist (n '(` + strings.Join(names, " ") + `))
    (let ((v (getenv n))) (when v (princ (concat n "=" v "\0")))))
  (call-process "env" nil (list :file (getenv "ENV_DUMP")) nil "-0"))`
}()

var envShells = []envShell{
	{name: "bash", bin: "bash", pkg: "bash",
		source: []string{"-c", ". ./env.out && exec env -0"},
		hint:   func(c string) []string { return []string{"-c", c + " && exec env -0"} }},
	{name: "sh", bin: "dash", pkg: "dash",
		source: []string{"-c", ". ./env.out && exec env -0"},
		hint:   func(c string) []string { return []string{"-c", c + " && exec env -0"} }},
	{name: "zsh", bin: "zsh", pkg: "zsh",
		source: []string{"-f", "-c", ". ./env.out && exec env -0"},
		hint:   func(c string) []string { return []string{"-f", "-c", c + " && exec env -0"} }},
	{name: "fish", bin: "fish", pkg: "fish",
		source: []string{"--no-config", "-c", "source env.out; and exec env -0"},
		hint:   func(c string) []string { return []string{"--no-config", "-c", c + "; and exec env -0"} }},
	// The tcsh hint, eval `machine -s STORE ...`, cannot run here: csh
	// cannot nest the backquote of the store path inside eval's backquotes.
	{name: "tcsh", bin: "tcsh", pkg: "tcsh",
		source: []string{"-f", "-c", "source env.out && exec env -0"}},
	{name: "emacs", bin: "emacs", pkg: "emacs-nox",
		source: []string{"--batch", "-Q", "-l", "env.out", "--eval", emacsDump},
		hint:   func(c string) []string { return []string{"--batch", "-Q", "--eval", c, "--eval", emacsDump} }},
}

// TestEnvShells runs bash, sh (dash), zsh, fish, tcsh and emacs --batch on
// the real output of `machine env` for a store whose path holds blanks,
// single and double quotes, $, a backquote, a backslash, !, braces and
// non-ASCII letters, and proves that each shell ends up with the variables
// set to exactly the values machine meant (DOCKER_CERT_PATH carries the
// whole store path), byte for byte, in the environment of its child
// processes (and, for emacs, in getenv too); that `env -u` really unsets
// them, NO_PROXY only with --no-proxy; that the hint lines are harmless
// comments; and that the hint's own command (docker-machine's unquoted eval
// forms), run with a stand-in machine on PATH, passes the store path through
// unchanged and sets the same values. A store path holding a newline, which
// tcsh refuses, must still come out exact in the other shells, its hint
// lines still comments. A missing shell fails the test.
func TestEnvShells(t *testing.T) {
	bins := map[string]string{}
	for _, sh := range envShells {
		path, err := exec.LookPath(sh.bin)
		if err != nil {
			t.Fatalf("%s is needed for this test: install the Debian package %s (%v)", sh.bin, sh.pkg, err)
		}
		bins[sh.name] = path
	}
	// The machine process's NO_PROXY is what --no-proxy extends.
	t.Setenv("NO_PROXY", "localhost,.example.com")
	t.Setenv("no_proxy", "")

	// A stand-in machine for the hint commands: it records its arguments
	// and prints the output the real one gave.
	fakeBin := t.TempDir()
	fake := "#!/bin/sh\nprintf '%s\\0' \"$@\" >\"$FAKE_ARGS\"\nexec cat \"$FAKE_OUT\"\n"
	if err := os.WriteFile(filepath.Join(fakeBin, "machine"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}

	weird := newEnvStore(t, "st ore 'q' \"d\" $HOME `tick` \\ !x {a,b} é ü 日本")
	newline := newEnvStore(t, "line1\nline2")
	const url, ip = "tcp://10.0.0.5:2376", "10.0.0.5"
	stale := map[string]string{}
	for _, n := range envShellVars {
		stale[n] = "stale " + n
	}
	setVars := func(root string) map[string]string {
		return map[string]string{
			"DOCKER_TLS_VERIFY":   "1",
			"DOCKER_HOST":         url,
			"DOCKER_CERT_PATH":    filepath.Join(root, "machines", "n1"),
			"DOCKER_MACHINE_NAME": "n1",
		}
	}
	with := func(m map[string]string, k, v string) map[string]string {
		m[k] = v
		return m
	}
	type envCase struct {
		name  string
		args  []string          // after env --shell X
		start map[string]string // the shell's environment beyond the basics
		want  map[string]string // envShellVars not in want must be unset
	}
	casesFor := func(root string) []envCase {
		return []envCase{
			{"set", []string{"n1"}, nil, setVars(root)},
			{"set no-proxy", []string{"--no-proxy", "n1"}, nil,
				with(setVars(root), "NO_PROXY", "localhost,.example.com,"+ip)},
			{"unset", []string{"-u"}, stale, map[string]string{"NO_PROXY": stale["NO_PROXY"]}},
			{"unset no-proxy", []string{"-u", "--no-proxy"}, stale, map[string]string{}},
		}
	}
	stores := []struct {
		name, root string
		hint       bool
	}{
		{"weird path", weird, true},
		// The hints' unquoted eval squeezes a newline in a value into a
		// space, as docker-machine's: only sourcing keeps it.
		{"newline in path", newline, false},
	}

	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			for _, sh := range envShells {
				t.Run(sh.name, func(t *testing.T) {
					for _, tc := range casesFor(st.root) {
						t.Run(tc.name, func(t *testing.T) {
							args := append([]string{"machine", "-s", st.root, "env", "--shell", sh.name}, tc.args...)
							var stdout, stderr bytes.Buffer
							code := run(args, &stdout, &stderr)
							if sh.name == "tcsh" && st.root == newline {
								if code == 0 || stdout.Len() > 0 || !strings.Contains(stderr.String(), "line break") {
									t.Fatalf("tcsh with a newline in the store path: exit %d, stdout %q, stderr %q; want the refusal alone", code, stdout.String(), stderr.String())
								}
								return
							}
							if code != 0 || stderr.Len() > 0 {
								t.Fatalf("%q: exit %d, stderr %q", args, code, stderr.String())
							}
							out := stdout.String()
							dir := t.TempDir()
							outFile := filepath.Join(dir, "env.out")
							if err := os.WriteFile(outFile, stdout.Bytes(), 0o644); err != nil {
								t.Fatal(err)
							}
							home := filepath.Join(dir, "home")
							if err := os.Mkdir(home, 0o755); err != nil {
								t.Fatal(err)
							}
							environ := []string{
								"PATH=" + fakeBin + ":/usr/bin:/bin",
								"HOME=" + home,
								"LANG=C.UTF-8",
								"FAKE_ARGS=" + filepath.Join(dir, "args"),
								"FAKE_OUT=" + outFile,
								"ENV_DUMP=" + filepath.Join(dir, "child-env"),
							}
							for _, n := range envShellVars {
								if v, ok := tc.start[n]; ok {
									environ = append(environ, n+"="+v)
								}
							}

							t.Run("source", func(t *testing.T) {
								checkShellEnv(t, bins[sh.name], sh.source, dir, environ, tc.want, out)
							})
							if !st.hint || sh.hint == nil {
								return
							}
							t.Run("hint", func(t *testing.T) {
								lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
								if len(lines) < 2 || !strings.HasSuffix(lines[len(lines)-2], " Run this command to configure your shell: ") {
									t.Fatalf("no hint at the end of the output:\n%s", out)
								}
								_, cmdline, ok := strings.Cut(lines[len(lines)-1], " ")
								if !ok {
									t.Fatalf("hint line %q", lines[len(lines)-1])
								}
								checkShellEnv(t, bins[sh.name], sh.hint(cmdline), dir, environ, tc.want, out)
								raw, err := os.ReadFile(filepath.Join(dir, "args"))
								if err != nil {
									t.Fatalf("the hint %q did not run machine: %v", cmdline, err)
								}
								got := strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00")
								if !slices.Equal(got, args[1:]) {
									t.Errorf("the hint %q ran machine with %q, want %q", cmdline, got, args[1:])
								}
							})
						})
					}
				})
			}
		})
	}
}

// newEnvStore makes a store under a directory called name holding machine
// n1, whose config has a static endpoint so that env starts no driver, and
// returns the store's path.
func newEnvStore(t *testing.T, name string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), name)
	raw, err := os.ReadFile(filepath.Join("testdata", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["MachineEndpoint"] = map[string]any{
		"IP": "10.0.0.5", "URL": "tcp://10.0.0.5:2376",
		"SSHHostname": "10.0.0.5", "SSHPort": 22, "SSHUser": "root", "Static": true,
	}
	if raw, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "machines", "n1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// checkShellEnv runs bin with args in dir and environment environ, and
// checks that it succeeds silently and that the environment it dumps (and
// for emacs the one its child process dumps too) holds exactly want among
// envShellVars. out is the env output, for the failure messages.
func checkShellEnv(t *testing.T, bin string, args []string, dir string, environ []string, want map[string]string, out string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = environ
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("%s %q: %v\nstderr: %s\nenv output:\n%s", filepath.Base(bin), args, err, stderr.String(), out)
	}
	dumps := map[string][]byte{"the shell's environment": stdout.Bytes()}
	if filepath.Base(bin) == "emacs" {
		dumps = map[string][]byte{"getenv": stdout.Bytes()}
		child, err := os.ReadFile(filepath.Join(dir, "child-env"))
		if err != nil {
			t.Fatal(err)
		}
		dumps["a child process's environment"] = child
	}
	for what, dump := range dumps {
		got := map[string]string{}
		for _, kv := range strings.Split(strings.TrimSuffix(string(dump), "\x00"), "\x00") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				got[k] = v
			}
		}
		if what != "getenv" && got["HOME"] == "" {
			t.Fatalf("%s: no environment dumped: %q", what, dump)
		}
		for _, n := range envShellVars {
			w, wantSet := want[n]
			g, isSet := got[n]
			switch {
			case wantSet && !isSet:
				t.Errorf("%s: %s is unset, want %q\nenv output:\n%s", what, n, w, out)
			case !wantSet && isSet:
				t.Errorf("%s: %s = %q, want it unset\nenv output:\n%s", what, n, g, out)
			case g != w:
				t.Errorf("%s: %s = %q, want %q\nenv output:\n%s", what, n, g, w, out)
			}
		}
	}
}

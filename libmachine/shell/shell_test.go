package shell

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// machineVars are what `machine env n1` sets, as docker-machine does.
var machineVars = []Var{
	{"DOCKER_TLS_VERIFY", "1"},
	{"DOCKER_HOST", "tcp://10.0.0.5:2376"},
	{"DOCKER_CERT_PATH", "/root/.docker/machine/machines/n1"},
	{"DOCKER_MACHINE_NAME", "n1"},
}

// trickyVars are values that naive quoting breaks.
var trickyVars = []Var{
	{"SPACES", "/home/John Smith/.docker/machine/machines/n1"},
	{"DQUOTE", `say "hi"`},
	{"DOLLAR", `$HOME ${PATH} $(echo no) $`},
	{"BACKTICK", "`echo no`"},
	{"BACKSLASH", `C:\Users\me\`},
	{"SQUOTE", "it's"},
	{"BANG", "wow!"},
	{"MIXED", `'"$\` + "`" + `!'\"`},
	{"NEWLINE", "line1\nline2"},
	{"CR", "a\rb"},
	{"EMPTY", ""},
	{"UNICODE", "héllo “quoted” ‘single’ ☃"},
	{"GLOB", "*?[a]"},
	{"BLANKS", "  two  spaces\tand tab  "},
	{"CMDSPECIAL", "a&b|c<d>e^f(g)h%PATH%i"},
	{"SEMI", "a; echo no #"},
}

func TestGolden(t *testing.T) {
	cases := []struct {
		suffix string
		render func(sh Shell) (string, error)
	}{
		{"", func(sh Shell) (string, error) {
			return render(sh, machineVars, false, []string{"machine", "env", "n1"})
		}},
		{"-unset", func(sh Shell) (string, error) {
			return render(sh, machineVars, true, []string{"machine", "env", "-u"})
		}},
		{"-quoting", func(sh Shell) (string, error) {
			// One line per value, or the error for a value the shell
			// cannot express, then hints with arguments needing quotes.
			var b strings.Builder
			for _, v := range trickyVars {
				line, err := sh.Set(v.Name, v.Value)
				if err != nil {
					line = "ERROR: " + err.Error()
				}
				b.WriteString(line + "\n")
			}
			b.WriteString(sh.Hint([]string{`/opt/my tools/machine`, "env", "--shell=" + sh.Name(), "n1"}) + "\n")
			b.WriteString(sh.Hint([]string{`C:\Program Files\machine.exe`, "-s", `C:\it's "here"`, "env", "n1"}) + "\n")
			return b.String(), nil
		}},
	}
	for _, name := range Names() {
		sh, err := Get(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			t.Run(name+c.suffix, func(t *testing.T) {
				got, err := c.render(sh)
				if err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join("testdata", name+c.suffix+".golden"), got)
			})
		}
	}
}

// TestDockerMachineOutput pins the lines docker-machine's env.go prints
// (with our program name), independently of the golden files.
func TestDockerMachineOutput(t *testing.T) {
	set := []string{"machine", "env", "n1"}
	unset := []string{"machine", "env", "-u"}
	tests := []struct {
		shell   string
		unset   bool
		command []string
		want    string
	}{
		{"bash", false, set, `export DOCKER_TLS_VERIFY="1"
export DOCKER_HOST="tcp://10.0.0.5:2376"
export DOCKER_CERT_PATH="/root/.docker/machine/machines/n1"
export DOCKER_MACHINE_NAME="n1"
# Run this command to configure your shell: 
# eval $(machine env n1)
`},
		{"bash", true, unset, `unset DOCKER_TLS_VERIFY
unset DOCKER_HOST
unset DOCKER_CERT_PATH
unset DOCKER_MACHINE_NAME
# Run this command to configure your shell: 
# eval $(machine env -u)
`},
		{"fish", false, set, `set -gx DOCKER_TLS_VERIFY "1";
set -gx DOCKER_HOST "tcp://10.0.0.5:2376";
set -gx DOCKER_CERT_PATH "/root/.docker/machine/machines/n1";
set -gx DOCKER_MACHINE_NAME "n1";
# Run this command to configure your shell: 
# eval (machine env n1)
`},
		{"fish", true, unset, `set -e DOCKER_TLS_VERIFY;
set -e DOCKER_HOST;
set -e DOCKER_CERT_PATH;
set -e DOCKER_MACHINE_NAME;
# Run this command to configure your shell: 
# eval (machine env -u)
`},
		{"powershell", false, set, `$Env:DOCKER_TLS_VERIFY = "1"
$Env:DOCKER_HOST = "tcp://10.0.0.5:2376"
$Env:DOCKER_CERT_PATH = "/root/.docker/machine/machines/n1"
$Env:DOCKER_MACHINE_NAME = "n1"
# Run this command to configure your shell: 
# & machine env n1 | Invoke-Expression
`},
		{"powershell", true, unset, `Remove-Item Env:\\DOCKER_TLS_VERIFY
Remove-Item Env:\\DOCKER_HOST
Remove-Item Env:\\DOCKER_CERT_PATH
Remove-Item Env:\\DOCKER_MACHINE_NAME
# Run this command to configure your shell: 
# & machine env -u | Invoke-Expression
`},
		{"cmd", false, set, "SET DOCKER_TLS_VERIFY=1\n" +
			"SET DOCKER_HOST=tcp://10.0.0.5:2376\n" +
			"SET DOCKER_CERT_PATH=/root/.docker/machine/machines/n1\n" +
			"SET DOCKER_MACHINE_NAME=n1\n" +
			"REM Run this command to configure your shell: \n" +
			"REM \t@FOR /f \"tokens=*\" %i IN ('machine env n1') DO @%i\n"},
		{"cmd", true, unset, "SET DOCKER_TLS_VERIFY=\n" +
			"SET DOCKER_HOST=\n" +
			"SET DOCKER_CERT_PATH=\n" +
			"SET DOCKER_MACHINE_NAME=\n" +
			"REM Run this command to configure your shell: \n" +
			"REM \t@FOR /f \"tokens=*\" %i IN ('machine env -u') DO @%i\n"},
		{"tcsh", false, set, "setenv DOCKER_TLS_VERIFY \"1\";\n" +
			"setenv DOCKER_HOST \"tcp://10.0.0.5:2376\";\n" +
			"setenv DOCKER_CERT_PATH \"/root/.docker/machine/machines/n1\";\n" +
			"setenv DOCKER_MACHINE_NAME \"n1\";\n" +
			": Run this command to configure your shell: \n" +
			": eval `machine env n1`\n"},
		{"tcsh", true, unset, "unsetenv DOCKER_TLS_VERIFY;\n" +
			"unsetenv DOCKER_HOST;\n" +
			"unsetenv DOCKER_CERT_PATH;\n" +
			"unsetenv DOCKER_MACHINE_NAME;\n" +
			": Run this command to configure your shell: \n" +
			": eval `machine env -u`\n"},
		{"emacs", false, set, `(setenv "DOCKER_TLS_VERIFY" "1")
(setenv "DOCKER_HOST" "tcp://10.0.0.5:2376")
(setenv "DOCKER_CERT_PATH" "/root/.docker/machine/machines/n1")
(setenv "DOCKER_MACHINE_NAME" "n1")
;; Run this command to configure your shell: 
;; (with-temp-buffer (shell-command "machine env n1" (current-buffer)) (eval-buffer))
`},
		{"emacs", true, unset, `(setenv "DOCKER_TLS_VERIFY" nil)
(setenv "DOCKER_HOST" nil)
(setenv "DOCKER_CERT_PATH" nil)
(setenv "DOCKER_MACHINE_NAME" nil)
;; Run this command to configure your shell: 
;; (with-temp-buffer (shell-command "machine env -u" (current-buffer)) (eval-buffer))
`},
	}
	for _, tt := range tests {
		name := tt.shell
		if tt.unset {
			name += "-unset"
		}
		t.Run(name, func(t *testing.T) {
			sh, err := Get(tt.shell)
			if err != nil {
				t.Fatal(err)
			}
			got, err := render(sh, machineVars, tt.unset, tt.command)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestHintDockerMachineCases are docker-machine's own hint test cases
// (commands/env_test.go) that its quoting and ours agree on.
func TestHintDockerMachineCases(t *testing.T) {
	tests := []struct {
		shell   string
		command []string
		want    string
	}{
		{"bash", []string{"./machine", "env", "--shell=bash", "--no-proxy", "default"}, "# Run this command to configure your shell: \n# eval $(./machine env --shell=bash --no-proxy default)"},
		{"fish", []string{"./machine", "env", "--shell=fish", "--unset"}, "# Run this command to configure your shell: \n# eval (./machine env --shell=fish --unset)"},
		{"powershell", []string{"./machine", "env", "--shell=powershell", "default"}, "# Run this command to configure your shell: \n# & ./machine env --shell=powershell default | Invoke-Expression"},
		{"powershell", []string{`C:\\Program Files\docker-machine.exe`, "env", "--shell=powershell", "default"}, "# Run this command to configure your shell: \n# & \"C:\\\\Program Files\\docker-machine.exe\" env --shell=powershell default | Invoke-Expression"},
		{"powershell", []string{`C:\\Me\docker-machine.exe`, "env", "--shell=powershell", "default"}, "# Run this command to configure your shell: \n# & \"C:\\\\Me\\docker-machine.exe\" env --shell=powershell default | Invoke-Expression"},
		{"cmd", []string{"./machine", "env", "--shell=cmd", "--swarm", "default"}, "REM Run this command to configure your shell: \nREM \t@FOR /f \"tokens=*\" %i IN ('./machine env --shell=cmd --swarm default') DO @%i"},
		{"cmd", []string{`C:\\Program Files\docker-machine.exe`, "env", "--shell=cmd", "default"}, "REM Run this command to configure your shell: \nREM \t@FOR /f \"tokens=*\" %i IN ('\"C:\\\\Program Files\\docker-machine.exe\" env --shell=cmd default') DO @%i"},
		{"emacs", []string{"./machine", "env", "--shell=emacs", "default"}, ";; Run this command to configure your shell: \n;; (with-temp-buffer (shell-command \"./machine env --shell=emacs default\" (current-buffer)) (eval-buffer))"},
		{"tcsh", []string{"./machine", "env", "--shell=tcsh", "--unset"}, ": Run this command to configure your shell: \n: eval `./machine env --shell=tcsh --unset`"},
	}
	for _, tt := range tests {
		t.Run(tt.shell+" "+strings.Join(tt.command, " "), func(t *testing.T) {
			sh, err := Get(tt.shell)
			if err != nil {
				t.Fatal(err)
			}
			if got := sh.Hint(tt.command); got != tt.want {
				t.Errorf("Hint = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGet(t *testing.T) {
	want := []string{"bash", "cmd", "emacs", "fish", "powershell", "sh", "tcsh", "zsh"}
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	for _, tt := range []struct{ in, want string }{
		{"bash", "bash"}, {"zsh", "zsh"}, {"sh", "sh"}, {"fish", "fish"}, {"powershell", "powershell"},
		{"cmd", "cmd"}, {"tcsh", "tcsh"}, {"emacs", "emacs"},
		{"pwsh", "powershell"}, {"csh", "tcsh"}, {"dash", "sh"}, {"ksh", "sh"}, {"mksh", "sh"}, {"ash", "sh"},
	} {
		sh, err := Get(tt.in)
		if err != nil {
			t.Errorf("Get(%q): %v", tt.in, err)
			continue
		}
		if sh.Name() != tt.want {
			t.Errorf("Get(%q).Name() = %q, want %q", tt.in, sh.Name(), tt.want)
		}
	}
	for _, bad := range []string{"", "nu", "Bash", "/bin/bash"} {
		_, err := Get(bad)
		if !errors.Is(err, ErrUnknownShell) {
			t.Errorf("Get(%q) = %v, want ErrUnknownShell", bad, err)
			continue
		}
		if !strings.Contains(err.Error(), "bash, cmd, emacs, fish, powershell, sh, tcsh, zsh") {
			t.Errorf("Get(%q) error %q does not list the shells", bad, err)
		}
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"nothing", nil, "bash"},
		{"bash", map[string]string{"SHELL": "/bin/bash"}, "bash"},
		{"zsh", map[string]string{"SHELL": "/usr/local/bin/zsh"}, "zsh"},
		{"fish", map[string]string{"SHELL": "/opt/homebrew/bin/fish"}, "fish"},
		{"sh", map[string]string{"SHELL": "/bin/sh"}, "sh"},
		{"dash", map[string]string{"SHELL": "/bin/dash"}, "sh"},
		{"tcsh", map[string]string{"SHELL": "/bin/tcsh"}, "tcsh"},
		{"csh", map[string]string{"SHELL": "/bin/csh"}, "tcsh"},
		{"pwsh", map[string]string{"SHELL": "/usr/bin/pwsh"}, "powershell"},
		{"windows bash", map[string]string{"SHELL": `C:\Program Files\Git\usr\bin\bash.exe`}, "bash"},
		{"bare name", map[string]string{"SHELL": "zsh"}, "zsh"},
		{"unsupported", map[string]string{"SHELL": "/usr/bin/nu"}, "bash"},
		{"SHELL wins over PSModulePath", map[string]string{"SHELL": "/bin/zsh", "PSModulePath": `C:\x`}, "zsh"},
		{"powershell", map[string]string{"PSModulePath": `C:\x`}, "powershell"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Detect(func(k string) string { return tt.env[k] }); got != tt.want {
				t.Errorf("Detect() = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("nil getenv", func(t *testing.T) {
		t.Setenv("SHELL", "/bin/zsh")
		if got := Detect(nil); got != "zsh" {
			t.Errorf("Detect(nil) = %q, want zsh", got)
		}
	})
}

func TestRenderRefuses(t *testing.T) {
	tests := []struct {
		name  string
		shell string
		vars  []Var
		unset bool
	}{
		{"empty name", "bash", []Var{{"", "x"}}, false},
		{"name with space", "bash", []Var{{"A B", "x"}}, false},
		{"name with digit first", "fish", []Var{{"1A", "x"}}, false},
		{"name with dash", "powershell", []Var{{"A-B", "x"}}, true},
		{"name injection", "bash", []Var{{"A=1; rm", "x"}}, true},
		{"NUL value", "bash", []Var{{"A", "x\x00y"}}, false},
		{"cmd newline", "cmd", []Var{{"A", "x\ny"}}, false},
		{"cmd quote", "cmd", []Var{{"A", `x"y`}}, false},
		{"tcsh newline", "tcsh", []Var{{"A", "x\ny"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh, err := Get(tt.shell)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			vars := append([]Var{{"OK", "fine"}}, tt.vars...)
			if err := Render(&b, sh, vars, tt.unset, []string{"machine", "env"}); err == nil {
				t.Fatalf("Render succeeded:\n%s", b.String())
			}
			if b.Len() != 0 {
				t.Errorf("Render wrote %q before failing", b.String())
			}
		})
	}
}

func TestRenderNoHint(t *testing.T) {
	sh, _ := Get("bash")
	got, err := render(sh, []Var{{"A", "1"}}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got != "export A=\"1\"\n" {
		t.Errorf("got %q", got)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestRenderWriteError(t *testing.T) {
	sh, _ := Get("bash")
	if err := Render(failWriter{}, sh, machineVars, false, []string{"machine"}); err == nil || err.Error() != "disk full" {
		t.Errorf("Render = %v, want the writer's error", err)
	}
}

// TestPOSIXShellsRoundTrip runs the rendered lines in the real bash and sh
// and checks every variable comes back unchanged, then unsets them.
func TestPOSIXShellsRoundTrip(t *testing.T) {
	vars := append(slices.Clone(machineVars), trickyVars...)
	for _, name := range []string{"bash", "sh"} {
		t.Run(name, func(t *testing.T) {
			path, err := exec.LookPath(name)
			if err != nil {
				t.Fatalf("%s is needed for this test: %v", name, err)
			}
			sh, err := Get(name)
			if err != nil {
				t.Fatal(err)
			}
			out, err := render(sh, vars, false, []string{"machine", "env", "n1"})
			if err != nil {
				t.Fatal(err)
			}
			var printVars strings.Builder
			printVars.WriteString("printf '%s\\0'")
			for _, v := range vars {
				fmt.Fprintf(&printVars, ` "$%s"`, v.Name)
			}

			t.Run("lines", func(t *testing.T) {
				got := runShell(t, path, out+printVars.String()+"\n", nil)
				checkValues(t, got, vars)
			})
			t.Run("eval quoted", func(t *testing.T) {
				got := runShell(t, path, `eval "$OUT"; `+printVars.String(), []string{"OUT=" + out})
				checkValues(t, got, vars)
			})
			t.Run("exported", func(t *testing.T) {
				script := out + "exec env"
				got := "\n" + runShell(t, path, script, nil)
				for _, v := range vars {
					if !strings.Contains(got, "\n"+v.Name+"="+v.Value+"\n") {
						t.Errorf("%s=%q not in the environment of a child process", v.Name, v.Value)
					}
				}
			})
			t.Run("unset", func(t *testing.T) {
				unset, err := render(sh, vars, true, []string{"machine", "env", "-u"})
				if err != nil {
					t.Fatal(err)
				}
				var check strings.Builder
				check.WriteString("printf '%s\\0'")
				for _, v := range vars {
					fmt.Fprintf(&check, ` "${%s-unset}"`, v.Name)
				}
				got := runShell(t, path, out+unset+check.String(), nil)
				for i, f := range strings.Split(strings.TrimSuffix(got, "\x00"), "\x00") {
					if f != "unset" {
						t.Errorf("%s still set to %q", vars[i].Name, f)
					}
				}
			})
		})
	}
}

// TestPOSIXHintCommand checks that the hint's own command, docker-machine's
// unquoted eval $(...), sets ordinary values right, hint lines included.
func TestPOSIXHintCommand(t *testing.T) {
	vars := append(slices.Clone(machineVars),
		Var{"SPACES", "/home/John Smith/.docker/machine/machines/n1"},
		Var{"QUOTES", `it's "$HOME"`},
	)
	for _, name := range []string{"bash", "sh"} {
		t.Run(name, func(t *testing.T) {
			sh, _ := Get(name)
			out, err := render(sh, vars, false, []string{"machine", "env", "n1"})
			if err != nil {
				t.Fatal(err)
			}
			var script strings.Builder
			script.WriteString(`eval $(printf '%s' "$OUT"); printf '%s\0'`)
			for _, v := range vars {
				fmt.Fprintf(&script, ` "$%s"`, v.Name)
			}
			checkValues(t, runShell(t, name, script.String(), []string{"OUT=" + out}), vars)
		})
	}
}

func runShell(t *testing.T, shell, script string, env []string) string {
	t.Helper()
	cmd := exec.Command(shell, "-c", script)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent"}, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("%s -c: %v\nstderr: %s\nscript:\n%s", shell, err, stderr.String(), script)
	}
	return string(out)
}

func checkValues(t *testing.T, out string, vars []Var) {
	t.Helper()
	got := strings.Split(strings.TrimSuffix(out, "\x00"), "\x00")
	if len(got) != len(vars) {
		t.Fatalf("got %d values, want %d: %q", len(got), len(vars), got)
	}
	for i, v := range vars {
		if got[i] != v.Value {
			t.Errorf("%s = %q, want %q", v.Name, got[i], v.Value)
		}
	}
}

func render(sh Shell, vars []Var, unset bool, command []string) (string, error) {
	var b bytes.Buffer
	err := Render(&b, sh, vars, unset, command)
	return b.String(), err
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// FuzzPOSIXQuote checks that any value bash and sh can hold comes back
// unchanged from the line Set renders.
func FuzzPOSIXQuote(f *testing.F) {
	for _, v := range trickyVars {
		f.Add(v.Value)
	}
	f.Fuzz(func(t *testing.T, value string) {
		if strings.IndexByte(value, 0) >= 0 {
			// No shell variable can hold a NUL byte: every shell refuses it.
			for _, name := range Names() {
				sh, _ := Get(name)
				if _, err := sh.Set("V", value); err == nil {
					t.Errorf("%s: Set accepted a value with a NUL byte", name)
				}
			}
			return
		}
		for _, name := range []string{"bash", "sh"} {
			sh, _ := Get(name)
			line, err := sh.Set("V", value)
			if err != nil {
				t.Fatal(err)
			}
			if got := runShell(t, name, line+"\nprintf '%s' \"$V\"", nil); got != value {
				t.Errorf("%s: %s gave %q", name, line, got)
			}
		}
	})
}

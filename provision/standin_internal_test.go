package provision

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A stand-in is a command the scripts call (apt-get, dnf, zypper, ufw,
// firewall-cmd, systemctl, uname) that logs its arguments and answers from
// recordings of the real tool (testdata/recorded, see SOURCES there). It
// maps shell case patterns of its arguments to answers; arguments matching
// none succeed silently.
type standIn map[string]string

// replay answers with the recorded stdout, stderr and exit status NAME.
func replay(t *testing.T, name string) string {
	t.Helper()
	base, err := filepath.Abs(filepath.Join("testdata", "recorded", name))
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile(base + ".status")
	if err != nil {
		t.Fatal(err)
	}
	return "cat '" + base + ".stdout'; cat '" + base + ".stderr' >&2; exit " + strings.TrimSpace(string(status))
}

// replayStatus answers with the recorded exit status only, as the command
// does with --quiet.
func replayStatus(t *testing.T, name string) string {
	t.Helper()
	status, err := os.ReadFile(filepath.Join("testdata", "recorded", name+".status"))
	if err != nil {
		t.Fatal(err)
	}
	return "exit " + strings.TrimSpace(string(status))
}

// scriptRun is what a script did under stand-ins.
type scriptRun struct {
	stdout, stderr string
	status         int
	calls          []string // "NAME ARGS" of each stand-in call, in order
}

// runScript runs script as provision does (after set -e) with /bin/sh and
// a PATH of only the stand-ins and the few real tools the scripts use
// (cat, grep): a command without a stand-in is absent.
func runScript(t *testing.T, script string, cmds map[string]standIn) scriptRun {
	t.Helper()
	dir := t.TempDir()
	bin, tools := filepath.Join(dir, "bin"), filepath.Join(dir, "tools")
	for _, d := range []string{bin, tools} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range []string{"cat", "grep"} {
		path, err := exec.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(path, filepath.Join(tools, tool)); err != nil {
			t.Fatal(err)
		}
	}
	log := filepath.Join(dir, "log")
	for name, answers := range cmds {
		var b strings.Builder
		b.WriteString("#!/bin/sh\necho \"" + name + " $*\" >> \"$LOG\"\ncase \"$*\" in\n")
		for pattern, answer := range answers {
			b.WriteString(strings.ReplaceAll(pattern, " ", `\ `) + ") " + answer + " ;;\n")
		}
		b.WriteString("esac\nexit 0\n")
		if err := os.WriteFile(filepath.Join(bin, name), []byte(b.String()), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("/bin/sh", "-c", "set -e\n"+script)
	cmd.Env = []string{"PATH=" + bin + ":" + tools, "LOG=" + log}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	r := scriptRun{}
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("run script: %v", err)
		}
		r.status = exit.ExitCode()
	}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	b, _ := os.ReadFile(log)
	if s := strings.TrimSpace(string(b)); s != "" {
		r.calls = strings.Split(s, "\n")
	}
	return r
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

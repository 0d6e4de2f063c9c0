package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/machine-cli/machine/internal/standin"
)

// lsRun runs machine -s store ARGS in-process and returns its exit status,
// stdout and stderr.
func lsRun(store string, args ...string) (int, string, string) {
	var out, errOut strings.Builder
	code := runWith(append([]string{"machine", "-s", store}, args...), strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestLSUsageErrors: each mistake on the command line is one Error line,
// exit 1, nothing on stdout, before any machine is asked.
func TestLSUsageErrors(t *testing.T) {
	store := storeWith(t, "n1")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"ls", "n1"}, "ls takes no arguments"},
		{[]string{"ls", "--timeout", "0"}, "--timeout 0: give the seconds"},
		{[]string{"ls", "-t", "-3"}, "--timeout -3"},
		{[]string{"ls", "--filter", "name=("}, "regular expression"},
		{[]string{"ls", "--filter", "colour=red"}, `--filter "colour=red"`},
		{[]string{"ls", "-q", "--filter", "label"}, `--filter "label"`},
		{[]string{"ls", "-f", "{{.Nope}}"}, "--format: no field .Nope; the fields are .Name .Active .DriverName .State .URL .Swarm .DockerVersion .Error .ActiveHost .ActiveSwarm .ResponseTime"},
		{[]string{"ls", "-f", "table {{.Name"}, "--format"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := lsRun(store, tc.args...)
			lines := errorLines(stderr)
			if code != 1 || stdout != "" || len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1, no output and one Error line with %q", code, stdout, stderr, tc.want)
			}
		})
	}
}

// TestLSBrokenRows: a store with a good machine, a corrupt one, one of a
// missing driver and one at a closed port lists every machine in name
// order with its own error, marks the one DOCKER_HOST points at, exits 0 as docker-machine's ls does, and -q,
// --filter and --format work on it.
func TestLSBrokenRows(t *testing.T) {
	root := t.TempDir()
	p := standin.Store(t, root)
	engine, closed := standin.Engine(t, p), standin.ClosedPort(t)
	standin.Machine(t, root, p, "up", "generic", engine, engine)
	standin.Machine(t, root, p, "closed", "generic", closed, closed)
	standin.Machine(t, root, p, "corrupt", "generic", engine, engine)
	if err := os.WriteFile(filepath.Join(root, "machines", "corrupt", "config.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	standin.Machine(t, root, p, "driverless", "hyperv", engine, engine)
	t.Setenv("DOCKER_HOST", fmt.Sprintf("tcp://127.0.0.1:%d", engine))

	format := `table {{.Name}}\t{{.Active}}\t{{.ActiveHost}}\t{{.DriverName}}\t{{.State}}\t{{.DockerVersion}}`
	code, stdout, stderr := lsRun(root, "ls", "--timeout", "5", "--format", format)
	if code != 0 || stderr != "" {
		t.Fatalf("ls: exit %d, stderr %q", code, stderr)
	}
	golden(t, "ls-store.golden", []byte(stdout))

	code, stdout, _ = lsRun(root, "ls", "--timeout", "5", "--format", "{{.Name}}|{{.URL}}|{{.Error}}")
	if code != 0 {
		t.Fatalf("ls: exit %d", code)
	}
	want := map[string]struct{ url, err string }{
		"closed":     {"", ""},
		"corrupt":    {"", `machine "corrupt" is broken`},
		"driverless": {"", `no executable "machine-driver-hyperv" or "docker-machine-driver-hyperv" found on PATH`},
		"up":         {"tcp://127.0.0.1:", ""},
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("ls: %d rows, want %d:\n%s", len(lines), len(want), stdout)
	}
	for _, l := range lines {
		f := strings.Split(l, "|")
		w, ok := want[f[0]]
		if len(f) != 3 || !ok || !strings.HasPrefix(f[1], w.url) || (w.url == "") != (f[1] == "") ||
			!strings.Contains(f[2], w.err) || (w.err == "") != (f[2] == "") {
			t.Errorf("row %q, want URL %q... and error %q", l, w.url, w.err)
		}
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ls", "-q"}, "closed\ncorrupt\ndriverless\nup\n"},
		{[]string{"ls", "-q", "--filter", "state=Error"}, "corrupt\ndriverless\n"},
		{[]string{"ls", "-q", "--filter", "driver=generic", "--filter", "state=stopped"}, "closed\n"},
		{[]string{"ls", "--filter", "name=^u", "-f", "{{.Name}} {{.State}} {{.DockerVersion}}"}, "up Running v" + standin.EngineVersion + "\n"},
	} {
		if code, stdout, stderr := lsRun(root, tc.args...); code != 0 || stdout != tc.want {
			t.Errorf("%s: exit %d, stdout %q (stderr %q), want %q", strings.Join(tc.args, " "), code, stdout, stderr, tc.want)
		}
	}
}

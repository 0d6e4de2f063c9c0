package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/machine-cli/machine/libmachine/dockercontext"
)

// withCerts puts stand-in PEM files (their content is not checked here) in
// the machines' directories, as create leaves them.
func withCerts(t *testing.T, store string, names ...string) {
	t.Helper()
	for _, n := range names {
		for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
			if err := os.WriteFile(filepath.Join(store, "machines", n, f), []byte(n+" "+f), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// dockerEnv points DOCKER_CONFIG at a new directory, clears the variables
// that override docker contexts, and returns the directory.
func dockerEnv(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "docker")
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("DOCKER_HOST", "")
	t.Setenv("DOCKER_CONTEXT", "")
	return dir
}

// machineRun runs a command line in-process and returns its exit status,
// stdout and stderr.
func machineRun(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := runWith(append([]string{"machine"}, args...), strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestUse: `use NAME` registers the machine's context and makes it
// current; `use -u` goes back to docker's default; other keys of
// config.json stay.
func TestUse(t *testing.T) {
	store := storeWith(t, "n1", "n2")
	withCerts(t, store, "n1", "n2")
	dir := dockerEnv(t)
	cs := dockercontext.New(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	const other = "{\n\t\"auths\": {\n\t\t\"r.example\": {\"auth\": \"eDp5\"}\n\t},\n\t\"psFormat\": \"table {{.ID}}\"\n}"
	if err := os.WriteFile(cs.ConfigPath(), []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		args    []string
		current string
		stderr  string
	}{
		{[]string{"use", "n1"}, "n1", `Current docker context is now "n1"`},
		{[]string{"use", "n2"}, "n2", `Current docker context is now "n2"`},
		{[]string{"use", "n2"}, "n2", `Current docker context is now "n2"`},
		{[]string{"use", "-u"}, "default", `Current docker context is now "default"`},
		{[]string{"use", "--unset"}, "default", `Current docker context is now "default"`},
	} {
		code, stdout, stderr := machineRun(append([]string{"-s", store}, step.args...)...)
		if code != 0 || stdout != "" || !strings.Contains(stderr, step.stderr) || strings.Contains(stderr, "warning") {
			t.Fatalf("machine %v: exit %d, stdout %q, stderr:\n%s", step.args, code, stdout, stderr)
		}
		if cur, err := cs.Current(); err != nil || cur != step.current {
			t.Fatalf("after machine %v: current context %q, %v; want %q", step.args, cur, err, step.current)
		}
	}
	for _, n := range []string{"n1", "n2"} {
		c, err := cs.Get(n)
		if err != nil {
			t.Fatal(err)
		}
		if !c.OwnedBy(store) || c.Host != "tcp://10.0.0."+map[string]string{"n1": "5", "n2": "6"}[n]+":2376" || c.Description != "machine "+n+" (driver generic)" {
			t.Errorf("context %s = %+v", n, c)
		}
		if b, _ := os.ReadFile(filepath.Join(cs.TLSDir(n), "docker", "key.pem")); string(b) != n+" key.pem" {
			t.Errorf("context %s's key.pem = %q, want a copy of the machine's", n, b)
		}
	}
	// Back to default: config.json is byte for byte what it was.
	if b, _ := os.ReadFile(cs.ConfigPath()); string(b) != other {
		t.Fatalf("config.json after use/use -u:\n%s\nwant\n%s", b, other)
	}
}

// TestUseWarnings: DOCKER_HOST and DOCKER_CONTEXT override the current
// context; use still sets it and says so in one line each.
func TestUseWarnings(t *testing.T) {
	store := storeWith(t, "n1")
	withCerts(t, store, "n1")
	dockerEnv(t)
	t.Setenv("DOCKER_HOST", "tcp://10.0.0.5:2376")
	code, _, stderr := machineRun("-s", store, "use", "n1")
	if code != 0 || strings.Count(stderr, "warning:") != 1 || !strings.Contains(stderr, "DOCKER_HOST") || !strings.Contains(stderr, "eval $(machine env -u)") {
		t.Fatalf("use with DOCKER_HOST: exit %d, stderr:\n%s", code, stderr)
	}
	t.Setenv("DOCKER_HOST", "")
	t.Setenv("DOCKER_CONTEXT", "other")
	code, _, stderr = machineRun("-s", store, "use", "n1")
	if code != 0 || strings.Count(stderr, "warning:") != 1 || !strings.Contains(stderr, "DOCKER_CONTEXT=other") {
		t.Fatalf("use with DOCKER_CONTEXT: exit %d, stderr:\n%s", code, stderr)
	}
}

// TestUseErrors: every mistake is one Error line, and config.json and the
// contexts are left as they were.
func TestUseErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		config string // config.json before; "dir" makes it a directory
		userN1 bool   // a context n1 made with the docker CLI exists
		want   string
	}{
		{name: "no name", args: []string{"use"}, want: "use takes one machine name, or -u"},
		{name: "two names", args: []string{"use", "n1", "n2"}, want: "use takes one machine name"},
		{name: "name and -u", args: []string{"use", "-u", "n1"}, want: "use -u takes no machine name"},
		{name: "unknown machine", args: []string{"use", "ghost"}, want: `machine "ghost" does not exist`},
		{name: "invalid name", args: []string{"use", "../x"}, want: "invalid machine name"},
		{name: "one-letter machine", args: []string{"use", "x"}, want: "machine x cannot be a docker context: docker context names have at least 2 characters"},
		{name: "machine named default", args: []string{"use", "default"}, want: "machine default cannot be a docker context"},
		{name: "corrupt config.json", args: []string{"use", "n1"}, config: `{"auths": {`, want: "config.json: invalid JSON"},
		{name: "corrupt config.json, -u", args: []string{"use", "-u"}, config: `{"currentContext": "n1",`, want: "config.json: invalid JSON"},
		{name: "config.json not an object", args: []string{"use", "n1"}, config: `["x"]`, want: "not a JSON object"},
		{name: "unreadable config.json", args: []string{"use", "n1"}, config: "dir", want: "is a directory"},
		{name: "a context n1 made with the docker CLI", args: []string{"use", "n1"}, userN1: true, want: "docker context \"n1\" exists and was not made by machine; to register machine n1 instead, run `docker context rm n1`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := storeWith(t, "n1", "x", "default")
			withCerts(t, store, "n1", "x", "default")
			dir := dockerEnv(t)
			cs := dockercontext.New(dir)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			switch tc.config {
			case "":
			case "dir":
				if err := os.Mkdir(cs.ConfigPath(), 0o700); err != nil {
					t.Fatal(err)
				}
			default:
				if err := os.WriteFile(cs.ConfigPath(), []byte(tc.config), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var userMeta []byte
			if tc.userN1 {
				if err := cs.Write(dockercontext.Context{Name: "n1", Description: "mine", Host: "tcp://192.0.2.1:2376"}); err != nil {
					t.Fatal(err)
				}
				userMeta, _ = os.ReadFile(filepath.Join(cs.MetaDir("n1"), "meta.json"))
			}
			before := snapshot(t, dir)
			code, stdout, stderr := machineRun(append([]string{"-s", store}, tc.args...)...)
			errs := errorLines(stderr)
			if code == 0 || stdout != "" || len(errs) != 1 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(errs[0], tc.want) {
				t.Fatalf("exit %d, stdout %q, want one Error line with %q; stderr:\n%s", code, stdout, tc.want, stderr)
			}
			if after := snapshot(t, dir); !equalMaps(before, after) {
				t.Fatalf("the docker configuration changed:\nbefore %v\nafter  %v", before, after)
			}
			if tc.userN1 {
				if b, _ := os.ReadFile(filepath.Join(cs.MetaDir("n1"), "meta.json")); !bytes.Equal(b, userMeta) {
					t.Fatalf("the user's context changed: %s", b)
				}
			}
		})
	}
}

// TestRmContext: rm removes the context machine made for the machine, and
// when it was current, makes docker's default current again; a context of
// the same name that machine did not make for this store stays.
func TestRmContext(t *testing.T) {
	store := storeWith(t, "n1", "n2")
	withCerts(t, store, "n1", "n2")
	dir := dockerEnv(t)
	cs := dockercontext.New(dir)
	if code, _, stderr := machineRun("-s", store, "use", "n1"); code != 0 {
		t.Fatalf("use n1: %s", stderr)
	}
	// n2's context belongs to another store (a machine of the same name
	// there).
	if err := cs.Write(dockercontext.Context{Name: "n2", Host: "tcp://192.0.2.2:2376", Owner: "/elsewhere/store"}); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := machineRun("-s", store, "rm", "-y", "n1", "n2")
	if code != 0 || !strings.Contains(stderr, "Docker context n1 was the current one; docker uses its default context again.") {
		t.Fatalf("rm: exit %d, stderr:\n%s", code, stderr)
	}
	if _, err := cs.Get("n1"); err == nil {
		t.Fatal("context n1 left after rm")
	}
	if _, err := os.Stat(cs.TLSDir("n1")); !os.IsNotExist(err) {
		t.Fatalf("n1's TLS material left after rm: %v", err)
	}
	if cur, err := cs.Current(); err != nil || cur != "default" {
		t.Fatalf("current context after rm: %q, %v", cur, err)
	}
	if c, err := cs.Get("n2"); err != nil || c.Owner != "/elsewhere/store" {
		t.Fatalf("another store's context n2 after rm: %+v, %v", c, err)
	}
	var cfg map[string]any
	b, _ := os.ReadFile(cs.ConfigPath())
	if err := json.Unmarshal(b, &cfg); err != nil || len(cfg) != 0 {
		t.Fatalf("config.json after rm: %s (%v)", b, err)
	}
}

// snapshot maps every file below dir to its content (directories to "/").
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.IsDir() {
			m[p] = "/"
			return nil
		}
		b, err := os.ReadFile(p)
		m[p] = string(b)
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return m
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/machine-cli/machine/certs"
)

// TestRegenerateCertsRefused: regenerate-certs says what it will do (with
// --client-certs, which other machines then need new certificates), asks
// as rm does, and changes nothing when the answer is not yes. The rendered
// question and warning are golden files.
func TestRegenerateCertsRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		stdin  string
		err    string // the one Error line
		golden string // the stderr golden file, "" for none
	}{
		{name: "declined", args: []string{"regenerate-certs", "n1"}, stdin: "n\n",
			err: "Error: not confirmed: no certificates regenerated (pass -f to regenerate without asking)", golden: "regenerate-certs-declined.golden"},
		{name: "client certs declined", args: []string{"regenerate-certs", "--client-certs", "n1"}, stdin: "no\n",
			err: "Error: not confirmed: no certificates regenerated (pass -f to regenerate without asking)", golden: "regenerate-certs-client-certs.golden"},
		{name: "client certs for all", args: []string{"regenerate-certs", "--client-certs", "n1", "n2", "n3"}, stdin: "n\n",
			err: "Error: not confirmed: no certificates regenerated (pass -f to regenerate without asking)", golden: "regenerate-certs-client-certs-all.golden"},
		{name: "end of input", args: []string{"regenerate-certs", "n1"}, stdin: "",
			err: "Error: no answer on stdin: no certificates regenerated (pass -f to regenerate without asking)"},
		{name: "unknown machine", args: []string{"regenerate-certs", "-f", "n1", "nope"},
			err: `Error: machine "nope" does not exist; run ` + "`machine ls`" + ` to list the machines`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := storeWith(t, "n1", "n2", "n3")
			if _, err := certs.EnsureStoreCerts(filepath.Join(store, "certs"), "test"); err != nil {
				t.Fatal(err)
			}
			caBefore := readFile(t, filepath.Join(store, "certs", "ca.pem"))
			var stdout, stderr bytes.Buffer
			code := runWith(append([]string{"machine", "-s", store}, tc.args...), strings.NewReader(tc.stdin), &stdout, &stderr)
			if code == 0 || stdout.Len() != 0 {
				t.Fatalf("exit %d, stdout %q; want a failure and nothing on stdout", code, stdout.String())
			}
			if lines := errorLines(stderr.String()); len(lines) != 1 || lines[0] != tc.err {
				t.Fatalf("error lines %q, want %q\nstderr:\n%s", lines, tc.err, stderr.String())
			}
			if tc.golden != "" {
				golden(t, tc.golden, []byte(strings.ReplaceAll(stderr.String(), store, "STORE")))
			}
			if readFile(t, filepath.Join(store, "certs", "ca.pem")) != caBefore {
				t.Error("the store's CA changed")
			}
			for _, n := range []string{"n1", "n2", "n3"} {
				if _, err := os.Stat(filepath.Join(store, "machines", n, "server.pem")); !os.IsNotExist(err) {
					t.Errorf("%s got a server certificate: %v", n, err)
				}
			}
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

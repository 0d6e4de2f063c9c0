package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// storeWith makes a store holding generic machines (the test config, which
// points at addresses nothing answers on, 10.0.0.5 for the first name,
// 10.0.0.6 for the next...; removing a generic machine does not contact it).
func storeWith(t *testing.T, names ...string) string {
	t.Helper()
	cfg, err := os.ReadFile(filepath.Join("testdata", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	for i, n := range names {
		dir := filepath.Join(store, "machines", n)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		c := strings.ReplaceAll(string(cfg), `"n1"`, `"`+n+`"`)
		c = strings.ReplaceAll(c, `"10.0.0.5"`, fmt.Sprintf(`"10.0.0.%d"`, 5+i))
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return store
}

func exists(t *testing.T, store, name string) bool {
	t.Helper()
	_, err := os.Stat(filepath.Join(store, "machines", name))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return err == nil
}

// errorLines returns the lines of stderr that start with "Error".
func errorLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "Error") {
			out = append(out, l)
		}
	}
	return out
}

// TestRmConfirm: rm without -y asks on stderr and reads the answer from
// stdin, a terminal or not; only y or yes removes.
func TestRmConfirm(t *testing.T) {
	const warning = "About to remove n1, n2\nWARNING: This action will delete both local reference and remote instance.\n"
	tests := []struct {
		name    string
		stdin   string
		removed bool
		err     string // the Error line's text when not removed
	}{
		{"y", "y\n", true, ""},
		{"yes", "yes\n", true, ""},
		{"Y", "Y\n", true, ""},
		{"YES without a newline", "YES", true, ""},
		{"spaces around", "  y \n", true, ""},
		{"n", "n\n", false, "not confirmed"},
		{"no", "no\n", false, "not confirmed"},
		{"empty line", "\n", false, "not confirmed"},
		{"EOF", "", false, "no answer on stdin"},
		{"garbage then EOF", "maybe\n", false, "no answer on stdin"},
		{"garbage without a newline", "maybe", false, `answer "maybe" is neither y nor n`},
		{"garbage then y", "maybe\ny\n", true, ""},
		{"garbage then n", "sure\nn\n", false, "not confirmed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := storeWith(t, "n1", "n2")
			var stdout, stderr bytes.Buffer
			code := runWith([]string{"machine", "-s", store, "rm", "n1", "n2"}, strings.NewReader(tc.stdin), &stdout, &stderr)
			if stdout.Len() != 0 {
				t.Errorf("stdout: %q", stdout.String())
			}
			// The answer is not echoed from a pipe: the prompt's line ends
			// before anything else is printed.
			if !strings.HasPrefix(stderr.String(), warning+"Are you sure? (y/n): \n") {
				t.Errorf("stderr does not start with the question:\n%s", stderr.String())
			}
			for _, n := range []string{"n1", "n2"} {
				if got := exists(t, store, n); got == tc.removed {
					t.Errorf("%s exists = %v after answer %q", n, got, tc.stdin)
				}
			}
			errs := errorLines(stderr.String())
			if tc.removed {
				if code != 0 || len(errs) != 0 {
					t.Errorf("exit %d, stderr:\n%s", code, stderr.String())
				}
				if !strings.Contains(stderr.String(), "Successfully removed n1\nSuccessfully removed n2\n") {
					t.Errorf("stderr lacks the removals:\n%s", stderr.String())
				}
				return
			}
			if code == 0 || len(errs) != 1 || !strings.Contains(errs[0], tc.err) || !strings.Contains(errs[0], "nothing removed") {
				t.Errorf("exit %d, want non-zero and one Error line with %q and \"nothing removed\":\n%s", code, tc.err, stderr.String())
			}
		})
	}
}

// TestRmSeveral: rm goes through every name; the names that fail make one
// Error line together and the others are removed.
func TestRmSeveral(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		removed []string
		kept    []string
		errs    []string
	}{
		{"all there", []string{"a", "b"}, []string{"a", "b"}, []string{"c"}, nil},
		{"one missing", []string{"a", "ghost", "b"}, []string{"a", "b"}, []string{"c"}, []string{`"ghost" does not exist`}},
		{"two missing", []string{"ghost1", "c", "ghost2"}, []string{"c"}, []string{"a", "b"}, []string{`"ghost1" does not exist`, `"ghost2" does not exist`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := storeWith(t, "a", "b", "c")
			var stdout, stderr bytes.Buffer
			code := runWith(append([]string{"machine", "-s", store, "rm", "-y"}, tc.args...), strings.NewReader(""), &stdout, &stderr)
			for _, n := range tc.removed {
				if exists(t, store, n) {
					t.Errorf("%s not removed", n)
				}
				if !strings.Contains(stderr.String(), "Successfully removed "+n+"\n") {
					t.Errorf("stderr does not report %s removed:\n%s", n, stderr.String())
				}
			}
			for _, n := range tc.kept {
				if !exists(t, store, n) {
					t.Errorf("%s removed", n)
				}
			}
			errs := errorLines(stderr.String())
			if len(tc.errs) == 0 {
				if code != 0 || len(errs) != 0 {
					t.Errorf("exit %d, stderr:\n%s", code, stderr.String())
				}
				return
			}
			if code == 0 || len(errs) != 1 {
				t.Fatalf("exit %d, want non-zero and one Error line:\n%s", code, stderr.String())
			}
			for _, want := range tc.errs {
				if !strings.Contains(errs[0], want) {
					t.Errorf("Error line lacks %q: %s", want, errs[0])
				}
			}
		})
	}
}

// TestIPSeveral: ip prints one address per line in the order of the names;
// the names that fail make one Error line and the others are still printed.
func TestIPSeveral(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		stdout string
		errs   []string
	}{
		{"in order", []string{"c", "a", "b"}, "10.0.0.7\n10.0.0.5\n10.0.0.6\n", nil},
		{"one missing", []string{"b", "ghost", "a"}, "10.0.0.6\n10.0.0.5\n", []string{`"ghost" does not exist`}},
		{"two missing", []string{"ghost1", "c", "ghost2"}, "10.0.0.7\n", []string{`"ghost1" does not exist`, `"ghost2" does not exist`}},
	}
	store := storeWith(t, "a", "b", "c")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"machine", "-s", store, "ip"}, tc.args...), &stdout, &stderr)
			if stdout.String() != tc.stdout {
				t.Errorf("stdout = %q, want %q", stdout.String(), tc.stdout)
			}
			errs := errorLines(stderr.String())
			if len(tc.errs) == 0 {
				if code != 0 || stderr.Len() != 0 {
					t.Errorf("exit %d, stderr:\n%s", code, stderr.String())
				}
				return
			}
			if code == 0 || len(errs) != 1 || strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 {
				t.Fatalf("exit %d, want non-zero and one Error line:\n%s", code, stderr.String())
			}
			for _, want := range tc.errs {
				if !strings.Contains(errs[0], want) {
					t.Errorf("Error line lacks %q: %s", want, errs[0])
				}
			}
		})
	}
}

// TestRmConfirmInterrupted: Ctrl-C or SIGTERM (the command's context ends)
// while rm waits for its answer ends the wait: nothing is removed.
func TestRmConfirmInterrupted(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close() // ends the read left waiting
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	env := &cliEnv{stdin: pr, stdout: io.Discard, stderr: &stderr}
	type result struct {
		ok  bool
		err error
	}
	done := make(chan result, 1)
	go func() {
		ok, err := confirm(ctx, env, []string{"n1"})
		done <- result{ok, err}
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case r := <-done:
		if r.ok || !errors.Is(r.err, context.Canceled) || !strings.Contains(r.err.Error(), "nothing removed") {
			t.Errorf("confirm = %v, %v; want false and an error saying nothing was removed", r.ok, r.err)
		}
		if !strings.HasSuffix(stderr.String(), "Are you sure? (y/n): \n") {
			t.Errorf("stderr %q: the prompt's line is not ended", stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("confirm still waits for stdin after its context ended")
	}
}

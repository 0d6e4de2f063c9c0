package dockercontext

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// dockerConfig is a config.json as the docker CLI writes it (tabs), with
// members machine knows nothing about.
const dockerConfig = `{
	"auths": {
		"registry.example.com": {
			"auth": "dXNlcjpwYXNz"
		}
	},
	"psFormat": "table {{.ID}}\t{{.Names}}",
	"credsStore": "desktop",
	"someFutureKey": [1, 2.50, {"x": null}]
}`

// TestSetCurrent: currentContext is set, replaced and removed, and every
// other byte of the file stays as it was.
func TestSetCurrent(t *testing.T) {
	for _, tc := range []struct {
		name, in, set, want string
		changed             bool
	}{
		{name: "no file", in: "", set: "n1", want: "{\n\t\"currentContext\": \"n1\"\n}", changed: true},
		{name: "no file, unset", in: "", set: "", want: "", changed: false},
		{name: "white space only", in: " \n", set: "n1", want: "{\n\t\"currentContext\": \"n1\"\n}", changed: true},
		{name: "docker's file: added last, indented alike", in: dockerConfig, set: "n1",
			want: strings.TrimSuffix(dockerConfig, "\n}") + ",\n\t\"currentContext\": \"n1\"\n}", changed: true},
		{name: "docker's file with a current context: replaced in place",
			in:   "{\n\t\"auths\": {},\n\t\"currentContext\": \"old\",\n\t\"aliases\": {\"builder\": \"buildx\"}\n}",
			set:  "n1",
			want: "{\n\t\"auths\": {},\n\t\"currentContext\": \"n1\",\n\t\"aliases\": {\"builder\": \"buildx\"}\n}", changed: true},
		{name: "unset in the middle",
			in:   "{\n\t\"auths\": {},\n\t\"currentContext\": \"n1\",\n\t\"aliases\": {}\n}",
			set:  "",
			want: "{\n\t\"auths\": {},\n\t\"aliases\": {}\n}", changed: true},
		{name: "unset first member",
			in:   "{\n\t\"currentContext\": \"n1\",\n\t\"auths\": {}\n}",
			set:  "",
			want: "{\n\t\"auths\": {}\n}", changed: true},
		{name: "unset last member",
			in:   "{\n\t\"auths\": {},\n\t\"currentContext\": \"n1\"\n}",
			set:  "",
			want: "{\n\t\"auths\": {}\n}", changed: true},
		{name: "unset only member", in: "{\n\t\"currentContext\": \"n1\"\n}", set: "", want: "{}", changed: true},
		{name: "unset when absent: untouched", in: dockerConfig, set: "", want: dockerConfig, changed: false},
		{name: "same context: untouched", in: `{"currentContext":"n1"}`, set: "n1", want: `{"currentContext":"n1"}`, changed: false},
		{name: "empty currentContext is default already", in: `{"currentContext":""}`, set: "", want: `{"currentContext":""}`, changed: false},
		{name: "null currentContext is default", in: `{"currentContext":null,"a":1}`, set: "n1", want: `{"currentContext":"n1","a":1}`, changed: true},
		{name: "compact file stays compact", in: `{"auths":{},"x":"y"}`, set: "n1", want: `{"auths":{},"x":"y","currentContext":"n1"}`, changed: true},
		{name: "one-line file with spaces", in: `{"auths": {}, "x": 1}`, set: "n1", want: `{"auths": {}, "x": 1, "currentContext": "n1"}`, changed: true},
		{name: "empty object", in: "{}", set: "n1", want: "{\n\t\"currentContext\": \"n1\"\n}", changed: true},
		{name: "empty object, trailing newline kept", in: "{ }\n", set: "n1", want: "{\n\t\"currentContext\": \"n1\"\n}\n", changed: true},
		{name: "four-space indent", in: "{\n    \"auths\": {}\n}\n", set: "n1", want: "{\n    \"auths\": {},\n    \"currentContext\": \"n1\"\n}\n", changed: true},
		{name: "CRLF file", in: "{\r\n\t\"auths\": {}\r\n}\r\n", set: "n1", want: "{\r\n\t\"auths\": {},\r\n\t\"currentContext\": \"n1\"\r\n}\r\n", changed: true},
		{name: "duplicates: the last one counts and stays",
			in:   `{"currentContext":"a","x":1,"currentContext":"b"}`,
			set:  "n1",
			want: `{"x":1,"currentContext":"n1"}`, changed: true},
		{name: "duplicates of the same name are cleaned up", in: `{"currentContext":"n1","currentContext":"n1"}`, set: "n1", want: `{"currentContext":"n1"}`, changed: true},
		{name: "duplicates: unset removes them all", in: `{"currentContext":"a","x":1,"currentContext":"b"}`, set: "", want: `{"x":1}`, changed: true},
		{name: "escaped key is the same key", in: `{"current\u0043ontext":"a"}`, set: "n1", want: `{"current\u0043ontext":"n1"}`, changed: true},
		{name: "values and escapes elsewhere kept byte for byte",
			in:   `{"a":"\u00e9\n","b":1.0e+2,"c":[ true ,false ],"d":{"currentContext":"nested"}}`,
			set:  "n1",
			want: `{"a":"\u00e9\n","b":1.0e+2,"c":[ true ,false ],"d":{"currentContext":"nested"},"currentContext":"n1"}`, changed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed, err := setCurrent([]byte(tc.in), tc.set)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want || changed != tc.changed {
				t.Fatalf("setCurrent(%q, %q) =\n%q, changed %v\nwant\n%q, changed %v", tc.in, tc.set, got, changed, tc.want, tc.changed)
			}
			if tc.want != "" && !json.Valid(got) {
				t.Fatalf("result is not JSON: %q", got)
			}
		})
	}
}

// TestSetCurrentRefuses: a config.json that is not one JSON object is an
// error, not a rewrite.
func TestSetCurrentRefuses(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"truncated", `{"auths": {`, "invalid JSON"},
		{"array", `[]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"string", `"x"`, "not a JSON object"},
		{"trailing garbage", `{} x`, "after the object"},
		{"two objects", `{}{}`, "after the object"},
		{"currentContext not a string", `{"currentContext": 5}`, "currentContext is not a string"},
		{"trailing comma", `{"a":1,}`, "invalid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, set := range []string{"n1", ""} {
				_, _, err := setCurrent([]byte(tc.in), set)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("setCurrent(%q, %q) = %v, want an error with %q", tc.in, set, err, tc.want)
				}
			}
		})
	}
}

// TestCurrent reads the current context; no file or no member is "default".
func TestCurrent(t *testing.T) {
	for _, tc := range []struct {
		name, in string // "-" is no file
		want     string
	}{
		{"no file", "-", "default"},
		{"no member", dockerConfig, "default"},
		{"empty", `{"currentContext": ""}`, "default"},
		{"set", `{"currentContext": "n1"}`, "n1"},
		{"last of duplicates", `{"currentContext": "a", "currentContext": "b"}`, "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(t.TempDir())
			if tc.in != "-" {
				if err := os.WriteFile(s.ConfigPath(), []byte(tc.in), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.Current()
			if err != nil || got != tc.want {
				t.Fatalf("Current = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestResetIfCurrent: only the named context is reset.
func TestResetIfCurrent(t *testing.T) {
	for _, tc := range []struct {
		name, in, reset, want string
		changed               bool
	}{
		{"current", `{"a":1,"currentContext":"n1"}`, "n1", `{"a":1}`, true},
		{"another is current", `{"a":1,"currentContext":"n2"}`, "n1", `{"a":1,"currentContext":"n2"}`, false},
		{"default is current", `{"a":1}`, "n1", `{"a":1}`, false},
		{"a name machine would not write is current", `{"currentContext":"x"}`, "n1", `{"currentContext":"x"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(t.TempDir())
			if err := os.WriteFile(s.ConfigPath(), []byte(tc.in), 0o600); err != nil {
				t.Fatal(err)
			}
			changed, err := s.ResetIfCurrent(tc.reset)
			if err != nil || changed != tc.changed {
				t.Fatalf("ResetIfCurrent = %v, %v; want %v", changed, err, tc.changed)
			}
			if b, _ := os.ReadFile(s.ConfigPath()); string(b) != tc.want {
				t.Fatalf("config.json = %s, want %s", b, tc.want)
			}
		})
	}
}

// TestSetCurrentFile covers the file itself: creation, mode, symbolic
// links, and broken files left untouched.
func TestSetCurrentFile(t *testing.T) {
	t.Run("creates the directory and a 0600 file", func(t *testing.T) {
		s := New(filepath.Join(t.TempDir(), "new", "docker"))
		if changed, err := s.SetCurrent("n1"); err != nil || !changed {
			t.Fatalf("SetCurrent = %v, %v", changed, err)
		}
		fi, err := os.Stat(s.ConfigPath())
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
		}
		if cur, err := s.Current(); err != nil || cur != "n1" {
			t.Fatalf("Current = %q, %v", cur, err)
		}
	})
	t.Run("unset without a file creates nothing", func(t *testing.T) {
		s := New(filepath.Join(t.TempDir(), "docker"))
		if changed, err := s.SetCurrent("default"); err != nil || changed {
			t.Fatalf("SetCurrent(default) = %v, %v", changed, err)
		}
		if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
			t.Fatalf("the directory was made: %v", err)
		}
	})
	t.Run("keeps the file's mode", func(t *testing.T) {
		s := New(t.TempDir())
		if err := os.WriteFile(s.ConfigPath(), []byte(dockerConfig), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(s.ConfigPath(), 0o640); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetCurrent("n1"); err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(s.ConfigPath())
		if fi.Mode().Perm() != 0o640 {
			t.Fatalf("mode %v, want 0640", fi.Mode().Perm())
		}
		var m map[string]any
		b, _ := os.ReadFile(s.ConfigPath())
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		var want map[string]any
		_ = json.Unmarshal([]byte(dockerConfig), &want)
		want["currentContext"] = "n1"
		if !reflect.DeepEqual(m, want) {
			t.Fatalf("config.json = %v, want %v", m, want)
		}
	})
	t.Run("writes through a symbolic link", func(t *testing.T) {
		dir := t.TempDir()
		real := filepath.Join(dir, "dotfiles", "docker.json")
		if err := os.MkdirAll(filepath.Dir(real), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(real, []byte(`{"auths":{}}`), 0o600); err != nil {
			t.Fatal(err)
		}
		s := New(filepath.Join(dir, "docker"))
		_ = os.Mkdir(s.Dir, 0o700)
		if err := os.Symlink(real, s.ConfigPath()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetCurrent("n1"); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(s.ConfigPath()); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("config.json is no longer a link: %v", err)
		}
		if b, _ := os.ReadFile(real); string(b) != `{"auths":{},"currentContext":"n1"}` {
			t.Fatalf("the link's target holds %s", b)
		}
	})
	for _, tc := range []struct {
		name string
		make func(path string) error
		want string
	}{
		{"corrupt file", func(p string) error { return os.WriteFile(p, []byte(`{"auths": {`), 0o600) }, "invalid JSON"},
		{"unreadable (a directory)", func(p string) error { return os.Mkdir(p, 0o700) }, "is a directory"},
	} {
		t.Run(tc.name+" is left untouched", func(t *testing.T) {
			s := New(t.TempDir())
			if err := tc.make(s.ConfigPath()); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(s.ConfigPath())
			for _, set := range []string{"n1", "default"} {
				_, err := s.SetCurrent(set)
				var ce *ConfigError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), s.ConfigPath()) {
					t.Fatalf("SetCurrent(%s) = %v, want a ConfigError naming the file, with %q", set, err, tc.want)
				}
			}
			if _, err := s.Current(); err == nil {
				t.Fatal("Current succeeded")
			}
			after, _ := os.ReadFile(s.ConfigPath())
			if string(before) != string(after) {
				t.Fatalf("the file changed: %q -> %q", before, after)
			}
			entries, _ := os.ReadDir(s.Dir)
			if len(entries) != 1 {
				t.Fatalf("the directory holds %d entries, want config.json only", len(entries))
			}
		})
	}
}

// FuzzSetCurrent: whatever config.json holds, setCurrent either refuses it
// or returns JSON whose currentContext is the name and whose other members
// are unchanged.
func FuzzSetCurrent(f *testing.F) {
	for _, s := range []string{dockerConfig, `{}`, `{"currentContext":"a","b":[1,{"c":2}]}`, "{\n\t\"a\": 1\n}", `[]`, ``, `{"a":1,"currentContext":"x","currentContext":"y"}`} {
		f.Add(s, "n1")
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, in, name string) {
		if name != "" && ValidateName(name) != nil {
			return // SetCurrent refuses it before setCurrent
		}
		out, changed, err := setCurrent([]byte(in), name)
		if err != nil {
			return
		}
		if !changed {
			if string(out) != in {
				t.Fatalf("unchanged, yet %q became %q", in, out)
			}
			if cur, err := currentOf(out); err != nil || cur != name {
				t.Fatalf("unchanged %q has currentContext %q, %v; want %q", in, cur, err, name)
			}
			return
		}
		var before, after map[string]json.RawMessage
		if err := json.Unmarshal(out, &after); err != nil {
			t.Fatalf("result %q is not a JSON object: %v", out, err)
		}
		if len(in) > 0 && json.Unmarshal([]byte(in), &before) != nil && strings.TrimSpace(in) != "" {
			t.Fatalf("accepted %q, which Go's decoder refuses", in)
		}
		cur, err := currentOf(out)
		if err != nil || cur != name {
			t.Fatalf("currentContext of %q = %q, %v; want %q", out, cur, err, name)
		}
		delete(before, currentKey)
		delete(after, currentKey)
		if len(before) != len(after) {
			t.Fatalf("members changed: %q -> %q", in, out)
		}
		for k, v := range before {
			if string(after[k]) != string(v) {
				t.Fatalf("member %q changed: %s -> %s", k, v, after[k])
			}
		}
	})
}

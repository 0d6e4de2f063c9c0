package dockercontext

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"n1", true},
		{"my-machine.example.com", true},
		{"A_b+c", true},
		{"0x", true},
		{"x", false},
		{"", false},
		{"default", false},
		{"-ab", false},
		{".ab", false},
		{"a b", false},
		{"a/b", false},
		{"é1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateName(tc.name)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidateName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
			}
		})
	}
}

func TestConfigDir(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"DOCKER_CONFIG wins over HOME", map[string]string{"DOCKER_CONFIG": "/etc/dc", "HOME": "/home/me"}, "/etc/dc"},
		{"DOCKER_CONFIG is cleaned", map[string]string{"DOCKER_CONFIG": "/etc/dc/../dc2/"}, "/etc/dc2"},
		{"relative DOCKER_CONFIG is made absolute", map[string]string{"DOCKER_CONFIG": "rel/dc"}, filepath.Join(wd, "rel/dc")},
		{"HOME/.docker without DOCKER_CONFIG", map[string]string{"HOME": "/home/me"}, "/home/me/.docker"},
		{"empty DOCKER_CONFIG is unset", map[string]string{"DOCKER_CONFIG": "", "HOME": "/home/me"}, "/home/me/.docker"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ConfigDir(func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("ConfigDir = %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("no HOME: the user's home directory", func(t *testing.T) {
		got, err := ConfigDir(func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(got) != ".docker" || !filepath.IsAbs(got) {
			t.Fatalf("ConfigDir = %q, want an absolute .../.docker", got)
		}
	})
}

// TestRenderMeta compares meta.json with golden files: the docker CLI's
// format (checked against `docker context create` on this machine).
func TestRenderMeta(t *testing.T) {
	for _, tc := range []struct {
		golden string
		c      Context
	}{
		{"meta-machine.golden.json", Context{Name: "n1", Description: "machine n1 (driver generic)", Host: "tcp://10.0.0.5:2376", Owner: "/home/me/.docker/machine"}},
		{"meta-docker.golden.json", Context{Name: "xy", Description: "hello", Host: "tcp://1.2.3.4:2376"}},
		{"meta-quoting.golden.json", Context{Name: "a.b-c", Description: `say "hi" <&>`, Host: "tcp://[fd00::1]:2376", Owner: `/tmp/a "b"/store`}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			got, err := renderMeta(tc.c)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("meta.json:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestWriteGetRemove writes a context, reads it back, checks the layout and
// modes the docker CLI uses, and removes it.
func TestWriteGetRemove(t *testing.T) {
	s := New(t.TempDir())
	c := Context{Name: "n1", Description: "machine n1 (driver generic)", Host: "tcp://10.0.0.5:2376", Owner: "/store",
		TLS: TLS{CA: []byte("ca"), Cert: []byte("cert"), Key: []byte("key")}}
	if err := s.Write(c); err != nil {
		t.Fatal(err)
	}
	// sha256("n1")
	const id = "676b8bb84ce7267dd520deca4811c8f10a53e636352f06987f42fe425acedd80"
	for _, f := range []struct {
		path string
		mode os.FileMode
		data string
	}{
		{"contexts/meta/" + id + "/meta.json", 0o644, ""},
		{"contexts/tls", 0o700 | os.ModeDir, ""},
		{"contexts/tls/" + id + "/docker", 0o700 | os.ModeDir, ""},
		{"contexts/tls/" + id + "/docker/ca.pem", 0o600, "ca"},
		{"contexts/tls/" + id + "/docker/cert.pem", 0o600, "cert"},
		{"contexts/tls/" + id + "/docker/key.pem", 0o600, "key"},
	} {
		fi, err := os.Stat(filepath.Join(s.Dir, f.path))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != f.mode {
			t.Errorf("%s: mode %v, want %v", f.path, fi.Mode(), f.mode)
		}
		if f.data != "" {
			if b, _ := os.ReadFile(filepath.Join(s.Dir, f.path)); string(b) != f.data {
				t.Errorf("%s holds %q, want %q", f.path, b, f.data)
			}
		}
	}
	got, err := s.Get("n1")
	if err != nil {
		t.Fatal(err)
	}
	want := c
	want.TLS = TLS{}
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("Get = %+v, want %+v", *got, want)
	}
	if err := s.Remove("n1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("n1"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("Get after Remove: %v, want ErrNotExist", err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "contexts/tls", id)); !os.IsNotExist(err) {
		t.Fatalf("TLS directory left after Remove: %v", err)
	}
	if err := s.Remove("n1"); err != nil {
		t.Fatalf("Remove of a missing context: %v", err)
	}
}

// TestGet reads contexts written by others: the docker CLI's, with fields
// machine does not know, and broken ones.
func TestGet(t *testing.T) {
	for _, tc := range []struct {
		name, meta string
		want       Context
		corrupt    bool
	}{
		{name: "docker's", meta: `{"Name":"xy","Metadata":{"Description":"hello"},"Endpoints":{"docker":{"Host":"tcp://1.2.3.4:2376","SkipTLSVerify":true}}}`,
			want: Context{Name: "xy", Description: "hello", Host: "tcp://1.2.3.4:2376", SkipTLSVerify: true}},
		{name: "ours after docker context update", meta: `{"Name":"xy","Metadata":{"Description":"new","MachineStore":"/s","extra":1},"Endpoints":{"docker":{"Host":"tcp://h:2376","SkipTLSVerify":false},"kubernetes":{"x":1}}}`,
			want: Context{Name: "xy", Description: "new", Host: "tcp://h:2376", Owner: "/s"}},
		{name: "no metadata, no endpoints", meta: `{"Name":"xy"}`, want: Context{Name: "xy"}},
		{name: "owner of the wrong type", meta: `{"Name":"xy","Metadata":{"MachineStore":5}}`, want: Context{Name: "xy"}},
		{name: "invalid JSON", meta: `{"Name":`, corrupt: true},
		{name: "docker endpoint not an object", meta: `{"Name":"xy","Endpoints":{"docker":[1]}}`, corrupt: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(t.TempDir())
			if err := os.MkdirAll(s.MetaDir("xy"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(s.MetaDir("xy"), "meta.json"), []byte(tc.meta), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get("xy")
			var ce *CorruptError
			if tc.corrupt {
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), `docker context "xy" is broken: `+filepath.Join(s.MetaDir("xy"), "meta.json")) {
					t.Fatalf("Get = %v, want a CorruptError naming the context and its file", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Fatalf("Get = %+v, want %+v", *got, tc.want)
			}
		})
	}
}

// TestOwnedBy is the ownership marker: only a context that names this very
// store is machine's to change or remove.
func TestOwnedBy(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	if err := os.Mkdir(store, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(store, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, owner, root string
		want              bool
	}{
		{"same store", store, store, true},
		{"same store, unclean path", store + "/", store, true},
		{"same store through a link", link, store, true},
		{"another store", filepath.Join(dir, "other"), store, false},
		{"a store below", filepath.Join(store, "sub"), store, false},
		{"not machine's (no marker)", "", store, false},
		{"no store", store, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Context{Name: "n1", Owner: tc.owner}
			if got := c.OwnedBy(tc.root); got != tc.want {
				t.Fatalf("OwnedBy(%q) with owner %q = %v, want %v", tc.root, tc.owner, got, tc.want)
			}
		})
	}
}

// TestWriteReplacesTLS: a refresh replaces the TLS material, and a context
// written without any removes what was there.
func TestWriteReplacesTLS(t *testing.T) {
	s := New(t.TempDir())
	c := Context{Name: "n1", Host: "tcp://a:2376", TLS: TLS{CA: []byte("ca1"), Cert: []byte("c1"), Key: []byte("k1")}}
	if err := s.Write(c); err != nil {
		t.Fatal(err)
	}
	c.Host, c.TLS = "tcp://b:2376", TLS{CA: []byte("ca2"), Cert: []byte("c2"), Key: []byte("k2")}
	if err := s.Write(c); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(s.TLSDir("n1"), "docker", "key.pem")); string(b) != "k2" {
		t.Fatalf("key.pem = %q after the refresh, want k2", b)
	}
	if got, _ := s.Get("n1"); got == nil || got.Host != "tcp://b:2376" {
		t.Fatalf("Get after the refresh = %+v", got)
	}
	c.TLS = TLS{}
	if err := s.Write(c); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.TLSDir("n1")); !os.IsNotExist(err) {
		t.Fatalf("TLS directory still there: %v", err)
	}
	if err := s.Write(Context{Name: "default"}); err == nil {
		t.Fatal(`Write of "default" succeeded`)
	}
}

package provision

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/machine-cli/machine/libmachine/host"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
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
		t.Errorf("%s differs (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestRenderDropIn(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   Options
		daemon *daemon // nil: RenderDropIn with /usr/sbin/dockerd
	}{
		{
			name: "default",
			opts: Options{MachineName: "n1", DriverName: "generic"},
		},
		{
			name: "all-options",
			opts: Options{
				MachineName: "n1", DriverName: "qemu", EnginePort: 3376,
				Engine: &host.EngineOptions{
					Labels:           []string{"env=prod", "team=a b"},
					StorageDriver:    "overlay2",
					InsecureRegistry: []string{"10.0.0.5:5000", "registry.local:5000"},
					RegistryMirror:   []string{"https://mirror.example"},
					Dns:              []string{"1.1.1.1"},
					GraphDir:         "/data/docker",
					LogLevel:         "debug",
					Ipv6:             true,
					SelinuxEnabled:   true,
					ArbitraryFlags:   []string{"log-opt=max-size=10m", "--default-ulimit=nofile=1024:2048", "experimental"},
					Env:              []string{"HTTP_PROXY=http://proxy:3128", "NO_PROXY=localhost,127.0.0.1"},
				},
			},
		},
		{
			name: "env-spaces",
			opts: Options{
				MachineName: "n1", DriverName: "generic",
				Engine: &host.EngineOptions{
					Env:    []string{"GREETING=hello world", `QUOTED=say "hi"`, `PCT=100%`, `DOLLAR=$HOME`, `BACKSLASH=a\b`, "EMPTY="},
					Labels: []string{`note=50% off $5`},
				},
			},
		},
		{
			name:   "no-socket-unit",
			opts:   Options{MachineName: "n1", DriverName: "generic"},
			daemon: &daemon{Path: "/usr/local/bin/dockerd"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			var err error
			if tc.daemon == nil {
				got, err = RenderDropIn(tc.opts, "/usr/sbin/dockerd")
			} else {
				got, err = renderDropIn(tc.opts, *tc.daemon)
			}
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "dropin-"+tc.name, got)
		})
	}
}

func TestRenderDropInErrors(t *testing.T) {
	for _, tc := range []struct {
		name, path, want string
		engine           host.EngineOptions
	}{
		{name: "relative path", path: "dockerd", want: "not absolute"},
		{name: "env without =", path: "/usr/bin/dockerd", engine: host.EngineOptions{Env: []string{"FOO"}}, want: `engine env "FOO"`},
		{name: "env bad key", path: "/usr/bin/dockerd", engine: host.EngineOptions{Env: []string{"A B=c"}}, want: "KEY=VALUE"},
		{name: "empty engine opt", path: "/usr/bin/dockerd", engine: host.EngineOptions{ArbitraryFlags: []string{"--"}}, want: "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := RenderDropIn(Options{Engine: &tc.engine}, tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestSystemdQuote: TestDropIn (integration) checks on a real host that
// systemd reads these back as the input.
func TestSystemdQuote(t *testing.T) {
	for _, tc := range []struct {
		in, exec, env string
	}{
		{"plain", "plain", "plain"},
		{"", `""`, `""`},
		{"a b", `"a b"`, `"a b"`},
		{`x"y`, `"x\"y"`, `"x\"y"`},
		{`a\b`, `"a\\b"`, `"a\\b"`},
		{"100%", "100%%", "100%%"},
		{"$HOME", "$$HOME", "$HOME"},
		{";", `";"`, `";"`},
		{"tab\there", `"tab\there"`, `"tab\there"`},
		{"nl\n", `"nl\n"`, `"nl\n"`},
		{"bell\a", `"bell\x07"`, `"bell\x07"`},
		{"it's", `"it's"`, `"it's"`},
		{"%n %h", `"%%n %%h"`, `"%%n %%h"`},
		{"${PATH}", "$${PATH}", "${PATH}"},
		{"a$$b", "a$$$$b", "a$$b"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := systemdQuote(tc.in, true); got != tc.exec {
				t.Errorf("systemdQuote(%q, exec) = %s, want %s", tc.in, got, tc.exec)
			}
			if got := systemdQuote(tc.in, false); got != tc.env {
				t.Errorf("systemdQuote(%q, env) = %s, want %s", tc.in, got, tc.env)
			}
		})
	}
}

func TestEnsureHostsEntry(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		changed        bool
	}{
		{
			name:    "debian default",
			in:      "127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n\n::1 localhost ip6-localhost\n",
			want:    "127.0.0.1\tlocalhost\n127.0.1.1 n1\n\n::1 localhost ip6-localhost\n",
			changed: true,
		},
		{
			name:    "container: no 127.0.1.1, no final newline",
			in:      "127.0.0.1\tlocalhost\n172.18.0.2\tabc123",
			want:    "127.0.0.1\tlocalhost\n172.18.0.2\tabc123\n127.0.1.1 n1\n",
			changed: true,
		},
		{
			name: "already there",
			in:   "127.0.0.1 localhost\n127.0.1.1   n1\n",
			want: "127.0.0.1 localhost\n127.0.1.1   n1\n",
		},
		{
			name:    "alias on the line is replaced",
			in:      "127.0.1.1 n1 old\n",
			want:    "127.0.1.1 n1\n",
			changed: true,
		},
		{
			name:    "empty",
			in:      "",
			want:    "127.0.1.1 n1\n",
			changed: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := ensureHostsEntry(tc.in, "n1")
			if got != tc.want || changed != tc.changed {
				t.Errorf("got %q, %v; want %q, %v", got, changed, tc.want, tc.changed)
			}
		})
	}
}

package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// copyMachine copies machine src's directory to a new machine dst (the
// certificates, key and config, with the names changed) and applies edit
// to the copy's config: a second machine entry for the same real host, or
// a broken variant of it.
func copyMachine(t *testing.T, store, src, dst string, edit func(cfg, drv map[string]any)) {
	t.Helper()
	from, to := filepath.Join(store, "machines", src), filepath.Join(store, "machines", dst)
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(to, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	drv := cfg["Driver"].(map[string]any)
	cfg["Name"], drv["MachineName"] = dst, dst
	if edit != nil {
		edit(cfg, drv)
	}
	out, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(to, "config.json"), out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// closedLoopbackPort returns a loopback port where nothing listens.
func closedLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestLSBrokenStore: a store with a real machine, three more entries for
// the same host, a corrupt machine, one of a driver that is not installed,
// one whose engine port is closed and one at a closed loopback port. `ls
// --timeout 3` shows every row, each error in its own row, the good rows
// complete, and exits 0; -q, --filter and --format work on it.
func TestLSBrokenStore(t *testing.T) {
	h := startHost(t, dockerImage)
	m := newCLI(t)
	m.createGeneric(t, h, "real1")
	url := strings.TrimSpace(m.ok(t, "url", "real1").Stdout)
	for _, n := range []string{"real2", "real3", "real4"} {
		copyMachine(t, m.store, "real1", n, nil)
	}
	copyMachine(t, m.store, "real1", "driverless", func(cfg, _ map[string]any) { cfg["DriverName"] = "hyperv" })
	copyMachine(t, m.store, "real1", "engine-closed", func(cfg, drv map[string]any) {
		// Our own field for the engine port wins over the driver's: drop
		// the stored endpoint so that the driver's config is used.
		delete(cfg, "MachineEndpoint")
		drv["EnginePort"] = 2999
	})
	port := closedLoopbackPort(t)
	copyMachine(t, m.store, "real1", "loopback-closed", func(cfg, drv map[string]any) {
		delete(cfg, "MachineEndpoint")
		drv["IPAddress"], drv["SSHPort"], drv["EnginePort"] = "127.0.0.1", port, port
	})
	corrupt := filepath.Join(m.store, "machines", "corrupt")
	if err := os.MkdirAll(corrupt, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(corrupt, "config.json"), []byte(`{"ConfigVersion": 3, "Driver": {`), 0o600); err != nil {
		t.Fatal(err)
	}
	names := []string{"corrupt", "driverless", "engine-closed", "loopback-closed", "real1", "real2", "real3", "real4"}
	m = m.withEnv("DOCKER_HOST=" + url)

	t.Run("every row with its own error", func(t *testing.T) {
		r := m.ok(t, "ls", "--timeout", "3", "-f", "{{.Name}}|{{.Active}}|{{.DriverName}}|{{.State}}|{{.URL}}|{{.DockerVersion}}|{{.Error}}")
		type row struct{ active, driver, state, url, version, err string }
		want := map[string]row{
			"corrupt":         {"-", "unknown", "Error", "", "", `machine "corrupt" is broken`},
			"driverless":      {"-", "hyperv", "Error", "", "", `"machine-driver-hyperv"`},
			"engine-closed":   {"-", "generic", "Running", fmt.Sprintf("tcp://%s:2999", h.IP), "Unknown", "Cannot connect to the Docker daemon"},
			"loopback-closed": {"-", "generic", "Stopped", "", "", ""},
		}
		for _, n := range []string{"real1", "real2", "real3", "real4"} {
			want[n] = row{"*", "generic", "Running", url, "v", ""}
		}
		lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
		var got []string
		for _, l := range lines {
			f := strings.Split(l, "|")
			if len(f) != 7 {
				t.Fatalf("ls row %q", l)
			}
			got = append(got, f[0])
			w := want[f[0]]
			if f[1] != w.active || f[2] != w.driver || f[3] != w.state || f[4] != w.url ||
				!strings.HasPrefix(f[5], w.version) || (w.version == "") != (f[5] == "") ||
				!strings.Contains(f[6], w.err) || (w.err == "") != (f[6] == "") {
				t.Errorf("ls row %q, want %+v", l, w)
			}
		}
		if !slices.Equal(got, names) {
			t.Errorf("ls rows %v, want %v", got, names)
		}
	})
	t.Run("quiet", func(t *testing.T) {
		if got := m.ok(t, "ls", "-q").Stdout; got != strings.Join(names, "\n")+"\n" {
			t.Errorf("ls -q = %q", got)
		}
	})
	t.Run("filters", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--filter", "state=running", "--filter", "name=^real[13]$"}, "real1\nreal3\n"},
			{[]string{"--filter", "driver=hyperv"}, "driverless\n"},
			{[]string{"--filter", "state=Error"}, "corrupt\ndriverless\n"},
			{[]string{"--filter", "state=stopped"}, "loopback-closed\n"},
			{[]string{"--filter", "name=closed", "--filter", "state=running"}, "engine-closed\n"},
		} {
			args := append([]string{"ls", "--timeout", "3", "-q"}, tc.args...)
			if got := m.ok(t, args...).Stdout; got != tc.want {
				t.Errorf("%s = %q, want %q", strings.Join(args, " "), got, tc.want)
			}
		}
	})
	t.Run("table format", func(t *testing.T) {
		r := m.ok(t, "ls", "--timeout", "3", "--filter", "name=^real", "-f", `table {{.Name}}\t{{.ActiveHost}}\t{{.State}}`)
		lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
		if len(lines) != 5 || strings.Join(strings.Fields(lines[0]), " ") != "NAME ACTIVE_HOST STATE" {
			t.Fatalf("ls table:\n%s", r.Stdout)
		}
		for i, l := range lines[1:] {
			if got := strings.Join(strings.Fields(l), " "); got != fmt.Sprintf("real%d true Running", i+1) {
				t.Errorf("ls table row %q", l)
			}
		}
	})
}

package libmachine

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/drivers/generic"
	"github.com/machine-cli/machine/drivers/plugin"
	"github.com/machine-cli/machine/internal/fsutil"
	"github.com/machine-cli/machine/internal/standin"
	"github.com/machine-cli/machine/libmachine/store"
)

// TestMain lets the test binary serve the generic driver, as the machine
// binary does when run as `machine __driver generic`.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == DriverCommand && os.Args[2] == "generic" {
		plugin.Serve(generic.New)
		return
	}
	os.Exit(m.Run())
}

// testClient is a client of the store at root whose generic driver is
// served by this test binary.
func testClient(t *testing.T, root string) *Client {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{Store: store.New(root), Plugins: &Plugins{Self: self, Builtins: []string{"generic"}}}
	t.Cleanup(c.Plugins.Close)
	return c
}

// listStore makes a store with one machine of each kind ls must show: up
// (at the stand-in engine), stopped (a closed SSH port), engine-down (SSH
// answers, the engine port is closed), frozen (a port that never answers),
// corrupt (invalid config.json), driverless (a driver with no plugin), hung
// (a driver whose plugin never starts), and fifo (a config.json that
// blocks whoever reads it, as on a hung file system). Without slow, the
// frozen, hung and fifo machines are left out.
func listStore(t *testing.T, slow bool) string {
	t.Helper()
	root := t.TempDir()
	p := standin.Store(t, root)
	engine, closed, silent := standin.Engine(t, p), standin.ClosedPort(t), standin.SilentPort(t)
	standin.Machine(t, root, p, "a-up", "generic", engine, engine)
	standin.Machine(t, root, p, "b-stopped", "generic", closed, closed)
	standin.Machine(t, root, p, "c-engine-down", "generic", engine, closed)
	if slow {
		standin.Machine(t, root, p, "d-frozen", "generic", silent, silent)
	}
	standin.Machine(t, root, p, "e-corrupt", "generic", engine, engine)
	if err := fsutil.WriteFileAtomic(filepath.Join(root, "machines", "e-corrupt", store.ConfigFile), []byte(`{"ConfigVersion": 3, "Driver": {`), 0o600); err != nil {
		t.Fatal(err)
	}
	standin.Machine(t, root, p, "f-driverless", "virtualbox", engine, engine)
	if slow {
		standin.Machine(t, root, p, "g-hung", standin.HungDriver, engine, engine)
		blockingConfig(t, filepath.Join(root, "machines", "h-fifo"))
	}
	t.Setenv("PATH", standin.HungDriverDir(t)+string(os.PathListSeparator)+os.Getenv("PATH"))
	return root
}

// TestList: every machine gets its row, in the store's order, with its own
// error; the good rows are complete whatever the others do.
func TestList(t *testing.T) {
	c := testClient(t, listStore(t, true))
	st, err := c.List(t.Context(), 3*time.Second, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name, driver string
		state        drivers.State
		version      string
		err          string // a part of the error; "" for none
	}{
		{"a-up", "generic", drivers.Running, "v" + standin.EngineVersion, ""},
		{"b-stopped", "generic", drivers.Stopped, "", ""},
		{"c-engine-down", "generic", drivers.Running, "Unknown", "Cannot connect to the Docker daemon at tcp://127.0.0.1:"},
		{"d-frozen", "generic", drivers.Timeout, "Unknown", "deadline exceeded"},
		{"e-corrupt", "", drivers.Error, "", "config.json"},
		{"f-driverless", "virtualbox", drivers.Error, "", "machine-driver-virtualbox"},
		{"g-hung", standin.HungDriver, drivers.Timeout, "", `start driver "hung"`},
		{"h-fifo", "", drivers.Timeout, "", "no answer within 3s"},
	}
	if len(st) != len(want) {
		t.Fatalf("List returned %d rows, want %d: %+v", len(st), len(want), st)
	}
	for i, w := range want {
		s := st[i]
		if s.Name != w.name || s.DriverName != w.driver || s.State != w.state || s.DockerVersion != w.version {
			t.Errorf("row %d = %s %q %s %q, want %s %q %s %q", i, s.Name, s.DriverName, s.State, s.DockerVersion, w.name, w.driver, w.state, w.version)
		}
		if (w.err == "") != (s.Error == "") || !strings.Contains(s.Error, w.err) {
			t.Errorf("%s: error %q, want one containing %q", s.Name, s.Error, w.err)
		}
		if strings.Contains(s.Error, "\n") {
			t.Errorf("%s: error on several lines: %q", s.Name, s.Error)
		}
		if s.ResponseTime <= 0 || s.ResponseTime > 3*time.Second {
			t.Errorf("%s: response time %s, want within the timeout", s.Name, s.ResponseTime)
		}
	}
	for _, i := range []int{0, 2} {
		if !strings.HasPrefix(st[i].URL, "tcp://127.0.0.1:") {
			t.Errorf("%s: URL %q", st[i].Name, st[i].URL)
		}
	}
}

// blockingConfig makes dir a machine directory whose config.json is a named
// pipe nobody writes: reading it blocks. When the test ends, the pipe is
// opened for writing, removed and closed, so the reader gets an empty file
// and its next read finds none.
func blockingConfig(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, store.ConfigFile)
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		os.Remove(fifo)
		if err == nil {
			w.Close()
		}
	})
}

// TestListFilter: filters on what the store says pick machines without
// asking the others; the state filter applies to the live state.
func TestListFilter(t *testing.T) {
	c := testClient(t, listStore(t, false))
	tests := []struct {
		filter []string
		want   []string
	}{
		{[]string{"name=^[ab]-"}, []string{"a-up", "b-stopped"}},
		{[]string{"driver=VIRTUALBOX"}, []string{"f-driverless"}},
		{[]string{"state=stopped"}, []string{"b-stopped"}},
		{[]string{"state=Running", "name=up|down"}, []string{"a-up", "c-engine-down"}},
		{[]string{"state=error"}, []string{"e-corrupt", "f-driverless"}},
		{[]string{"name=nothing-like-it"}, nil},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.filter, ","), func(t *testing.T) {
			f, err := ParseFilter(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			st, err := c.List(t.Context(), 3*time.Second, f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range st {
				got = append(got, s.Name)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("List %v = %v, want %v", tc.filter, got, tc.want)
			}
			names, err := c.Names(t.Context(), 3*time.Second, f)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(names, got) && !(len(names) == 0 && len(got) == 0) {
				t.Errorf("Names %v = %v, List's names %v", tc.filter, names, got)
			}
		})
	}
}

// TestNamesAsksNoDriver: without a state filter, Names reads the store
// only: a machine of a driver that never starts does not hold it up, and
// no driver is started.
func TestNamesAsksNoDriver(t *testing.T) {
	dir := standin.HungDriverDir(t)
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	root := t.TempDir()
	p := standin.Store(t, root)
	standin.Machine(t, root, p, "h1", standin.HungDriver, 22, 2376)
	c := testClient(t, root)
	f, err := ParseFilter([]string{"driver=hung"})
	if err != nil {
		t.Fatal(err)
	}
	names, err := c.Names(t.Context(), time.Hour, f)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"h1"}) {
		t.Errorf("Names = %v", names)
	}
	if _, err := os.Stat(filepath.Join(dir, standin.HungStarted)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Names started the driver (stat: %v)", err)
	}
}

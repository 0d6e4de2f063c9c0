package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/machine-cli/machine/libmachine/host"
)

func TestResolveRoot(t *testing.T) {
	home := t.TempDir()
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		flag string
		env  map[string]string
		want string
	}{
		{name: "flag wins", flag: "/flag/root", env: map[string]string{"MACHINE_STORAGE_PATH": "/env/root", "HOME": home}, want: "/flag/root"},
		{name: "env when no flag", env: map[string]string{"MACHINE_STORAGE_PATH": "/env/root", "HOME": home}, want: "/env/root"},
		{name: "default", env: map[string]string{"HOME": home}, want: filepath.Join(home, ".docker", "machine")},
		{name: "tilde slash in flag", flag: "~/stores/m", env: map[string]string{"HOME": home}, want: filepath.Join(home, "stores", "m")},
		{name: "tilde alone in env", env: map[string]string{"MACHINE_STORAGE_PATH": "~", "HOME": home}, want: home},
		{name: "tilde user not expanded", flag: "~bob/m", env: map[string]string{"HOME": home}, want: filepath.Join(cwd, "~bob", "m")},
		{name: "relative made absolute", flag: "rel/store", env: map[string]string{"HOME": home}, want: filepath.Join(cwd, "rel", "store")},
		{name: "cleaned", flag: "/a/b/../c/", want: "/a/c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveRoot(tt.flag, func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ResolveRoot(%q) = %q, want %q", tt.flag, got, tt.want)
			}
		})
	}
}

func TestDefaultRoot(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	got, err := DefaultRoot()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(home, ".docker", "machine"); got != want {
		t.Errorf("DefaultRoot() = %q, want %q", got, want)
	}
	t.Setenv(EnvStoragePath, "")
	if got2, err := ResolveRoot("", nil); err != nil || got2 != got {
		t.Errorf("ResolveRoot with os.Getenv = %q, %v; want %q", got2, err, got)
	}
}

func TestPaths(t *testing.T) {
	s := New("/r")
	for _, tt := range []struct{ got, want string }{
		{s.CertsDir(), "/r/certs"},
		{s.MachinesDir(), "/r/machines"},
		{s.MachineDir("n1"), "/r/machines/n1"},
		{s.MachinePath("n1", ConfigFile), "/r/machines/n1/config.json"},
		{s.MachinePath("n1", KnownHostsFile), "/r/machines/n1/known_hosts"},
		{s.MachinePath("n1", SSHKeyFile), "/r/machines/n1/id_rsa"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestList(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, root string)
		want  []string
	}{
		{name: "missing root", setup: func(t *testing.T, root string) {}, want: []string{}},
		{name: "empty machines dir", setup: func(t *testing.T, root string) {
			mkdir(t, filepath.Join(root, MachinesDir))
		}, want: []string{}},
		{name: "stray entries ignored", setup: func(t *testing.T, root string) {
			m := filepath.Join(root, MachinesDir)
			for _, d := range []string{"zeta", "alpha", "broken", ".hidden", "target"} {
				mkdir(t, filepath.Join(m, d))
			}
			writeFile(t, filepath.Join(m, "stray-file"), "x")
			writeFile(t, filepath.Join(m, ".DS_Store"), "x")
			if err := os.Symlink(filepath.Join(m, "target"), filepath.Join(m, "link")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(m, "stray-file"), filepath.Join(m, "filelink")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(m, "nowhere"), filepath.Join(m, "dangling")); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"alpha", "broken", "link", "target", "zeta"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "store")
			tt.setup(t, root)
			got, err := New(root).List()
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || !slices.Equal(got, tt.want) {
				t.Errorf("List() = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestCreateMachineDir(t *testing.T) {
	s := New(filepath.Join(t.TempDir(), "store"))
	if err := s.CreateMachineDir("n1"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{s.MachinesDir(), s.MachineDir("n1")} {
		assertMode(t, d, os.ModeDir|0o700)
	}
	err := s.CreateMachineDir("n1")
	if !errors.Is(err, ErrExists) {
		t.Fatalf("second CreateMachineDir: %v, want ErrExists", err)
	}
	if want := `machine "n1" already exists`; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	for _, bad := range []string{"", "..", "a/b", "-x", "a b"} {
		if err := s.CreateMachineDir(bad); !errors.Is(err, host.ErrInvalidName) {
			t.Errorf("CreateMachineDir(%q) = %v, want ErrInvalidName", bad, err)
		}
	}
}

func TestExistsAndRemove(t *testing.T) {
	s := New(filepath.Join(t.TempDir(), "store"))
	if ok, err := s.Exists("n1"); ok || err != nil {
		t.Fatalf("Exists on an empty store = %v, %v", ok, err)
	}
	if err := s.Save(sampleHost("n1")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, s.MachinePath("n1", KnownHostsFile), "host key")
	if ok, err := s.Exists("n1"); !ok || err != nil {
		t.Fatalf("Exists after Save = %v, %v", ok, err)
	}
	if err := s.Remove("n1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.MachineDir("n1")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("machine dir still there: %v", err)
	}
	if err := s.Remove("n1"); err != nil {
		t.Errorf("Remove of a missing machine: %v", err)
	}
	for _, bad := range []string{"", ".", "..", "../n1", `a\b`} {
		if err := s.Remove(bad); !errors.Is(err, host.ErrInvalidName) {
			t.Errorf("Remove(%q) = %v, want ErrInvalidName", bad, err)
		}
		if _, err := s.Exists(bad); !errors.Is(err, host.ErrInvalidName) {
			t.Errorf("Exists(%q) = %v, want ErrInvalidName", bad, err)
		}
	}
	if _, err := os.Stat(s.Root); err != nil {
		t.Errorf("root gone after bad removes: %v", err)
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	mkdir(t, filepath.Dir(path))
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode(); got != want {
		t.Errorf("mode of %s = %v, want %v", path, got, want)
	}
}

// sampleHost is a machine as our create writes it.
func sampleHost(name string) *host.Host {
	return &host.Host{
		ConfigVersion: host.ConfigVersion,
		Driver:        []byte(`{"IPAddress":"10.0.0.5","MachineName":"` + name + `","SSHUser":"root","SSHPort":22}`),
		DriverName:    "generic",
		Name:          name,
		HostOptions: &host.Options{
			EngineOptions: &host.EngineOptions{
				TlsVerify:  true,
				InstallURL: "https://get.docker.com",
				Labels:     []string{"a=b"},
				TlsPort:    2376,
			},
			SwarmOptions: &host.SwarmOptions{Host: "tcp://0.0.0.0:3376", Image: "swarm:latest", Strategy: "spread"},
			AuthOptions: &host.AuthOptions{
				CertDir:        "/s/certs",
				ServerCertSANs: []string{},
				StorePath:      "/s/machines/" + name,
			},
		},
	}
}

// equalHosts compares two hosts, the Driver JSON by its decoded value.
func equalHosts(t *testing.T, got, want *host.Host) {
	t.Helper()
	if !reflect.DeepEqual(decode(t, got.Driver), decode(t, want.Driver)) {
		t.Errorf("Driver = %s, want %s", got.Driver, want.Driver)
	}
	g, w := *got, *want
	g.Driver, w.Driver = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("host = %s\nwant %s", mustJSON(t, g), mustJSON(t, w))
	}
}

// TestWaitUnlocked waits for a machine's lock as a create's --swarm-join
// waits for the create of the machine it joins.
func TestWaitUnlocked(t *testing.T) {
	for _, tc := range []struct {
		name     string
		machine  bool          // the machine's directory exists
		holdFor  time.Duration // another holder keeps the lock this long; 0: nobody holds it
		bound    time.Duration
		wantWait bool
		wantErr  string
	}{
		{name: "no such machine", bound: time.Minute},
		{name: "not locked", machine: true, bound: time.Minute},
		{name: "released while waiting", machine: true, holdFor: 300 * time.Millisecond, bound: time.Minute, wantWait: true},
		{name: "held past the bound", machine: true, holdFor: time.Hour, bound: 300 * time.Millisecond, wantWait: true,
			wantErr: `context deadline exceeded; last attempt: machine "m1" is locked by another command`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(t.TempDir())
			if tc.machine {
				if err := s.CreateMachineDir("m1"); err != nil {
					t.Fatal(err)
				}
			}
			if tc.holdFor > 0 {
				unlock, err := s.Lock("m1")
				if err != nil {
					t.Fatal(err)
				}
				released := time.AfterFunc(tc.holdFor, unlock)
				t.Cleanup(func() {
					if released.Stop() {
						unlock()
					}
				})
			}
			ctx, cancel := context.WithTimeout(context.Background(), tc.bound)
			defer cancel()
			waited := 0
			err := s.WaitUnlocked(ctx, "m1", func() { waited++ })
			if tc.wantErr == "" && err != nil {
				t.Fatalf("WaitUnlocked: %v", err)
			}
			if tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Fatalf("WaitUnlocked = %v, want %q", err, tc.wantErr)
			}
			if want := map[bool]int{false: 0, true: 1}[tc.wantWait]; waited != want {
				t.Errorf("waiting called %d times, want %d", waited, want)
			}
			if tc.wantErr == "" && tc.machine {
				// Free again: a later Lock does not wait.
				unlock, err := s.Lock("m1")
				if err != nil {
					t.Fatal(err)
				}
				unlock()
			}
		})
	}
}

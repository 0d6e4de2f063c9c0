package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/machine-cli/machine/libmachine/host"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		h    *host.Host
	}{
		{name: "full", h: sampleHost("n1")},
		{name: "nil options", h: &host.Host{ConfigVersion: 3, Driver: []byte(`{}`), DriverName: "none", Name: "bare"}},
		{name: "special characters", h: func() *host.Host {
			h := sampleHost("odd.name-1")
			h.HostOptions.EngineOptions.Env = []string{`A="quoted" <&> \ é`, ""}
			return h
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(filepath.Join(t.TempDir(), "store"))
			if err := s.Save(tt.h); err != nil {
				t.Fatal(err)
			}
			assertMode(t, s.MachinesDir(), os.ModeDir|0o700)
			assertMode(t, s.MachineDir(tt.h.Name), os.ModeDir|0o700)
			assertMode(t, s.MachinePath(tt.h.Name, ConfigFile), 0o600)

			// The file is exactly what docker-machine's Save writes.
			want, err := json.MarshalIndent(tt.h, "", "    ")
			if err != nil {
				t.Fatal(err)
			}
			got := readFile(t, s.MachinePath(tt.h.Name, ConfigFile))
			if !bytes.Equal(got, want) {
				t.Errorf("config.json =\n%s\nwant\n%s", got, want)
			}

			loaded, err := s.Load(tt.h.Name)
			if err != nil {
				t.Fatal(err)
			}
			wantHost := *tt.h
			fillOptions(&wantHost)
			equalHosts(t, loaded, &wantHost)
		})
	}
}

func TestSaveReplacesAtomically(t *testing.T) {
	s := New(filepath.Join(t.TempDir(), "store"))
	h := sampleHost("n1")
	if err := s.Save(h); err != nil {
		t.Fatal(err)
	}
	writeFile(t, s.MachinePath("n1", KnownHostsFile), "key")
	path := s.MachinePath("n1", ConfigFile)
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}

	h.DriverName = "other"
	h.HostOptions.Memory = 2048
	h.ConfigVersion = 0 // Save writes host.ConfigVersion whatever this says
	if err := s.Save(h); err != nil {
		t.Fatal(err)
	}
	if h.ConfigVersion != 0 {
		t.Errorf("Save changed the caller's host: ConfigVersion = %d", h.ConfigVersion)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(before, after) {
		t.Error("config.json was rewritten in place, not replaced by a rename")
	}
	assertMode(t, path, 0o600)

	got, err := s.Load("n1")
	if err != nil {
		t.Fatal(err)
	}
	if got.DriverName != "other" || got.HostOptions.Memory != 2048 || got.ConfigVersion != host.ConfigVersion {
		t.Errorf("loaded %+v, want the second save", got)
	}
	entries, err := os.ReadDir(s.MachineDir("n1"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{ConfigFile, KnownHostsFile}; !reflect.DeepEqual(names, want) {
		t.Errorf("machine dir holds %q, want %q (no temporary files)", names, want)
	}
}

func TestSaveRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(h *host.Host)
		is     error
	}{
		{name: "empty name", mutate: func(h *host.Host) { h.Name = "" }, is: host.ErrInvalidName},
		{name: "dot dot", mutate: func(h *host.Host) { h.Name = ".." }, is: host.ErrInvalidName},
		{name: "path", mutate: func(h *host.Host) { h.Name = "../escape" }, is: host.ErrInvalidName},
		{name: "nil driver", mutate: func(h *host.Host) { h.Driver = nil }},
		{name: "null driver", mutate: func(h *host.Host) { h.Driver = []byte("null") }},
		{name: "array driver", mutate: func(h *host.Host) { h.Driver = []byte("[1]") }},
		{name: "invalid driver", mutate: func(h *host.Host) { h.Driver = []byte("{") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "store")
			h := sampleHost("n1")
			tt.mutate(h)
			err := New(root).Save(h)
			if err == nil {
				t.Fatal("Save succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Save: %v, want %v", err, tt.is)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(root), "escape")); err == nil {
				t.Error("Save wrote outside the store")
			}
		})
	}
	if err := New(t.TempDir()).Save(nil); err == nil {
		t.Error("Save(nil) succeeded")
	}
}

func TestLoadFixtures(t *testing.T) {
	tests := []struct {
		file   string
		name   string
		check  func(t *testing.T, h *host.Host)
		driver map[string]any
	}{
		{
			file: "docker-machine-0.16-generic.json",
			name: "n1",
			check: func(t *testing.T, h *host.Host) {
				o := h.HostOptions
				if h.DriverName != "generic" || o.EngineOptions.InstallURL != "https://get.docker.com" ||
					!o.EngineOptions.TlsVerify || o.EngineOptions.Dns != nil || o.EngineOptions.Env == nil ||
					o.SwarmOptions.Image != "swarm:latest" || o.SwarmOptions.Env != nil ||
					o.AuthOptions.CaCertPath != "/root/.docker/machine/certs/ca.pem" ||
					o.AuthOptions.ServerKeyPath != "/root/.docker/machine/machines/n1/server-key.pem" ||
					o.AuthOptions.StorePath != "/root/.docker/machine/machines/n1" {
					t.Errorf("unexpected values: %s", mustJSON(t, h))
				}
			},
			driver: map[string]any{
				"IPAddress": "10.0.0.5", "MachineName": "n1", "SSHUser": "ubuntu", "SSHPort": 22.0,
				"SSHKeyPath": "/root/.docker/machine/machines/n1/id_rsa", "StorePath": "/root/.docker/machine",
				"SwarmMaster": false, "SwarmHost": "", "SwarmDiscovery": "", "EnginePort": 2376.0,
				"SSHKey": "/root/.ssh/id_rsa",
			},
		},
		{
			file: "rancher-machine-generic.json",
			name: "r1",
			check: func(t *testing.T, h *host.Host) {
				o := h.HostOptions
				if h.DriverName != "generic" || o.EngineOptions.StorageDriver != "overlay2" ||
					o.AuthOptions.CertDir != "/home/rancher/.docker/machine/certs" {
					t.Errorf("unexpected values: %s", mustJSON(t, h))
				}
			},
			driver: map[string]any{
				"IPAddress": "192.168.1.20", "IPv6Address": "", "MachineName": "r1", "SSHUser": "root", "SSHPort": 22.0,
				"SSHKeyPath": "/home/rancher/.docker/machine/machines/r1/id_rsa", "StorePath": "/home/rancher/.docker/machine",
				"SwarmMaster": false, "SwarmHost": "", "SwarmDiscovery": "", "EnginePort": 2376.0,
				"SSHKey": "/home/rancher/.ssh/id_rsa",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			fixture := readFile(t, filepath.Join("testdata", tt.file))
			s := New(t.TempDir())
			writeFile(t, s.MachinePath(tt.name, ConfigFile), string(fixture))

			h, err := s.Load(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if h.ConfigVersion != 3 || h.Name != tt.name {
				t.Errorf("ConfigVersion, Name = %d, %q", h.ConfigVersion, h.Name)
			}
			tt.check(t, h)
			if got := decode(t, h.Driver); !reflect.DeepEqual(got, tt.driver) {
				t.Errorf("Driver = %v, want %v", got, tt.driver)
			}

			if err := s.Save(h); err != nil {
				t.Fatal(err)
			}
			// Saving what was loaded writes the file back byte for byte,
			// rancher's extra HostOptions fields included.
			if saved := readFile(t, s.MachinePath(tt.name, ConfigFile)); !bytes.Equal(saved, fixture) {
				t.Errorf("saved config.json differs from the fixture:\n%s", saved)
			}
			again, err := s.Load(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			equalHosts(t, again, h)
		})
	}
}

func TestSaveKeepsUnknownFields(t *testing.T) {
	s := New(t.TempDir())
	writeFile(t, s.MachinePath("n1", ConfigFile), `{
		"Before": 1,
		"ConfigVersion": 3,
		"configversion": 3,
		"Driver": {"IPAddress": "1.2.3.4", "Gone": true},
		"NewTopLevel": {"x": [1, 2]},
		"HostOptions": {
			"Memory": 1,
			"Extra": "kept",
			"EngineOptions": {"TlsPort": 2376, "Future": null, "tlsverify": true},
			"SwarmOptions": null,
			"AuthOptions": {"CertDir": "/c", "Dup": 1, "Dup": 2}
		},
		"Name": "n1",
		"Last": "x"
	}`)
	h, err := s.Load("n1")
	if err != nil {
		t.Fatal(err)
	}
	if !h.HostOptions.EngineOptions.TlsVerify || h.HostOptions.EngineOptions.TlsPort != 2376 {
		t.Fatalf("loaded %s", mustJSON(t, h))
	}
	h.Driver = []byte(`{"IPAddress":"5.6.7.8"}`)
	h.HostOptions.Memory = 2
	h.HostOptions.EngineOptions.TlsVerify = false
	h.HostOptions.EngineOptions.TlsPort = 0 // omitted from the JSON: must not come back from the old file
	if err := s.Save(h); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, s.MachinePath("n1", ConfigFile))
	want := `{
    "Before": 1,
    "ConfigVersion": 3,
    "Driver": {
        "IPAddress": "5.6.7.8"
    },
    "NewTopLevel": {
        "x": [
            1,
            2
        ]
    },
    "DriverName": "",
    "HostOptions": {
        "Driver": "",
        "Memory": 2,
        "Extra": "kept",
        "Disk": 0,
        "EngineOptions": {
            "Future": null,
            "ArbitraryFlags": null,
            "Dns": null,
            "GraphDir": "",
            "Env": null,
            "Ipv6": false,
            "InsecureRegistry": null,
            "Labels": null,
            "LogLevel": "",
            "StorageDriver": "",
            "SelinuxEnabled": false,
            "TlsVerify": false,
            "RegistryMirror": null,
            "InstallURL": ""
        },
        "SwarmOptions": {
            "IsSwarm": false,
            "Address": "",
            "Discovery": "",
            "Agent": false,
            "Master": false,
            "Host": "",
            "Image": "",
            "Strategy": "",
            "Heartbeat": 0,
            "Overcommit": 0,
            "ArbitraryFlags": null,
            "ArbitraryJoinFlags": null,
            "Env": null,
            "IsExperimental": false
        },
        "AuthOptions": {
            "CertDir": "/c",
            "Dup": 2,
            "CaCertPath": "",
            "CaPrivateKeyPath": "",
            "CaCertRemotePath": "",
            "ServerCertPath": "",
            "ServerKeyPath": "",
            "ClientKeyPath": "",
            "ServerCertRemotePath": "",
            "ServerKeyRemotePath": "",
            "ClientCertPath": "",
            "ServerCertSANs": null,
            "StorePath": ""
        }
    },
    "Name": "n1",
    "Last": "x"
}`
	if string(got) != want {
		t.Errorf("config.json =\n%s\nwant\n%s", got, want)
	}
	again, err := s.Load("n1")
	if err != nil {
		t.Fatal(err)
	}
	equalHosts(t, again, h)
}

func TestLoadErrors(t *testing.T) {
	const name = "n1"
	valid := func(mutate func(m map[string]any)) string {
		m := map[string]any{"ConfigVersion": 3, "Driver": map[string]any{}, "DriverName": "generic", "Name": name}
		mutate(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	tests := []struct {
		name     string
		config   *string // nil: no config.json; the machine dir exists
		noDir    bool
		arg      string
		is       error
		corrupt  bool
		version  int // want a *VersionError with this Version when >= 0
		contains string
	}{
		{name: "no machine dir", noDir: true, is: ErrNotExist, version: -1, contains: "`machine ls`"},
		{name: "no config.json", is: fs.ErrNotExist, corrupt: true, version: -1, contains: "config.json is missing"},
		{name: "empty file", config: ptr(""), corrupt: true, version: -1, contains: "empty"},
		{name: "whitespace", config: ptr(" \n\t"), corrupt: true, version: -1, contains: "empty"},
		{name: "truncated", config: ptr(valid(func(map[string]any) {})[:30]), corrupt: true, version: -1, contains: "invalid JSON"},
		{name: "array", config: ptr("[]"), corrupt: true, version: -1, contains: "not a JSON object"},
		{name: "null", config: ptr("null"), corrupt: true, version: -1, contains: "not a JSON object"},
		{name: "trailing garbage", config: ptr(valid(func(map[string]any) {}) + "}"), corrupt: true, version: -1, contains: "invalid JSON"},
		{name: "version as string", config: ptr(valid(func(m map[string]any) { m["ConfigVersion"] = "3" })), corrupt: true, version: -1},
		{name: "wrong field type", config: ptr(valid(func(m map[string]any) { m["HostOptions"] = map[string]any{"Memory": "lots"} })), corrupt: true, version: -1},
		{name: "no version (v0)", config: ptr(valid(func(m map[string]any) { delete(m, "ConfigVersion") })), version: 0, contains: "older than 3"},
		{name: "version 2", config: ptr(valid(func(m map[string]any) { m["ConfigVersion"] = 2 })), version: 2, contains: "re-create"},
		{name: "version 4", config: ptr(valid(func(m map[string]any) { m["ConfigVersion"] = 4 })), version: 4, contains: "newer tool"},
		{name: "driver missing", config: ptr(valid(func(m map[string]any) { delete(m, "Driver") })), corrupt: true, version: -1, contains: "Driver"},
		{name: "driver null", config: ptr(valid(func(m map[string]any) { m["Driver"] = nil })), corrupt: true, version: -1, contains: "Driver"},
		{name: "driver string", config: ptr(valid(func(m map[string]any) { m["Driver"] = "generic" })), corrupt: true, version: -1, contains: "Driver"},
		{name: "driver array", config: ptr(valid(func(m map[string]any) { m["Driver"] = []int{1} })), corrupt: true, version: -1, contains: "Driver"},
		{name: "name mismatch", config: ptr(valid(func(m map[string]any) { m["Name"] = "n2" })), corrupt: true, version: -1, contains: `names machine "n2"`},
		{name: "name missing", config: ptr(valid(func(m map[string]any) { delete(m, "Name") })), corrupt: true, version: -1, contains: `names machine ""`},
		{name: "bad name argument", arg: "../n1", is: host.ErrInvalidName, version: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t.TempDir())
			if !tt.noDir {
				mkdir(t, s.MachineDir(name))
			}
			if tt.config != nil {
				writeFile(t, s.MachinePath(name, ConfigFile), *tt.config)
			}
			arg := name
			if tt.arg != "" {
				arg = tt.arg
			}
			h, err := s.Load(arg)
			if err == nil {
				t.Fatalf("Load succeeded: %s", mustJSON(t, h))
			}
			if h != nil {
				t.Errorf("Load returned a host with its error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			var cerr *CorruptError
			if got := errors.As(err, &cerr); got != tt.corrupt {
				t.Errorf("errors.As(%v, *CorruptError) = %v, want %v", err, got, tt.corrupt)
			} else if got {
				if cerr.Name != name || cerr.Path != s.MachinePath(name, ConfigFile) {
					t.Errorf("CorruptError Name, Path = %q, %q", cerr.Name, cerr.Path)
				}
				if !strings.Contains(err.Error(), "`machine rm -f n1`") {
					t.Errorf("error %q does not say how to remove the machine", err)
				}
			}
			var verr *VersionError
			if got := errors.As(err, &verr); got != (tt.version >= 0) {
				t.Errorf("errors.As(%v, *VersionError) = %v", err, got)
			} else if got && (verr.Version != tt.version || verr.Newer() != (tt.version > 3)) {
				t.Errorf("VersionError = %+v", verr)
			}
			if errors.Is(err, ErrNotExist) != errors.Is(tt.is, ErrNotExist) {
				t.Errorf("errors.Is(%v, ErrNotExist) is wrong", err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not contain %q", err, tt.contains)
			}
		})
	}
}

func TestNotExistMessage(t *testing.T) {
	_, err := New(t.TempDir()).Load("n1")
	if want := "machine \"n1\" does not exist; run `machine ls` to list the machines"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestLoadFillsOptions(t *testing.T) {
	for _, cfg := range []string{
		`{"ConfigVersion":3,"Driver":{},"Name":"n1"}`,
		`{"ConfigVersion":3,"Driver":{},"Name":"n1","HostOptions":null}`,
		`{"ConfigVersion":3,"Driver":{},"Name":"n1","HostOptions":{"EngineOptions":null,"SwarmOptions":null,"AuthOptions":null}}`,
	} {
		t.Run(cfg, func(t *testing.T) {
			s := New(t.TempDir())
			writeFile(t, s.MachinePath("n1", ConfigFile), cfg)
			h, err := s.Load("n1")
			if err != nil {
				t.Fatal(err)
			}
			o := h.HostOptions
			if o == nil || o.EngineOptions == nil || o.SwarmOptions == nil || o.AuthOptions == nil {
				t.Errorf("nil options left: %s", mustJSON(t, h))
			}
		})
	}
}

// FuzzLoad writes arbitrary bytes as config.json: Load must not panic, and
// whatever it accepts must save and load back to the same host.
func FuzzLoad(f *testing.F) {
	for _, file := range []string{"docker-machine-0.16-generic.json", "rancher-machine-generic.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bytes.ReplaceAll(b, []byte(`"Name": "r1"`), []byte(`"Name": "n1"`)))
	}
	for _, s := range []string{
		"", "{", "null", "[]", `{"ConfigVersion":3}`,
		`{"ConfigVersion":3,"Driver":{},"Name":"n1"}`,
		`{"ConfigVersion":3,"Driver":{"a":[{}]},"Name":"n1","HostOptions":{"X":1,"EngineOptions":{"TlsPort":1,"tlsport":0}},"Z":{}}`,
		`{"configversion":3,"driver":{},"name":"n1","hostoptions":{"authoptions":{"certdir":"c"}}}`,
		`{"ConfigVersion":2,"Driver":{},"Name":"n1"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := New(t.TempDir())
		path := s.MachinePath("n1", ConfigFile)
		mkdir(t, filepath.Dir(path))
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		h, err := s.Load("n1")
		if err != nil {
			if h != nil {
				t.Fatal("host and error")
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		o := h.HostOptions
		if h.Name != "n1" || o == nil || o.EngineOptions == nil || o.SwarmOptions == nil || o.AuthOptions == nil || !isObject(h.Driver) {
			t.Fatalf("Load accepted an invalid host: %s", mustJSON(t, h))
		}
		if err := s.Save(h); err != nil {
			t.Fatalf("Save of a loaded host: %v", err)
		}
		again, err := s.Load("n1")
		if err != nil {
			t.Fatalf("Load after Save: %v\n%s", err, readFile(t, path))
		}
		equalHosts(t, again, h)
	})
}

func ptr(s string) *string { return &s }

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

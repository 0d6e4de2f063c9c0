package libmachine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/libmachine/dockercontext"
	"github.com/machine-cli/machine/libmachine/host"
	"github.com/machine-cli/machine/libmachine/store"
)

// contextClient returns a client on a new store and docker configuration
// directory, holding machines with static endpoints (no driver is started)
// and stand-in certificate files.
func contextClient(t *testing.T, log *bytes.Buffer, names ...string) *Client {
	t.Helper()
	c := &Client{Store: store.New(t.TempDir()), Contexts: dockercontext.New(filepath.Join(t.TempDir(), "docker")), Log: log}
	for i, name := range names {
		if err := c.Store.CreateMachineDir(name); err != nil {
			t.Fatal(err)
		}
		ip := "10.0.0." + string(rune('5'+i))
		ep, _ := json.Marshal(drivers.Endpoint{IP: ip, SSHHostname: ip, SSHPort: 22, URL: "tcp://" + ip + ":2376", Static: true})
		h := &host.Host{ConfigVersion: host.ConfigVersion, Name: name, DriverName: "generic", Driver: json.RawMessage(`{}`), Endpoint: ep,
			HostOptions: &host.Options{EngineOptions: &host.EngineOptions{}, SwarmOptions: &host.SwarmOptions{}, AuthOptions: &host.AuthOptions{}}}
		if err := c.Store.Save(h); err != nil {
			t.Fatal(err)
		}
		writeCerts(t, c, name, "v1")
	}
	return c
}

// writeCerts puts stand-in certificate files of a version in name's
// directory.
func writeCerts(t *testing.T, c *Client, name, version string) {
	t.Helper()
	mc := c.CertPaths(name)
	for _, p := range []string{mc.CACert, mc.ClientCert, mc.ClientKey} {
		if err := os.WriteFile(p, []byte(filepath.Base(p)+" "+version), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// tlsFile reads one of context name's TLS files.
func tlsFile(t *testing.T, c *Client, name, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.Contexts.TLSDir(name), dockercontext.EndpointName, file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSyncContext: the context gets the machine's endpoint and copies of
// its certificates, and a sync after a rotation refreshes them.
func TestSyncContext(t *testing.T) {
	ctx := context.Background()
	c := contextClient(t, nil, "n1")
	if err := c.SyncContext(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	got, err := c.Contexts.Get("n1")
	if err != nil {
		t.Fatal(err)
	}
	want := dockercontext.Context{Name: "n1", Description: "machine n1 (driver generic)", Host: "tcp://10.0.0.5:2376", Owner: c.Store.Root}
	if got.Name != want.Name || got.Description != want.Description || got.Host != want.Host || got.Owner != want.Owner || got.SkipTLSVerify {
		t.Fatalf("context = %+v, want %+v", got, want)
	}
	for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
		if got := tlsFile(t, c, "n1", f); got != f+" v1" {
			t.Errorf("%s = %q, want the machine's", f, got)
		}
	}
	writeCerts(t, c, "n1", "v2") // regenerate-certs
	if err := c.SyncContext(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if got := tlsFile(t, c, "n1", "key.pem"); got != "key.pem v2" {
		t.Errorf("key.pem after the rotation = %q", got)
	}
	if cur, _ := c.Contexts.Current(); cur != "default" {
		t.Errorf("SyncContext changed the current context to %q", cur)
	}
}

// TestSyncContextRefuses: errors of SyncContext, and nothing written.
func TestSyncContextRefuses(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		machine string
		setup   func(c *Client) error
		check   func(err error) bool
		want    string
	}{
		{"context made with the docker CLI", "n1",
			func(c *Client) error {
				return c.Contexts.Write(dockercontext.Context{Name: "n1", Host: "tcp://192.0.2.1:2376"})
			},
			func(err error) bool { var e *ContextConflictError; return errors.As(err, &e) && e.Owner == "" },
			"docker context \"n1\" exists and was not made by machine; to register machine n1 instead, run `docker context rm n1`, then `machine use n1`"},
		{"context of another store", "n1",
			func(c *Client) error {
				return c.Contexts.Write(dockercontext.Context{Name: "n1", Host: "tcp://192.0.2.1:2376", Owner: "/other/store"})
			},
			func(err error) bool {
				var e *ContextConflictError
				return errors.As(err, &e) && e.Owner == "/other/store"
			},
			"belongs to the machine store /other/store"},
		{"broken context", "n1",
			func(c *Client) error {
				if err := os.MkdirAll(c.Contexts.MetaDir("n1"), 0o755); err != nil {
					return err
				}
				return os.WriteFile(filepath.Join(c.Contexts.MetaDir("n1"), "meta.json"), []byte("{"), 0o644)
			},
			func(err error) bool { var e *dockercontext.CorruptError; return errors.As(err, &e) },
			"docker context \"n1\" is broken: "},
		{"one-letter machine", "x", nil,
			func(err error) bool { var e *ContextNameError; return errors.As(err, &e) },
			"at least 2 characters"},
		{"machine named default", "default", nil,
			func(err error) bool { var e *ContextNameError; return errors.As(err, &e) },
			"docker CLI's own context"},
		{"unknown machine", "ghost", nil, func(err error) bool { return IsNotExist(err) }, `machine "ghost" does not exist`},
		{"certificates missing", "nocerts",
			func(c *Client) error { return os.Remove(c.CertPaths("nocerts").ClientKey) },
			func(err error) bool { return errors.Is(err, os.ErrNotExist) },
			"key.pem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := contextClient(t, nil, "n1", "x", "default", "nocerts")
			if tc.setup != nil {
				if err := tc.setup(c); err != nil {
					t.Fatal(err)
				}
			}
			before, _ := os.ReadFile(filepath.Join(c.Contexts.MetaDir(tc.machine), "meta.json"))
			err := c.SyncContext(ctx, tc.machine)
			if err == nil || !tc.check(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("SyncContext = %v, want an error with %q", err, tc.want)
			}
			after, _ := os.ReadFile(filepath.Join(c.Contexts.MetaDir(tc.machine), "meta.json"))
			if !bytes.Equal(before, after) {
				t.Fatalf("meta.json changed: %q -> %q", before, after)
			}
			if _, err := os.Stat(c.Contexts.TLSDir(tc.machine)); !os.IsNotExist(err) {
				t.Fatalf("TLS material written: %v", err)
			}
		})
	}
	t.Run("no docker configuration directory: nothing to do", func(t *testing.T) {
		c := contextClient(t, nil, "n1")
		c.Contexts = nil
		if err := c.SyncContext(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
		if err := c.Use(ctx, "n1"); !errors.Is(err, ErrNoDockerConfig) {
			t.Fatalf("Use = %v, want ErrNoDockerConfig", err)
		}
	})
}

// TestRegisterContext: create's step says what it did in one line, and
// never fails.
func TestRegisterContext(t *testing.T) {
	for _, tc := range []struct {
		name, machine string
		userCtx       bool
		log           string
	}{
		{"registered", "n1", false, "Registered docker context n1: `docker --context n1 ...`, or `machine use n1` to make it current.\n"},
		{"conflict", "n1", true, "warning: docker context \"n1\" exists and was not made by machine; to register machine n1 instead, run `docker context rm n1`, then `machine use n1`\n"},
		{"name docker refuses", "x", false, "No docker context for x: docker context names have at least 2 characters, \"x\" has 1.\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			c := contextClient(t, &log, tc.machine)
			if tc.userCtx {
				if err := c.Contexts.Write(dockercontext.Context{Name: tc.machine, Host: "tcp://192.0.2.1:2376"}); err != nil {
					t.Fatal(err)
				}
			}
			c.registerContext(tc.machine, "generic", "tcp://10.0.0.5:2376")
			if log.String() != tc.log {
				t.Fatalf("log = %q, want %q", log.String(), tc.log)
			}
		})
	}
}

// TestUnregisterContext: rm's step removes only machine's own context of
// this store, and resets the current context when it was that one.
func TestUnregisterContext(t *testing.T) {
	for _, tc := range []struct {
		name    string
		owner   string // "" is a context the user made; "store" is this store
		current string
		config  string // config.json's content when not "" (then current is unused)
		removed bool
		log     string
	}{
		{"ours, not current", "store", "other", "", true, ""},
		{"ours and current", "store", "n1", "", true, "Docker context n1 was the current one; docker uses its default context again.\n"},
		{"the user's", "", "n1", "", false, ""},
		{"another store's", "/other/store", "n1", "", false, ""},
		{"ours, config.json broken", "store", "", `{"currentContext": "n1"`, true, "warning: docker config "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			c := contextClient(t, &log, "n1")
			owner := tc.owner
			if owner == "store" {
				owner = c.Store.Root
			}
			if err := c.Contexts.Write(dockercontext.Context{Name: "n1", Host: "tcp://10.0.0.5:2376", Owner: owner,
				TLS: dockercontext.TLS{CA: []byte("ca"), Cert: []byte("cert"), Key: []byte("key")}}); err != nil {
				t.Fatal(err)
			}
			if tc.config != "" {
				if err := os.WriteFile(c.Contexts.ConfigPath(), []byte(tc.config), 0o600); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(c.Contexts.ConfigPath(), []byte(`{"currentContext": "`+tc.current+`"}`), 0o600); err != nil {
				t.Fatal(err)
			}
			c.unregisterContext("n1")
			_, err := c.Contexts.Get("n1")
			if removed := errors.Is(err, dockercontext.ErrNotExist); removed != tc.removed {
				t.Fatalf("removed = %v (%v), want %v", removed, err, tc.removed)
			}
			if _, err := os.Stat(c.Contexts.TLSDir("n1")); os.IsNotExist(err) != tc.removed {
				t.Fatalf("TLS directory: %v, want removed=%v", err, tc.removed)
			}
			if !strings.HasPrefix(log.String(), tc.log) || (tc.log == "") != (log.Len() == 0) {
				t.Fatalf("log = %q, want %q", log.String(), tc.log)
			}
			if tc.config != "" {
				if b, _ := os.ReadFile(c.Contexts.ConfigPath()); string(b) != tc.config {
					t.Fatalf("a broken config.json was changed: %q", b)
				}
				return
			}
			want := tc.current
			if tc.current == "n1" && tc.removed {
				want = "default"
			}
			if cur, _ := c.Contexts.Current(); cur != want {
				t.Fatalf("current context %q, want %q", cur, want)
			}
		})
	}
}

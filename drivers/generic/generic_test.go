package generic

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/drivers/drivertest"
	"github.com/machine-cli/machine/internal/standin"
)

func TestSuite(t *testing.T) {
	drivertest.Suite(t, func(t *testing.T) drivers.Driver {
		d := New().(*Driver)
		d.MachineName, d.StorePath = "suite", t.TempDir()
		d.IPAddress, d.SSHPort = "127.0.0.1", standin.ClosedPort(t)
		return d
	})
}

func TestSetConfigFromFlags(t *testing.T) {
	key := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(key, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing")

	tests := []struct {
		name    string
		opts    drivers.Options
		want    *Driver // nil: an error is expected
		wantErr []string
	}{
		{
			name: "all flags",
			opts: drivers.Options{
				"generic-ip-address": "10.0.0.5", "generic-ssh-user": "ubuntu", "generic-ssh-key": key,
				"generic-ssh-port": 2222, "generic-engine-port": 2377, "generic-private-ip": "192.168.1.5",
			},
			want: &Driver{
				BaseDriver: drivers.BaseDriver{IPAddress: "10.0.0.5", SSHUser: "ubuntu", SSHPort: 2222},
				EnginePort: 2377, SSHKey: key, PrivateIPAddress: "192.168.1.5",
			},
		},
		{
			name: "defaults",
			opts: drivers.Options{"generic-ip-address": "host.example"},
			want: &Driver{
				BaseDriver: drivers.BaseDriver{IPAddress: "host.example", SSHUser: "root", SSHPort: 22},
				EnginePort: 2376,
			},
		},
		{
			name: "ports after JSON",
			opts: drivers.Options{"generic-ip-address": "10.0.0.5", "generic-ssh-port": float64(22), "generic-engine-port": "2376"},
			want: &Driver{
				BaseDriver: drivers.BaseDriver{IPAddress: "10.0.0.5", SSHUser: "root", SSHPort: 22},
				EnginePort: 2376,
			},
		},
		{name: "missing ip", opts: drivers.Options{}, wantErr: []string{"--generic-ip-address is required"}},
		{
			name:    "bad ports",
			opts:    drivers.Options{"generic-ip-address": "10.0.0.5", "generic-ssh-port": 0, "generic-engine-port": 70000},
			wantErr: []string{"--generic-ssh-port 0", "--generic-engine-port 70000"},
		},
		{
			name:    "missing key file",
			opts:    drivers.Options{"generic-ip-address": "10.0.0.5", "generic-ssh-key": missing},
			wantErr: []string{strconv.Quote(missing), "no such file"},
		},
		{
			name:    "key is a directory",
			opts:    drivers.Options{"generic-ip-address": "10.0.0.5", "generic-ssh-key": t.TempDir()},
			wantErr: []string{"is a directory"},
		},
		{
			name:    "bad private ip",
			opts:    drivers.Options{"generic-ip-address": "10.0.0.5", "generic-private-ip": "nope"},
			wantErr: []string{`--generic-private-ip "nope"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New().(*Driver)
			err := d.SetConfigFromFlags(t.Context(), tt.opts)
			if tt.want != nil {
				if err != nil {
					t.Fatalf("SetConfigFromFlags: %v", err)
				}
				if !reflect.DeepEqual(d, tt.want) {
					t.Errorf("driver = %+v, want %+v", d, tt.want)
				}
				return
			}
			if !errors.Is(err, drivers.ErrInvalidConfig) {
				t.Fatalf("SetConfigFromFlags = %v, want ErrInvalidConfig", err)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestMissingKeyWrapsNotExist(t *testing.T) {
	d := New().(*Driver)
	err := d.SetConfigFromFlags(t.Context(), drivers.Options{
		"generic-ip-address": "10.0.0.5", "generic-ssh-key": filepath.Join(t.TempDir(), "none"),
	})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v does not wrap fs.ErrNotExist", err)
	}
}

func TestGetState(t *testing.T) {
	open := listen(t)
	tests := []struct {
		name    string
		d       *Driver
		want    drivers.State
		wantErr bool
	}{
		{"listening", loopback(open), drivers.Running, false},
		{"closed port", loopback(standin.ClosedPort(t)), drivers.Stopped, false},
		{"no address", &Driver{}, drivers.Error, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.d.GetState(t.Context())
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("GetState = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCreateUnreachableFailsFast(t *testing.T) {
	port := standin.ClosedPort(t)
	d := loopback(port)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	start := time.Now()
	err := d.Create(ctx)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Create took %v", took)
	}
	want := "cannot reach 127.0.0.1:" + strconv.Itoa(port) + " over SSH: connection refused"
	if err == nil || err.Error() != want {
		t.Fatalf("Create = %v, want %q", err, want)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap the context's DeadlineExceeded", err)
	}
}

func TestCreateImportsKey(t *testing.T) {
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		key     any
		pass    string
		withPub bool
		want    string
	}{
		{"ed25519", edKey, "", true, "id_ed25519"},
		{"rsa", rsaKey, "", true, "id_rsa"},
		{"ed25519 with passphrase, no .pub", edKey, "secret", false, "id_ed25519"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), "mykey")
			priv, pub := sshKey(t, tt.key, tt.pass)
			writeKey(t, src, priv, 0o644)
			if tt.withPub {
				writeKey(t, src+".pub", pub, 0o644)
			}
			d := loopback(listen(t))
			d.MachineName, d.StorePath = "m1", t.TempDir()
			if err := d.SetConfigFromFlags(t.Context(), drivers.Options{
				"generic-ip-address": d.IPAddress, "generic-ssh-port": d.SSHPort, "generic-ssh-key": src,
			}); err != nil {
				t.Fatal(err)
			}
			if err := d.Create(t.Context()); err != nil {
				t.Fatalf("Create: %v", err)
			}
			dst := filepath.Join(d.StorePath, "machines", "m1", tt.want)
			if d.SSHKeyPath != dst {
				t.Errorf("SSHKeyPath = %q, want %q", d.SSHKeyPath, dst)
			}
			checkFile(t, dst, priv, 0o600)
			if tt.withPub {
				checkFile(t, dst+".pub", pub, 0o644)
			} else if _, err := os.Stat(dst + ".pub"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s.pub made without a source .pub: %v", dst, err)
			}
			if got, _ := d.GetSSHKeyPath(t.Context()); got != dst {
				t.Errorf("GetSSHKeyPath = %q", got)
			}
		})
	}
}

func TestKeyFileNameUnparsable(t *testing.T) {
	if got := keyFileName([]byte("not a key")); got != "id_rsa" {
		t.Errorf("keyFileName(garbage) = %q, want id_rsa", got)
	}
}

func TestGetters(t *testing.T) {
	d := New().(*Driver)
	if _, err := d.GetURL(t.Context()); err == nil {
		t.Error("GetURL without an address succeeded")
	}
	d.IPAddress, d.EnginePort = "fd00::5", 2377
	ctx := t.Context()
	for _, g := range []struct {
		name string
		f    func(context.Context) (string, error)
		want string
	}{
		{"GetURL", d.GetURL, "tcp://[fd00::5]:2377"},
		{"GetPrivateIP", d.GetPrivateIP, "fd00::5"},
		{"GetSSHHostname", d.GetSSHHostname, "fd00::5"},
		{"GetSSHUsername", d.GetSSHUsername, "root"},
		{"DriverName", d.DriverName, "generic"},
	} {
		if got, err := g.f(ctx); err != nil || got != g.want {
			t.Errorf("%s = %q, %v; want %q", g.name, got, err, g.want)
		}
	}
	d.PrivateIPAddress = "10.1.1.1"
	if got, _ := d.GetPrivateIP(ctx); got != "10.1.1.1" {
		t.Errorf("GetPrivateIP = %q, want PrivateIPAddress", got)
	}
	if got, _ := d.GetSSHPort(ctx); got != 22 {
		t.Errorf("GetSSHPort = %d", got)
	}
}

// TestLifecycleNotSupported: start, stop and kill say, on one line, that
// the generic driver has no power switch and what to do instead; the error
// wraps ErrNotSupported.
func TestLifecycleNotSupported(t *testing.T) {
	d := New().(*Driver)
	d.MachineName, d.IPAddress = "n1", "10.0.0.5"
	tests := []struct {
		name string
		f    func(context.Context) error
		want string
	}{
		{"start", d.Start, "the generic driver cannot start a machine: start the host 10.0.0.5 by its own means"},
		{"stop", d.Stop, `the generic driver cannot stop a machine: stop the host 10.0.0.5 by its own means ("machine restart n1" reboots it over SSH)`},
		{"kill", d.Kill, `the generic driver cannot kill a machine: power off the host 10.0.0.5 by its own means ("machine restart n1" reboots it over SSH)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f(t.Context())
			if !errors.Is(err, drivers.ErrNotSupported) || err.Error() != tc.want {
				t.Errorf("%s = %v, want %q wrapping ErrNotSupported", tc.name, err, tc.want)
			}
		})
	}
	if err := d.Remove(t.Context()); err != nil {
		t.Errorf("Remove = %v", err)
	}
}

// TestRestartNotRunning: Restart of a host whose SSH port does not answer
// fails at once, wrapping ErrNotRunning and naming the address; without an
// address it is a configuration error. (Restart of a real host, which
// reboots it, is tested in integration on a test host.)
func TestRestartNotRunning(t *testing.T) {
	d := New().(*Driver)
	d.MachineName, d.StorePath = "n1", t.TempDir()
	d.IPAddress, d.SSHPort = "127.0.0.1", standin.ClosedPort(t)
	err := d.Restart(t.Context())
	if !errors.Is(err, drivers.ErrNotRunning) || !strings.Contains(err.Error(), `cannot restart "n1"`) || !strings.Contains(err.Error(), d.sshAddr()) {
		t.Errorf("Restart of a closed port = %v, want ErrNotRunning naming the machine and %s", err, d.sshAddr())
	}
	d.IPAddress = ""
	if err := d.Restart(t.Context()); !errors.Is(err, drivers.ErrInvalidConfig) {
		t.Errorf("Restart without an address = %v, want ErrInvalidConfig", err)
	}
}

// TestDockerMachineConfig reads a docker-machine generic config.json and
// writes the same field names back.
func TestDockerMachineConfig(t *testing.T) {
	const dm = `{"IPAddress":"10.0.0.5","MachineName":"web","SSHUser":"ubuntu","SSHPort":22,
		"SSHKeyPath":"/s/machines/web/id_rsa","StorePath":"/s","SwarmMaster":false,"SwarmHost":"",
		"SwarmDiscovery":"","EnginePort":2376,"SSHKey":"/home/u/.ssh/id_rsa"}`
	d := New().(*Driver)
	if err := json.Unmarshal([]byte(dm), d); err != nil {
		t.Fatal(err)
	}
	if d.IPAddress != "10.0.0.5" || d.SSHKey != "/home/u/.ssh/id_rsa" || d.SSHKeyPath != "/s/machines/web/id_rsa" {
		t.Errorf("decoded %+v", d)
	}
	out, _ := json.Marshal(d)
	var got, want map[string]any
	_ = json.Unmarshal(out, &got)
	_ = json.Unmarshal([]byte(dm), &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config written as\n%s\nwant docker-machine's fields\n%s", out, dm)
	}
	d.PrivateIPAddress = "10.1.1.1"
	if out, _ := json.Marshal(d); !strings.Contains(string(out), `"PrivateIPAddress":"10.1.1.1"`) {
		t.Errorf("PrivateIPAddress missing from %s", out)
	}
}

func loopback(port int) *Driver {
	d := New().(*Driver)
	d.IPAddress, d.SSHPort = "127.0.0.1", port
	return d
}

// listen returns the port of a loopback listener that accepts and closes
// connections until the test ends.
func listen(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

func sshKey(t *testing.T, key any, pass string) (priv, pub []byte) {
	t.Helper()
	var block *pem.Block
	var err error
	if pass == "" {
		block, err = ssh.MarshalPrivateKey(key, "test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(key, "test", []byte(pass))
	}
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), ssh.MarshalAuthorizedKey(signer.PublicKey())
}

func writeKey(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
}

func checkFile(t *testing.T, path string, want []byte, perm os.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("%s: content differs from the source", path)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != perm {
		t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), perm)
	}
}

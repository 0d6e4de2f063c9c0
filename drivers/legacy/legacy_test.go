package legacy

import (
	"context"
	"encoding/json"
	"errors"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/drivers/drivertest"
	"github.com/machine-cli/machine/internal/proctest"
	"github.com/machine-cli/machine/internal/standin"
	"github.com/machine-cli/machine/internal/testio"
)

var (
	buildOnce sync.Once
	built     string
	buildErr  error
)

// testPlugin builds testdata/docker-machine-driver-legacytest once.
func testPlugin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "legacytest-")
		if err != nil {
			buildErr = err
			return
		}
		built = filepath.Join(dir, ExecutablePrefix+"legacytest")
		cmd := exec.Command("go", "build", "-o", built, ".")
		cmd.Dir = "testdata/docker-machine-driver-legacytest"
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

func TestMain(m *testing.M) {
	// The test binary is also the guard, and the host that TestGuard kills.
	if len(os.Args) == 3 && os.Args[1] == GuardCommand {
		os.Exit(RunGuard(os.Args[2]))
	}
	if os.Getenv("LEGACY_TEST_HOST") != "" {
		os.Exit(runHost())
	}
	code := m.Run()
	if built != "" {
		os.RemoveAll(filepath.Dir(built))
	}
	os.Exit(code)
}

func startTest(t *testing.T, config string, logger hclog.Logger) *Driver {
	t.Helper()
	d, err := Start(t.Context(), testPlugin(t), json.RawMessage(config), Options{Name: "legacytest", Logger: logger})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(d.Close)
	return d
}

var wantFlags = []drivers.Flag{
	{Name: "legacytest-ip-address", Kind: drivers.FlagString, Usage: "IP address of the host", EnvVar: "LEGACYTEST_IP_ADDRESS"},
	{Name: "legacytest-ssh-user", Kind: drivers.FlagString, Usage: "SSH user", EnvVar: "LEGACYTEST_SSH_USER", Default: "root"},
	{Name: "legacytest-ssh-key", Kind: drivers.FlagString, Usage: "SSH private key path", EnvVar: "LEGACYTEST_SSH_KEY"},
	{Name: "legacytest-ssh-port", Kind: drivers.FlagInt, Usage: "SSH port", EnvVar: "LEGACYTEST_SSH_PORT", Default: "22"},
	{Name: "legacytest-engine-port", Kind: drivers.FlagInt, Usage: "Docker engine port", EnvVar: "LEGACYTEST_ENGINE_PORT", Default: "2376"},
	{Name: "legacytest-tag", Kind: drivers.FlagStringSlice, Usage: "a tag to keep in the config", EnvVar: "LEGACYTEST_TAG", DefaultSlice: []string{"legacy"}},
	{Name: "legacytest-verbose", Kind: drivers.FlagBool, Usage: "log more on stderr", EnvVar: "LEGACYTEST_VERBOSE"},
}

// TestCreateFlagsGobNames: the flags decode whichever names the plugin's
// gob registered them under: docker-machine's and rancher/machine's
// (the short "*mcnflag.StringFlag") and both full import paths.
func TestCreateFlagsGobNames(t *testing.T) {
	for _, names := range []string{"", "docker", "rancher"} {
		t.Run("names="+names, func(t *testing.T) {
			t.Setenv("LEGACYTEST_GOB_NAMES", names)
			d := startTest(t, "", nil)
			got, err := d.GetCreateFlags(t.Context())
			if err != nil {
				t.Fatalf("GetCreateFlags: %v", err)
			}
			if !reflect.DeepEqual(got, wantFlags) {
				t.Errorf("GetCreateFlags =\n%+v\nwant\n%+v", got, wantFlags)
			}
		})
	}
}

// TestHandshake: a plugin from before docker-machine 0.5.1 (service
// RpcServerDriver) works; one of another API version is one line saying so.
func TestHandshake(t *testing.T) {
	t.Run("RpcServerDriver", func(t *testing.T) {
		t.Setenv("LEGACYTEST_SERVICE", "RpcServerDriver")
		d := startTest(t, `{"MachineName":"n1","IPAddress":"127.0.0.1"}`, nil)
		if ip, err := d.GetIP(t.Context()); ip != "127.0.0.1" || err != nil {
			t.Errorf("GetIP = %q, %v", ip, err)
		}
	})
	t.Run("version 2", func(t *testing.T) {
		t.Setenv("LEGACYTEST_API_VERSION", "2")
		_, err := Start(t.Context(), testPlugin(t), nil, Options{Name: "legacytest"})
		want := "driver plugin " + testPlugin(t) + " speaks docker-machine plugin API version 2; machine speaks 1"
		if err == nil || err.Error() != want {
			t.Errorf("Start = %v, want %q", err, want)
		}
	})
	t.Run("no service", func(t *testing.T) {
		t.Setenv("LEGACYTEST_SERVICE", "SomethingElse")
		_, err := Start(t.Context(), testPlugin(t), nil, Options{Name: "legacytest"})
		if err == nil || !strings.Contains(err.Error(), "does not answer docker-machine's GetVersion") || strings.Contains(err.Error(), "\n") {
			t.Errorf("Start = %v, want one line saying GetVersion failed", err)
		}
	})
}

// TestHeartbeat: the plugin, which ends itself when heartbeats stop, keeps
// running while its driver is open, and ends once heartbeats stop.
func TestHeartbeat(t *testing.T) {
	t.Setenv("LEGACYTEST_HEARTBEAT_TIMEOUT", "1s")
	d, err := Start(t.Context(), testPlugin(t), []byte(`{"IPAddress":"127.0.0.1"}`), Options{Name: "legacytest", HeartbeatInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	time.Sleep(2 * time.Second) // twice the plugin's patience
	if ip, err := d.GetIP(t.Context()); ip != "127.0.0.1" || err != nil {
		t.Errorf("GetIP after 2s of heartbeats only = %q, %v; want the plugin still serving", ip, err)
	}
	close(d.c.stopHeartbeat)
	d.c.stopHeartbeat = make(chan struct{}) // for Close
	select {
	case <-d.c.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the plugin did not end once the heartbeats stopped: the test plugin's timeout is broken, so the first half proves nothing")
	}
}

// TestSetConfigFromFlags: the values arrive typed (gob's RPCFlags), the
// defaults fill what the user did not give, and the config read back is the
// plugin's JSON; a refusal wraps ErrInvalidConfig.
func TestSetConfigFromFlags(t *testing.T) {
	d := startTest(t, `{"MachineName":"n1","StorePath":"/store"}`, nil)
	err := d.SetConfigFromFlags(t.Context(), drivers.Options{
		"legacytest-ip-address": "127.0.0.1", "legacytest-ssh-port": 2222, "legacytest-verbose": true,
	})
	if err != nil {
		t.Fatalf("SetConfigFromFlags: %v", err)
	}
	got, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"IPAddress":"127.0.0.1","MachineName":"n1","SSHUser":"root","SSHPort":2222,"SSHKeyPath":"","StorePath":"/store","SwarmMaster":false,"SwarmHost":"","SwarmDiscovery":"","EnginePort":2376,"SSHKey":"","Tags":["legacy"],"Verbose":true}`
	if string(got) != want {
		t.Errorf("config =\n%s\nwant\n%s", got, want)
	}

	e := startTest(t, `{"MachineName":"n2"}`, nil)
	err = e.SetConfigFromFlags(t.Context(), drivers.Options{})
	if !errors.Is(err, drivers.ErrInvalidConfig) || err.Error() != "legacytest driver requires the --legacytest-ip-address option" {
		t.Errorf("SetConfigFromFlags without an IP = %v, want the driver's message wrapping ErrInvalidConfig", err)
	}
}

// TestLogs: what the plugin writes to stderr, and to stdout after its
// address, goes to the logger at Debug level.
func TestLogs(t *testing.T) {
	var buf testio.Buffer
	logger := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Debug})
	d := startTest(t, `{"MachineName":"n1"}`, logger)
	if err := d.SetConfigFromFlags(t.Context(), drivers.Options{"legacytest-ip-address": "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	out := buf.String()
	for _, want := range []string{"[DEBUG] docker-machine-driver-legacytest.stderr: legacytest: ", "configured n1: root@127.0.0.1:22", "[DEBUG] docker-machine-driver-legacytest.stdout: legacytest: serving"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// guard is the guard command of tests: this test binary.
func guard(t *testing.T) []string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{exe, GuardCommand}
}

// runHost is a host process for TestGuard: it starts the plugin named by
// LEGACY_TEST_PLUGIN with a guard, says so on stdout, and waits to be
// killed.
func runHost() int {
	exe, err := os.Executable()
	if err != nil {
		return 1
	}
	d, err := Start(context.Background(), os.Getenv("LEGACY_TEST_PLUGIN"), nil, Options{Name: "legacytest", Guard: []string{exe, GuardCommand}})
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	defer d.Close() // never runs: the test kills this process
	os.Stdout.WriteString("started\n")
	select {}
}

// TestStartFailures: an executable that speaks neither protocol, or dies
// while starting, is one line naming the file, with a guard or without.
func TestStartFailures(t *testing.T) {
	for _, guarded := range []bool{false, true} {
		t.Run("guard="+strconv.FormatBool(guarded), func(t *testing.T) {
			var g []string
			if guarded {
				g = guard(t)
			}
			testStartFailures(t, g)
		})
	}
}

func testStartFailures(t *testing.T, guard []string) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, script string
		want         []string
	}{
		{"garbage", "#!/bin/sh\necho 'hello, world'\nexec sleep 60\n", []string{"speaks neither machine's driver protocol nor docker-machine's", `"hello, world"`}},
		{"dies", "#!/bin/sh\necho 'cannot open the hypervisor' >&2\nexit 3\n", []string{"ended while starting (exit status 3): cannot open the hypervisor"}},
		{"silent", "#!/bin/sh\nexit 0\n", []string{"ended while starting (exit status 0)"}},
		{"wrong-address", "#!/bin/sh\necho 10.1.2.3:4000\nexec sleep 60\n", []string{"speaks neither", `"10.1.2.3:4000"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, ExecutablePrefix+tc.name)
			if err := os.WriteFile(path, []byte(tc.script), 0o755); err != nil {
				t.Fatal(err)
			}
			_, err := Start(t.Context(), path, nil, Options{Name: tc.name, Guard: guard})
			if err == nil {
				t.Fatal("Start succeeded")
			}
			msg := err.Error()
			if !strings.Contains(msg, path) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming %s", msg, path)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}

// TestCloseEndsPlugin: Close ends the plugin process and its group, with
// a guard or without.
func TestCloseEndsPlugin(t *testing.T) {
	for _, guarded := range []bool{false, true} {
		t.Run("guard="+strconv.FormatBool(guarded), func(t *testing.T) {
			opts := Options{Name: "legacytest"}
			if guarded {
				opts.Guard = guard(t)
			}
			pidFile := filepath.Join(t.TempDir(), "pid")
			t.Setenv("LEGACYTEST_PIDFILE", pidFile)
			d, err := Start(t.Context(), testPlugin(t), nil, opts)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(pidFile)
			if err != nil {
				t.Fatal(err)
			}
			pid, _ := strconv.Atoi(string(b))
			group := d.c.cmd.Process.Pid
			d.Close()
			if err := syscall.Kill(-group, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("process group %d after Close: kill 0 = %v, want ESRCH", group, err)
			}
			if proctest.Running(pid) {
				t.Errorf("plugin %d runs after Close", pid)
			}
			if _, err := d.GetIP(t.Context()); err == nil || !strings.Contains(err.Error(), d.c.path) {
				t.Errorf("GetIP after Close = %v, want an error naming the plugin", err)
			}
		})
	}
}

// TestLifecycleNotSupported: the plugin's "does not support" errors wrap
// ErrNotSupported, with the driver's own words.
func TestLifecycleNotSupported(t *testing.T) {
	d := startTest(t, `{"MachineName":"n1","IPAddress":"127.0.0.1"}`, nil)
	for op, f := range map[string]func(context.Context) error{"start": d.Start, "stop": d.Stop, "restart": d.Restart, "kill": d.Kill} {
		err := f(t.Context())
		if !errors.Is(err, drivers.ErrNotSupported) || err.Error() != "legacytest driver does not support "+op {
			t.Errorf("%s = %v, want the driver's words wrapping ErrNotSupported", op, err)
		}
	}
}

// TestEndpoint: the endpoint gathers the plugin's getters; the private IP
// is the IP.
func TestEndpoint(t *testing.T) {
	d := startTest(t, `{"MachineName":"n1","IPAddress":"127.0.0.1","SSHUser":"admin","SSHPort":2200,"SSHKeyPath":"/k","EnginePort":2377}`, nil)
	got, err := d.GetEndpoint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := drivers.Endpoint{IP: "127.0.0.1", PrivateIP: "127.0.0.1", URL: "tcp://127.0.0.1:2377", SSHHostname: "127.0.0.1", SSHPort: 2200, SSHUser: "admin", SSHKeyPath: "/k"}
	if got != want {
		t.Errorf("GetEndpoint = %+v, want %+v", got, want)
	}
}

func TestStateOf(t *testing.T) {
	for n, want := range []drivers.State{drivers.None, drivers.Running, drivers.Paused, drivers.Saved, drivers.Stopped, drivers.Stopping, drivers.Starting, drivers.Error, drivers.Timeout} {
		if got, err := stateOf(n); got != want || err != nil {
			t.Errorf("stateOf(%d) = %v, %v; want %v", n, got, err, want)
		}
	}
	if got, err := stateOf(9); got != drivers.Error || err == nil {
		t.Errorf("stateOf(9) = %v, %v; want Error and an error", got, err)
	}
}

func TestMapError(t *testing.T) {
	c := &conn{path: "/bin/docker-machine-driver-x", exited: make(chan struct{}), tail: &tailLines{}}
	for _, tc := range []struct {
		in       error
		fallback error
		want     error
		msg      string
	}{
		{rpc.ServerError("generic driver does not support stop"), nil, drivers.ErrNotSupported, "generic driver does not support stop"},
		{rpc.ServerError("Not implemented yet"), nil, drivers.ErrNotSupported, "Not implemented yet"},
		{rpc.ServerError("rpc: can't find method RPCServerDriver.Kill"), nil, drivers.ErrNotSupported, "rpc: can't find method RPCServerDriver.Kill"},
		{rpc.ServerError("Host is not running"), nil, drivers.ErrNotRunning, "Host is not running"},
		{rpc.ServerError("bad --x-size"), drivers.ErrInvalidConfig, drivers.ErrInvalidConfig, "bad --x-size"},
		{rpc.ErrShutdown, nil, nil, "driver plugin /bin/docker-machine-driver-x: Create: the plugin ended"},
		{context.Canceled, nil, context.Canceled, "driver plugin /bin/docker-machine-driver-x: Create: context canceled"},
	} {
		got := c.mapError("Create", tc.in, tc.fallback)
		if got.Error() != tc.msg || (tc.want != nil && !errors.Is(got, tc.want)) {
			t.Errorf("mapError(%v) = %v, want %q wrapping %v", tc.in, got, tc.msg, tc.want)
		}
	}
	for _, msg := range []string{"boom", "sh: 1: virsh: not found", "a VM named n1 already exists"} {
		if got := c.mapError("Create", rpc.ServerError(msg), nil); got.Error() != msg || errors.Unwrap(got) != nil {
			t.Errorf("mapError(%q) = %q wrapping %v, want the message wrapping nothing", msg, got, errors.Unwrap(got))
		}
	}
}

// TestSuite runs the driver conformance suite over the bridge.
func TestSuite(t *testing.T) {
	port := standin.ClosedPort(t)
	drivertest.Suite(t, func(t *testing.T) drivers.Driver {
		return startTest(t, `{"MachineName":"suite","StorePath":"`+t.TempDir()+`","IPAddress":"127.0.0.1","SSHPort":`+strconv.Itoa(port)+`}`, nil)
	})
}

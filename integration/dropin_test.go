package integration

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/machine-cli/machine/certs"
	"github.com/machine-cli/machine/libmachine/host"
	"github.com/machine-cli/machine/provision"
	"github.com/machine-cli/machine/sshclient"
)

// dropInWant is what a row's engine options must have put in effect, as
// dockerd and systemd report it. Zero fields are dockerd's defaults, which
// are checked too (so a default row proves the options are not ignored).
type dropInWant struct {
	port          int      // TLS port; 0: 2376
	labels        []string // docker info .Labels, exactly, after provider=generic
	env           []string // KEY=VALUE entries in dockerd's environment
	httpProxy     string   // docker info .HttpProxy
	insecureCIDRs []string // RegistryConfig.InsecureRegistryCIDRs after 127.0.0.0/8
	insecureHosts []string // registries with Secure=false in RegistryConfig.IndexConfigs
	mirrors       []string // RegistryConfig.Mirrors
	driver        string   // docker info .Driver; "": overlay2
	rootDir       string   // docker info .DockerRootDir; "": /var/lib/docker
	debugLog      bool     // dockerd logs level=debug lines (--log-level debug)
	loggingDriver string   // docker info .LoggingDriver; "": json-file
	experimental  bool     // docker info .ExperimentalBuild
	liveRestore   bool     // docker info .LiveRestoreEnabled
	args          []string // words that must be in dockerd's argv, in order, one after the other
	// In a container that dockerd starts:
	nameserver string // the resolv.conf nameserver; "": the host's
	nofile     string // "soft hard" of RLIMIT_NOFILE; "": not checked
}

type dropInCase struct {
	name   string
	engine host.EngineOptions
	port   int // Options.EnginePort
	want   dropInWant
	// fails, when set: dockerd must not start, and its journal since the
	// restart holds this text.
	fails string
}

// dropInCases are the rows of TestDropIn, run in order on one host; the
// failing rows sit between passing ones, so the host's recovery from a
// dockerd that did not start is also shown.
var dropInCases = []dropInCase{
	{name: "default"},
	{
		// %n is a specifier and $HOME, ${PATH} variables for systemd,
		// which must reach dockerd as they are.
		name: "labels",
		engine: host.EngineOptions{Labels: []string{
			"env=prod", "team=a b", "note=50% off $5", "spec=%n %h %%", "var=$HOME ${PATH} $$", `quote=say "hi"`, "it's=fine",
			`path=C:\dir`, "semi=a;b", "tab=a\tb", "newline=a\nb",
		}},
		want: dropInWant{labels: []string{
			"env=prod", "team=a b", "note=50% off $5", "spec=%n %h %%", "var=$HOME ${PATH} $$", `quote=say "hi"`, "it's=fine",
			`path=C:\dir`, "semi=a;b", "tab=a\tb", "newline=a\nb",
		}},
	},
	{
		name:   "unknown engine flag fails",
		engine: host.EngineOptions{ArbitraryFlags: []string{"no-such-flag=1"}},
		fails:  "unknown flag: --no-such-flag",
	},
	{
		name: "env with spaces, quotes, percent and dollar",
		engine: host.EngineOptions{Env: []string{
			"GREETING=hello world", `QUOTED=say "hi"`, "SINGLE=it's", "PCT=100%", "SPEC=%n %h", "DOLLAR=$HOME", "BRACES=${HOME}",
			`BACKSLASH=a\b`, "SEMI=a;b", "EMPTY=", "PADDED=  x  ", "TAB=a\tb", "NEWLINE=a\nb", "EQUALS=a=b",
			"HTTP_PROXY=http://proxy.invalid:3128",
		}},
		want: dropInWant{
			env: []string{
				"GREETING=hello world", `QUOTED=say "hi"`, "SINGLE=it's", "PCT=100%", "SPEC=%n %h", "DOLLAR=$HOME", "BRACES=${HOME}",
				`BACKSLASH=a\b`, "SEMI=a;b", "EMPTY=", "PADDED=  x  ", "TAB=a\tb", "NEWLINE=a\nb", "EQUALS=a=b",
				"HTTP_PROXY=http://proxy.invalid:3128",
			},
			httpProxy: "http://proxy.invalid:3128",
		},
	},
	{
		name: "registries and dns",
		engine: host.EngineOptions{
			InsecureRegistry: []string{"10.0.0.5:5000", "registry.local:5000", "192.168.50.0/24"},
			RegistryMirror:   []string{"https://mirror.example"},
			Dns:              []string{"192.0.2.53"},
		},
		want: dropInWant{
			insecureCIDRs: []string{"192.168.50.0/24"},
			insecureHosts: []string{"10.0.0.5:5000", "registry.local:5000"},
			mirrors:       []string{"https://mirror.example/"},
			nameserver:    "192.0.2.53",
		},
	},
	{
		name:   "overlay2, data root and log level debug",
		engine: host.EngineOptions{StorageDriver: "overlay2", GraphDir: "/var/lib/docker/machine-root", LogLevel: "debug"},
		want:   dropInWant{driver: "overlay2", rootDir: "/var/lib/docker/machine-root", debugLog: true},
	},
	{
		name:   "storage driver vfs",
		engine: host.EngineOptions{StorageDriver: "vfs"},
		want:   dropInWant{driver: "vfs"},
	},
	{
		name:   "storage driver that does not work here fails",
		engine: host.EngineOptions{StorageDriver: "zfs"},
		fails:  "error initializing graphdriver",
	},
	{
		name: "engine opts",
		engine: host.EngineOptions{ArbitraryFlags: []string{
			"max-concurrent-downloads=4", "--live-restore", "experimental", "log-driver=local", "default-ulimit=nofile=1024:2048",
			"label=opt=a b 100% $HOME",
		}},
		want: dropInWant{
			labels:        []string{"opt=a b 100% $HOME"},
			args:          []string{"--max-concurrent-downloads=4", "--live-restore", "--experimental"},
			liveRestore:   true,
			experimental:  true,
			loggingDriver: "local",
			nofile:        "1024 2048",
		},
	},
	{
		name: "engine port",
		port: 3376,
		want: dropInWant{port: 3376},
	},
}

// TestDropIn installs the drop-in that provision renders, for each row of
// engine options, on a real Debian host with Debian's docker.io, and has
// systemd and dockerd judge it: systemd-analyze verify reports nothing new,
// systemd loads the drop-in, dockerd restarts on it and what the options
// asked for is in effect (docker info, dockerd's environment and argv, a
// container's resolv.conf and limits, the TLS port with mutual TLS). Rows
// with bad options must make dockerd fail. The last row takes away the
// docker.socket unit and has provision.Provision render and install the
// drop-in for such a host.
func TestDropIn(t *testing.T) {
	start := time.Now()
	h := startHost(t, dockerImage)
	c := dropInCerts(t, h)
	baseline := dropInVerify(t, h)
	t.Logf("systemd-analyze verify docker.service on the pristine host: %q", baseline)
	// The files of an image whose containers can run cat, from the host's.
	h.exec(t, `tar -ch -C / bin/cat $(ldd /bin/cat | grep -o '/[^ ]*' | sed 's|^/||') > /root/probe.tar`)

	for _, tc := range dropInCases {
		t.Run(tc.name, func(t *testing.T) {
			opts := provision.Options{MachineName: "n1", DriverName: "generic", Engine: &tc.engine, EnginePort: tc.port}
			dropIn, err := provision.RenderDropIn(opts, "/usr/sbin/dockerd")
			if err != nil {
				t.Fatal(err)
			}
			cursor := dropInCursor(t, h)
			dropInWrite(t, h, provision.DropInPath, []byte(dropIn), 0o644)
			h.exec(t, "systemctl daemon-reload")
			dropInCheckUnit(t, h, baseline, cursor)

			out, err := dropInRun(h, "systemctl reset-failed docker.service docker.socket; timeout 120 systemctl restart docker")
			if tc.fails != "" {
				if err == nil {
					t.Fatalf("systemctl restart docker succeeded with a bad option (drop-in:\n%s)", dropIn)
				}
				if state := dropInState(h); state == "active" {
					t.Fatalf("docker.service is %s after a failed restart", state)
				}
				if journal := h.exec(t, "journalctl -u docker.service -o cat --no-pager --after-cursor="+dropInQuote(cursor)); !strings.Contains(journal, tc.fails) {
					t.Fatalf("dockerd's journal since the restart lacks %q:\n%s", tc.fails, journal)
				}
				return
			}
			if err != nil {
				t.Fatalf("systemctl restart docker: %v\n%s\n%s\ndrop-in:\n%s", err, out,
					h.exec(t, "journalctl -u docker.service -o cat --no-pager -n 30 --after-cursor="+dropInQuote(cursor)), dropIn)
			}
			dropInCheckDaemon(t, h, c, tc.want, true, cursor)
		})
	}

	t.Run("no docker.socket unit, rendered and installed by Provision", func(t *testing.T) {
		// A docker.service that does not need docker.socket, as a hand-made
		// unit for a static dockerd would be, and no socket unit.
		h.exec(t, `set -e
sed -e '/^Requires=docker.socket/d' -e 's/ docker.socket / /' /lib/systemd/system/docker.service > /etc/systemd/system/docker.service
systemctl stop docker.service docker.socket
systemctl mask --quiet docker.socket
rm -f /run/docker.sock
systemctl daemon-reload
systemctl reset-failed docker.service docker.socket`)
		pristine := dropInVerify(t, h)
		cursor := dropInCursor(t, h)
		engine := &host.EngineOptions{Labels: []string{"socket=none"}, InstallURL: "none"}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		var log bytes.Buffer
		err := provision.Provision(ctx, dropInRunner{h.Name}, provision.Options{
			MachineName: "nosock", DriverName: "generic", Engine: engine,
			CACert: c.ca, ServerCert: c.server, ServerKey: c.serverKey,
			WaitTLS: func(ctx context.Context) error { return dropInPing(ctx, h.IP, provision.DefaultEnginePort, c.client) },
			Log:     &log,
		})
		if err != nil {
			t.Fatalf("provision: %v\n%s", err, log.String())
		}
		dropIn := h.exec(t, "cat "+provision.DropInPath)
		if strings.Contains(dropIn, "docker.socket") || strings.Contains(dropIn, "fd://") {
			t.Errorf("the drop-in for a host without docker.socket still uses it:\n%s", dropIn)
		}
		dropInCheckUnit(t, h, pristine, cursor)
		dropInCheckDaemon(t, h, c, dropInWant{labels: []string{"socket=none"}}, false, cursor)
		if err := provision.DiscardBackup(ctx, dropInRunner{h.Name}, "nosock"); err != nil {
			t.Error(err)
		}
	})
	t.Logf("TestDropIn took %s", time.Since(start).Round(time.Second))
}

// dropInTLS is the TLS material of the test host.
type dropInTLS struct {
	ca, server, serverKey []byte
	client                *tls.Config // client cert of the same CA
	noCert                *tls.Config // trusts the CA, presents no cert
}

// dropInCerts makes a CA, a client pair and a server pair for h with the
// certs package and installs the server side where the drop-in says.
func dropInCerts(t *testing.T, h *testHost) dropInTLS {
	t.Helper()
	dir := t.TempDir()
	p, err := certs.EnsureStoreCerts(filepath.Join(dir, "certs"), "dropin")
	if err != nil {
		t.Fatal(err)
	}
	server, serverKey := filepath.Join(dir, certs.ServerCertFile), filepath.Join(dir, certs.ServerKeyFile)
	if err := certs.NewServerCert(p.CACert, p.CAKey, server, serverKey, "dropin", []string{h.IP, h.Name}); err != nil {
		t.Fatal(err)
	}
	client, err := certs.ClientTLSConfig(p.CACert, p.ClientCert, p.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	noCert := client.Clone()
	noCert.Certificates = nil
	c := dropInTLS{ca: dropInRead(t, p.CACert), server: dropInRead(t, server), serverKey: dropInRead(t, serverKey), client: client, noCert: noCert}
	dropInWrite(t, h, provision.RemoteCACertPath, c.ca, 0o644)
	dropInWrite(t, h, provision.RemoteServerCertPath, c.server, 0o644)
	dropInWrite(t, h, provision.RemoteServerKeyPath, c.serverKey, 0o600)
	return c
}

func dropInRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dropInWrite writes a file on h as root.
func dropInWrite(t *testing.T, h *testHost, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := (dropInRunner{h.Name}).WriteFile(context.Background(), path, data, mode); err != nil {
		t.Fatal(err)
	}
}

// dropInRun runs a shell script on h and returns its combined output; a
// failure is returned, not fatal.
func dropInRun(h *testHost, script string) (string, error) {
	out, err := exec.Command("docker", "exec", h.Name, "sh", "-c", script).CombinedOutput()
	return string(out), err
}

func dropInState(h *testHost) string {
	out, _ := dropInRun(h, "systemctl is-active docker.service")
	return strings.TrimSpace(out)
}

// dropInCursor is the journal's cursor now, to read what comes after it.
func dropInCursor(t *testing.T, h *testHost) string {
	t.Helper()
	out := h.exec(t, "journalctl -n 0 --show-cursor --no-pager")
	_, cursor, ok := strings.Cut(out, "-- cursor: ")
	if !ok {
		t.Fatalf("no journal cursor in %q", out)
	}
	return strings.TrimSpace(cursor)
}

func dropInQuote(s string) string { return sshclient.ShellQuote(s) }

// dropInVerify returns the lines systemd-analyze verify prints about
// docker.service, sorted.
func dropInVerify(t *testing.T, h *testHost) []string {
	t.Helper()
	out, _ := dropInRun(h, "systemd-analyze verify docker.service 2>&1")
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	slices.Sort(lines)
	return lines
}

// dropInCheckUnit checks that systemd loaded the drop-in, that
// systemd-analyze verify says nothing it did not say before it, and that
// systemd logged nothing about it since cursor.
func dropInCheckUnit(t *testing.T, h *testHost, baseline []string, cursor string) {
	t.Helper()
	if logged := h.exec(t, "journalctl _PID=1 -o cat --no-pager --after-cursor="+dropInQuote(cursor)+" | grep -F "+dropInQuote(filepath.Base(provision.DropInPath))+" || true"); logged != "" {
		t.Errorf("systemd logged about the drop-in:\n%s", logged)
	}
	if paths := h.exec(t, "systemctl show -p DropInPaths --value docker.service"); !strings.Contains(paths, provision.DropInPath) {
		t.Errorf("systemd did not load the drop-in: DropInPaths=%s", paths)
	}
	for _, l := range dropInVerify(t, h) {
		if !slices.Contains(baseline, l) {
			t.Errorf("systemd-analyze verify docker.service: %s", l)
		}
	}
}

// dropInInfo is the part of docker info the rows check.
type dropInInfo struct {
	Labels             []string
	Driver             string
	DockerRootDir      string
	LoggingDriver      string
	ExperimentalBuild  bool
	LiveRestoreEnabled bool
	HTTPProxy          string `json:"HttpProxy"`
	RegistryConfig     struct {
		InsecureRegistryCIDRs []string
		IndexConfigs          map[string]struct{ Secure bool }
		Mirrors               []string
	}
}

// dropInCheckDaemon checks that dockerd runs with what want says, through
// the host's unix socket, /proc and a container, and over TLS from here.
func dropInCheckDaemon(t *testing.T, h *testHost, c dropInTLS, want dropInWant, socketActivated bool, cursor string) {
	t.Helper()
	if state := dropInState(h); state != "active" {
		t.Fatalf("docker.service is %s", state)
	}
	pid := strings.TrimSpace(h.exec(t, "systemctl show -p MainPID --value docker.service"))
	journal := h.exec(t, "journalctl _PID="+pid+" -o cat --no-pager --after-cursor="+dropInQuote(cursor))
	if got := strings.Contains(journal, "level=debug"); got != want.debugLog {
		t.Errorf("the new dockerd logged level=debug lines: %v, want %v", got, want.debugLog)
	}
	var info dropInInfo
	if err := json.Unmarshal([]byte(h.exec(t, "docker -H unix:///var/run/docker.sock info --format '{{json .}}'")), &info); err != nil {
		t.Fatal(err)
	}
	def := func(got *string, d string) {
		if *got == "" {
			*got = d
		}
	}
	def(&want.driver, "overlay2")
	def(&want.rootDir, "/var/lib/docker")
	def(&want.loggingDriver, "json-file")
	if want.port == 0 {
		want.port = provision.DefaultEnginePort
	}
	var insecureHosts []string
	for name, ic := range info.RegistryConfig.IndexConfigs {
		if !ic.Secure {
			insecureHosts = append(insecureHosts, name)
		}
	}
	slices.Sort(insecureHosts)
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"Labels", dropInSorted(info.Labels), dropInSorted(append([]string{"provider=generic"}, want.labels...))},
		{"Driver", info.Driver, want.driver},
		{"DockerRootDir", info.DockerRootDir, want.rootDir},
		{"LoggingDriver", info.LoggingDriver, want.loggingDriver},
		{"ExperimentalBuild", info.ExperimentalBuild, want.experimental},
		{"LiveRestoreEnabled", info.LiveRestoreEnabled, want.liveRestore},
		{"HttpProxy", info.HTTPProxy, want.httpProxy},
		{"InsecureRegistryCIDRs", dropInSorted(info.RegistryConfig.InsecureRegistryCIDRs), dropInSorted(append([]string{"127.0.0.0/8"}, want.insecureCIDRs...))},
		{"insecure registries", insecureHosts, want.insecureHosts},
		{"Mirrors", info.RegistryConfig.Mirrors, want.mirrors},
	} {
		if got, want := dropInShow(f.got), dropInShow(f.want); got != want {
			t.Errorf("docker info %s = %s, want %s", f.name, got, want)
		}
	}

	environ := strings.Split(h.exec(t, "cat /proc/"+pid+"/environ"), "\x00")
	for _, kv := range want.env {
		if !slices.Contains(environ, kv) {
			t.Errorf("dockerd's environment lacks %q; it has %q", kv, environ)
		}
	}
	argv := strings.Split(strings.TrimSuffix(h.exec(t, "cat /proc/"+pid+"/cmdline"), "\x00"), "\x00")
	if argv[0] != "/usr/sbin/dockerd" {
		t.Errorf("dockerd's argv[0] = %q", argv[0])
	}
	if len(want.args) > 0 && !dropInHasRun(argv, want.args) {
		t.Errorf("dockerd's argv %q lacks %q", argv, want.args)
	}

	// The local socket: systemd's docker.socket, or dockerd's own.
	sock := h.exec(t, "stat -L -c %F /var/run/docker.sock; systemctl is-active docker.socket || true")
	wantSock := "socket\nactive\n"
	if !socketActivated {
		wantSock = "socket\ninactive\n"
	}
	if sock != wantSock {
		t.Errorf("/var/run/docker.sock and docker.socket: %q, want %q", sock, wantSock)
	}

	// dockerd listens on the TLS port, requires a client cert of the CA,
	// and serves one.
	listen := h.exec(t, "ss -Hltn")
	for _, p := range []int{provision.DefaultEnginePort, 3376} {
		if got, wantIt := strings.Contains(listen, ":"+strconv.Itoa(p)+" "), p == want.port; got != wantIt {
			t.Errorf("listening on port %d: %v, want %v:\n%s", p, got, wantIt, listen)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dropInPing(ctx, h.IP, want.port, c.client); err != nil {
		t.Errorf("GET /_ping over mutual TLS: %v", err)
	}
	if err := dropInPing(ctx, h.IP, want.port, c.noCert); err == nil {
		t.Error("GET /_ping without a client certificate succeeded: --tlsverify is not in effect")
	}

	// A container: the DNS server and default ulimits it gets.
	run := func(args string) string {
		return h.exec(t, "docker image inspect probe:1 >/dev/null 2>&1 || docker import /root/probe.tar probe:1 >/dev/null; docker run --rm probe:1 "+args)
	}
	var nameservers []string
	for _, l := range strings.Split(run("/bin/cat /etc/resolv.conf"), "\n") {
		if ns, ok := strings.CutPrefix(l, "nameserver "); ok {
			nameservers = append(nameservers, strings.TrimSpace(ns))
		}
	}
	if want.nameserver != "" && !slices.Equal(nameservers, []string{want.nameserver}) {
		t.Errorf("a container's nameservers are %q, want %q", nameservers, want.nameserver)
	}
	if want.nameserver == "" && slices.Contains(nameservers, "192.0.2.53") {
		t.Errorf("a container still gets the nameserver of an earlier row: %q", nameservers)
	}
	if want.nofile != "" {
		limits := run("/bin/cat /proc/self/limits")
		var got string
		for _, l := range strings.Split(limits, "\n") {
			if rest, ok := strings.CutPrefix(l, "Max open files"); ok {
				f := strings.Fields(rest)
				if len(f) >= 2 {
					got = f[0] + " " + f[1]
				}
			}
		}
		if got != want.nofile {
			t.Errorf("a container's open files limit is %q, want %q", got, want.nofile)
		}
	}
}

func dropInSorted(l []string) []string {
	l = slices.Clone(l)
	slices.Sort(l)
	return l
}

// dropInShow formats a docker info value for comparison: lists quoted
// (nil and empty alike), the rest as %v.
func dropInShow(v any) string {
	if l, ok := v.([]string); ok {
		return fmt.Sprintf("%q", l)
	}
	return fmt.Sprint(v)
}

// dropInHasRun reports whether words appear in argv one after the other.
func dropInHasRun(argv, words []string) bool {
	for i := 0; i+len(words) <= len(argv); i++ {
		if slices.Equal(argv[i:i+len(words)], words) {
			return true
		}
	}
	return false
}

// dropInPing GETs /_ping from dockerd over TLS with cfg, retrying until ctx
// ends.
func dropInPing(ctx context.Context, ip string, port int, cfg *tls.Config) error {
	cfg = cfg.Clone()
	cfg.ServerName = ip
	tr := &http.Transport{TLSClientConfig: cfg}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	url := fmt.Sprintf("https://%s:%d/_ping", ip, port)
	var err error
	for {
		var resp *http.Response
		if resp, err = client.Get(url); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && string(body) == "OK" {
				return nil
			}
			err = fmt.Errorf("%s: %q", resp.Status, body)
		}
		// A refused handshake (no client cert) is an answer, not a wait.
		var certErr *tls.CertificateVerificationError
		if errors.As(err, &certErr) || strings.Contains(err.Error(), "certificate required") || strings.Contains(err.Error(), "bad certificate") {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// dropInRunner is a provision.Runner that runs commands on a test host
// through docker exec, as root.
type dropInRunner struct{ name string }

func (r dropInRunner) Output(ctx context.Context, cmd string) ([]byte, error) {
	c := exec.CommandContext(ctx, "docker", "exec", r.name, "sh", "-c", cmd)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out, &sshclient.ExitError{Cmd: cmd, Status: ee.ExitCode(), Stderr: strings.TrimSpace(stderr.String())}
	}
	return out, err
}

func (r dropInRunner) Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	args := []string{"exec"}
	if stdin != nil {
		args = append(args, "-i")
	}
	c := exec.CommandContext(ctx, "docker", append(args, r.name, "sh", "-c", cmd)...)
	c.Stdin, c.Stdout, c.Stderr = stdin, stdout, stderr
	err := c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, err
}

func (r dropInRunner) WriteFile(ctx context.Context, path string, data []byte, mode os.FileMode) error {
	script := fmt.Sprintf(`set -e; mkdir -p %s; t=$(mktemp %s.XXXXXX); cat > "$t"; chmod %o "$t"; mv "$t" %s`,
		dropInQuote(filepath.Dir(path)), dropInQuote(path), mode.Perm(), dropInQuote(path))
	c := exec.CommandContext(ctx, "docker", "exec", "-i", r.name, "sh", "-c", script)
	c.Stdin = bytes.NewReader(data)
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("write %s on %s: %v: %s", path, r.name, err, out)
	}
	return nil
}

package provision_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/machine-cli/machine/libmachine/host"
	"github.com/machine-cli/machine/provision"
	"github.com/machine-cli/machine/provision/provisiontest"
	"github.com/machine-cli/machine/sshclient"
)

const (
	debianHosts = "127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	allUnits    = "containerd.service enabled enabled\ndocker.service enabled enabled\ndocker.socket enabled enabled\n"
	journal     = "Aug 01 10:00:00 n1 dockerd[42]: failed to load listeners: bad flag\nAug 01 10:00:00 n1 systemd[1]: docker.service: Failed with result 'exit-code'."
)

// host describes what the fake host answers to provision's probes.
type fakeHost struct {
	uid, hostname, osRelease, hosts, dockerd, units string
}

func (h fakeHost) probe() string {
	sec := func(name, content string) string { return "\n@@machine:" + name + "\n" + content }
	return sec("uid", h.uid+"\n") + sec("hostname", h.hostname+"\n") + sec("os-release", h.osRelease) +
		sec("hosts", h.hosts) + h.dockerProbe()
}

func (h fakeHost) dockerProbe() string {
	out := "\n@@machine:dockerd\n"
	if h.dockerd != "" {
		out += h.dockerd + "\n"
	}
	return out + "\n@@machine:units\n" + h.units
}

// newRunner answers the host probe; more specific rules go first.
func newRunner(h fakeHost) *provisiontest.Runner {
	r := &provisiontest.Runner{}
	r.On("@@machine:os-release", provisiontest.Response{Stdout: h.probe()})
	return r
}

func options(waitTLS func(context.Context) error) (provision.Options, *strings.Builder) {
	var log strings.Builder
	return provision.Options{
		MachineName: "n1",
		DriverName:  "generic",
		Engine:      &host.EngineOptions{InstallURL: "distro", Labels: []string{"env=test"}},
		CACert:      []byte("CA PEM"),
		ServerCert:  []byte("SERVER PEM"),
		ServerKey:   []byte("KEY PEM"),
		WaitTLS:     waitTLS,
		Log:         &log,
	}, &log
}

// script undoes provision's `sh -c 'SCRIPT'` and sshclient.AsRoot
// wrappings.
func script(cmd string) string {
	if root, _, ok := strings.Cut(cmd, "; else sudo -n "); ok {
		cmd = strings.TrimPrefix(root, `if [ "$(id -u)" = 0 ]; then `)
	}
	_, q, ok := strings.Cut(cmd, "sh -c '")
	if !ok || !strings.HasSuffix(q, "'") {
		return cmd
	}
	return strings.ReplaceAll(strings.TrimSuffix(q, "'"), `'\''`, "'")
}

// step names a call for order assertions.
func step(c provisiontest.Call) string {
	switch {
	case c.Method == "WriteFile":
		return "write " + c.Path
	case strings.Contains(c.Cmd, "@@machine:os-release"):
		return "probe host"
	case strings.Contains(c.Cmd, provision.BackupRoot):
		return "back up"
	case strings.Contains(c.Cmd, "@@machine:dockerd"):
		return "probe docker"
	case strings.Contains(c.Cmd, "hostname"):
		return "set hostname"
	case strings.Contains(c.Cmd, "apt-get install"), strings.Contains(c.Cmd, "curl -fsSL"):
		return "install docker"
	case strings.Contains(c.Cmd, "systemctl restart docker"):
		return "restart docker"
	case strings.Contains(c.Cmd, "journalctl"):
		return "read journal"
	}
	return c.Method + " " + c.Cmd
}

func steps(r *provisiontest.Runner) []string {
	var s []string
	for _, c := range r.Calls() {
		s = append(s, step(c))
	}
	return s
}

func TestProvisionFreshHost(t *testing.T) {
	h := fakeHost{uid: "1000", hostname: "debian", osRelease: bookworm, hosts: debianHosts}
	r := newRunner(h)
	r.On("apt-get install", provisiontest.Response{Stdout: "lots of apt output\n"})
	h.dockerd, h.units = "/usr/sbin/dockerd", allUnits
	r.On("@@machine:dockerd", provisiontest.Response{Stdout: h.dockerProbe()})

	var waits atomic.Int32
	opts, log := options(func(context.Context) error {
		if waits.Add(1) < 3 {
			return errors.New("connection refused")
		}
		return nil
	})
	if err := provision.Provision(t.Context(), r, opts); err != nil {
		t.Fatalf("Provision: %v", err)
	}

	want := []string{
		"probe host", "install docker", "probe docker", "back up", "set hostname",
		"write " + provision.RemoteCACertPath, "write " + provision.RemoteServerCertPath, "write " + provision.RemoteServerKeyPath,
		"write " + provision.DropInPath, "restart docker",
	}
	if got := steps(r); !slices.Equal(got, want) {
		t.Errorf("steps:\n got %q\nwant %q", got, want)
	}
	if n := waits.Load(); n != 3 {
		t.Errorf("WaitTLS called %d times, want 3", n)
	}

	calls := r.Calls()
	for _, c := range calls[1:] {
		if c.Method != "WriteFile" && step(c) != "probe docker" && !strings.Contains(c.Cmd, "sudo -n sh -c ") {
			t.Errorf("%s: not run with sudo for a non-root user: %q", step(c), c.Cmd)
		}
	}
	setHost := calls[4]
	if !strings.Contains(setHost.Cmd, "hostnamectl set-hostname n1") || !strings.Contains(setHost.Cmd, "cat > /etc/hosts") || strings.Contains(setHost.Cmd, "sed -i") {
		t.Errorf("hostname command = %q", setHost.Cmd)
	}
	if wantHosts := "127.0.0.1\tlocalhost\n127.0.1.1 n1\n::1\tlocalhost ip6-localhost ip6-loopback\n"; setHost.Stdin != wantHosts {
		t.Errorf("new /etc/hosts = %q, want %q", setHost.Stdin, wantHosts)
	}
	if !strings.Contains(calls[1].Cmd, "DEBIAN_FRONTEND=noninteractive") {
		t.Errorf("install command = %q", calls[1].Cmd)
	}
	if !strings.Contains(calls[3].Cmd, "NAME=n1") {
		t.Errorf("backup command = %q", calls[3].Cmd)
	}
	for _, c := range calls[5:8] {
		wantMode := map[string]uint32{provision.RemoteServerKeyPath: 0o600}[c.Path]
		if wantMode == 0 {
			wantMode = 0o644
		}
		if uint32(c.Mode) != wantMode || c.Data == "" {
			t.Errorf("%s: mode %o, %d bytes", c.Path, c.Mode, len(c.Data))
		}
	}
	wantDropIn, _ := provision.RenderDropIn(opts, "/usr/sbin/dockerd")
	if calls[8].Data != wantDropIn {
		t.Errorf("drop-in:\n%s\nwant:\n%s", calls[8].Data, wantDropIn)
	}
	if !strings.Contains(calls[9].Cmd, "systemctl stop docker.service && systemctl restart docker.socket && systemctl start docker.service") {
		t.Errorf("start command = %q", calls[8].Cmd)
	}
	for _, line := range []string{"Detected Debian GNU/Linux 12 (bookworm)", "Setting the hostname to n1...", "Installing Docker from the OS's packages (apt-get)...", "Copying certificates...", "Starting Docker...", "Waiting for Docker"} {
		if !strings.Contains(log.String(), line) {
			t.Errorf("log lacks %q:\n%s", line, log)
		}
	}
}

func TestProvisionDockerPresent(t *testing.T) {
	// Root, hostname and /etc/hosts already right, Docker installed, with
	// docker.socket masked (so unusable) and no containerd.service.
	h := fakeHost{uid: "0", hostname: "n1", osRelease: jammy, hosts: "127.0.0.1 localhost\n127.0.1.1 n1\n",
		dockerd: "/usr/bin/dockerd", units: "docker.service enabled enabled\ndocker.socket masked enabled\n"}
	r := newRunner(h)
	opts, log := options(func(context.Context) error { return nil })
	if err := provision.Provision(t.Context(), r, opts); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	want := []string{
		"probe host", "back up",
		"write " + provision.RemoteCACertPath, "write " + provision.RemoteServerCertPath, "write " + provision.RemoteServerKeyPath,
		"write " + provision.DropInPath, "restart docker",
	}
	if got := steps(r); !slices.Equal(got, want) {
		t.Errorf("steps:\n got %q\nwant %q", got, want)
	}
	calls := r.Calls()
	if !strings.HasPrefix(calls[6].Cmd, "sh -c ") {
		t.Errorf("root command wrapped with sudo: %q", calls[6].Cmd)
	}
	dropIn := calls[5].Data
	if !strings.Contains(dropIn, "ExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2376 -H unix:///var/run/docker.sock --tlsverify") {
		t.Errorf("drop-in for a host without docker.socket:\n%s", dropIn)
	}
	if !strings.Contains(log.String(), "Docker is installed (/usr/bin/dockerd); reusing it") {
		t.Errorf("log:\n%s", log)
	}
}

func TestProvisionInstallURL(t *testing.T) {
	for _, tc := range []struct {
		url, want, wantErr string
	}{
		{url: "", want: "curl -fsSL https://get.docker.com -o"},
		{url: "https://example.test/install.sh?v=1&x=2", want: "curl -fsSL 'https://example.test/install.sh?v=1&x=2' -o"},
		{url: "none", wantErr: `provision n1: install docker: dockerd is not installed and the install URL is "none"`},
		{url: "ftp://x/y", wantErr: "provision n1: check options: install URL"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			h := fakeHost{uid: "0", hostname: "n1", osRelease: bookworm, hosts: "127.0.1.1 n1\n"}
			r := newRunner(h)
			h.dockerd, h.units = "/usr/bin/dockerd", allUnits
			r.On("@@machine:dockerd", provisiontest.Response{Stdout: h.dockerProbe()})
			opts, _ := options(func(context.Context) error { return nil })
			opts.Engine.InstallURL = tc.url
			err := provision.Provision(t.Context(), r, opts)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			install := r.Calls()[1]
			if step(install) != "install docker" || !strings.Contains(script(install.Cmd), tc.want) {
				t.Errorf("install command = %q, want it to contain %q", install.Cmd, tc.want)
			}
		})
	}
}

func TestProvisionStepFailures(t *testing.T) {
	bad := provisiontest.Response{Stdout: "failed\n" + journal + "\n"}
	for _, tc := range []struct {
		name     string
		host     fakeHost
		setup    func(r *provisiontest.Runner)
		waitTLS  func(context.Context) error
		timeout  time.Duration
		step     string
		contains []string
		exit     bool // the cause is an *sshclient.ExitError
	}{
		{
			name:     "unsupported OS",
			host:     fakeHost{uid: "0", osRelease: "NAME=\"Arch Linux\"\nPRETTY_NAME=\"Arch Linux\"\nID=arch\n"},
			step:     "detect os",
			contains: []string{"provision n1: detect os: unsupported OS Arch Linux (ID=arch); supported: debian, ubuntu, rhel, centos, rocky, almalinux, ol, fedora, opensuse-leap, opensuse-tumbleweed, sles, boot2docker, and OSes whose ID_LIKE names debian, rhel, fedora, suse, boot2docker"},
		},
		{
			name: "probe fails",
			host: fakeHost{},
			setup: func(r *provisiontest.Runner) {
				*r = provisiontest.Runner{}
				r.On("@@machine:os-release", provisiontest.Response{Err: errors.New("ssh: connection lost")})
			},
			step:     "detect os",
			contains: []string{"provision n1: detect os: ssh: connection lost"},
		},
		{
			name: "apt fails",
			host: fakeHost{uid: "0", hostname: "n1", osRelease: bookworm, hosts: "127.0.1.1 n1\n"},
			setup: func(r *provisiontest.Runner) {
				r.On("apt-get install", provisiontest.Response{Status: 100, Stderr: "Reading package lists...\nE: Unable to locate package docker.io\n"})
			},
			step: "install docker",
			contains: []string{"provision n1: install docker: installing Docker from the OS's packages (apt-get) failed (exit status 100): E: Unable to locate package docker.io\n" +
				"  Reading package lists..."},
			exit: true,
		},
		{
			name: "hosts not writable",
			host: fakeHost{uid: "1000", hostname: "debian", osRelease: bookworm, hosts: debianHosts, dockerd: "/usr/sbin/dockerd", units: allUnits},
			setup: func(r *provisiontest.Runner) {
				r.On("hostnamectl", provisiontest.Response{Status: 1, Stderr: "sudo: a password is required"})
			},
			step:     "set hostname",
			contains: []string{"provision n1: set hostname: ", "a password is required"},
			exit:     true,
		},
		{
			name:     "no docker.service",
			host:     fakeHost{uid: "0", hostname: "n1", osRelease: bookworm, hosts: "127.0.1.1 n1\n", dockerd: "/usr/local/bin/dockerd"},
			step:     "configure docker",
			contains: []string{"provision n1: configure docker: there is no docker.service"},
		},
		{
			name: "restart fails",
			host: fakeHost{uid: "0", hostname: "n1", osRelease: bookworm, hosts: "127.0.1.1 n1\n", dockerd: "/usr/sbin/dockerd", units: allUnits},
			setup: func(r *provisiontest.Runner) {
				r.On("systemctl restart docker", provisiontest.Response{Status: 1, Stderr: `Job for docker.service failed because the control process exited with error code.`})
				r.On("journalctl -u docker", bad)
			},
			step: "start docker",
			contains: []string{
				"provision n1: start docker: dockerd did not start (systemctl restart docker: exit status 1)",
				"docker.service is failed", "failed to load listeners: bad flag", "Failed with result 'exit-code'",
			},
			exit: false,
		},
		{
			name: "dockerd never answers",
			host: fakeHost{uid: "0", hostname: "n1", osRelease: bookworm, hosts: "127.0.1.1 n1\n", dockerd: "/usr/sbin/dockerd", units: allUnits},
			setup: func(r *provisiontest.Runner) {
				r.On("journalctl -u docker", bad)
			},
			waitTLS: func(context.Context) error { return errors.New("dial tcp 10.0.0.2:2376: connection refused") },
			timeout: 400 * time.Millisecond,
			step:    "start docker",
			contains: []string{
				"provision n1: start docker: docker does not answer over TLS on port 2376: context deadline exceeded; last attempt: dial tcp 10.0.0.2:2376: connection refused",
				"docker.service is failed", "failed to load listeners: bad flag",
			},
		},
		{
			name:     "bad engine env",
			host:     fakeHost{},
			setup:    func(r *provisiontest.Runner) { *r = provisiontest.Runner{} },
			step:     "check options",
			contains: []string{`provision n1: check options: engine env "NOEQUALS": want KEY=VALUE`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRunner(tc.host)
			if tc.setup != nil {
				tc.setup(r)
			}
			if tc.waitTLS == nil {
				tc.waitTLS = func(context.Context) error { return nil }
			}
			opts, _ := options(tc.waitTLS)
			if tc.step == "check options" {
				opts.Engine.Env = []string{"NOEQUALS"}
			}
			ctx := t.Context()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			start := time.Now()
			err := provision.Provision(ctx, r, opts)
			if err == nil {
				t.Fatal("Provision succeeded")
			}
			if d := time.Since(start); d > tc.timeout+time.Second {
				t.Errorf("took %v", d)
			}
			var se *provision.StepError
			if !errors.As(err, &se) || se.Step != tc.step || se.Machine != "n1" {
				t.Errorf("err = %#v, want a StepError for step %q", err, tc.step)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error lacks %q:\n%v", s, err)
				}
			}
			var exit *sshclient.ExitError
			if got := errors.As(err, &exit); got != tc.exit {
				t.Errorf("errors.As(ExitError) = %v, want %v", got, tc.exit)
			}
			// Nothing runs after the failed step but the diagnosis.
			calls := steps(r)
			if len(calls) > 0 {
				last := calls[len(calls)-1]
				if last == "read journal" {
					calls = calls[:len(calls)-1]
					last = calls[len(calls)-1]
				}
				if strings.HasPrefix(last, "write ") && tc.step != "configure docker" && tc.step != "write certificates" {
					t.Errorf("steps ran after the failure: %q", calls)
				}
			}
			fmt.Fprintln(testWriter{t}, err)
		})
	}
}

// testWriter logs what is written to it, to show the error messages in -v.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// stateAnswer is the back up step's answer on a host that holds files
// (path → content, mode) and whose docker.service is in the given states.
func stateAnswer(files map[string]string, modes map[string]string, active, enabled string) string {
	out := "\n@@machine:sums\n"
	for path, data := range files {
		sum := sha256.Sum256([]byte(data))
		out += hex.EncodeToString(sum[:]) + " " + modes[path] + " " + path + "\n"
	}
	return out + "\n@@machine:active\n" + active + "\n\n@@machine:enabled\n" + enabled + "\n"
}

// TestProvisionUnchanged: provisioning a host that already holds exactly
// what it would write writes nothing and leaves dockerd running; any
// difference (content, mode, a stopped dockerd) restarts it.
func TestProvisionUnchanged(t *testing.T) {
	h := fakeHost{uid: "0", hostname: "n1", osRelease: bookworm, hosts: "127.0.1.1 n1\n", dockerd: "/usr/sbin/dockerd", units: allUnits}
	opts, _ := options(func(context.Context) error { return nil })
	dropIn, err := provision.RenderDropIn(opts, "/usr/sbin/dockerd")
	if err != nil {
		t.Fatal(err)
	}
	same := func() (map[string]string, map[string]string) {
		return map[string]string{
				provision.RemoteCACertPath: "CA PEM", provision.RemoteServerCertPath: "SERVER PEM",
				provision.RemoteServerKeyPath: "KEY PEM", provision.DropInPath: dropIn,
			}, map[string]string{
				provision.RemoteCACertPath: "644", provision.RemoteServerCertPath: "644",
				provision.RemoteServerKeyPath: "600", provision.DropInPath: "644",
			}
	}
	const keep = "Output keep docker running"
	for _, tc := range []struct {
		name    string
		change  func(files, modes map[string]string)
		active  string
		want    []string
		wantLog string
		enable  bool // docker.service is disabled: the start enables it
	}{
		{"identical", nil, "active", []string{"probe host", "back up", keep}, "dockerd keeps running", false},
		{"key mode differs", func(_, m map[string]string) { m[provision.RemoteServerKeyPath] = "644" }, "active",
			[]string{"probe host", "back up", "write " + provision.RemoteServerKeyPath, "restart docker"}, "Copying certificates...", false},
		{"drop-in differs", func(f, _ map[string]string) { f[provision.DropInPath] = "# edited\n" }, "active",
			[]string{"probe host", "back up", "write " + provision.DropInPath, "restart docker"}, "Configuring Docker...", false},
		{"drop-in missing", func(f, _ map[string]string) { delete(f, provision.DropInPath) }, "active",
			[]string{"probe host", "back up", "write " + provision.DropInPath, "restart docker"}, "Configuring Docker...", false},
		{"dockerd stopped", nil, "inactive", []string{"probe host", "back up", "restart docker"}, "Starting Docker...", false},
		{"identical, unit disabled", nil, "active", []string{"probe host", "back up", keep}, "dockerd keeps running", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRunner(h)
			files, modes := same()
			if tc.change != nil {
				tc.change(files, modes)
			}
			enabled := "enabled"
			if tc.enable {
				enabled = "disabled"
			}
			r.On(provision.BackupRoot, provisiontest.Response{Stdout: stateAnswer(files, modes, tc.active, enabled)})
			opts, log := options(func(context.Context) error { return nil })
			if err := provision.Provision(t.Context(), r, opts); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range r.Calls() {
				s := step(c)
				if strings.Contains(c.Cmd, "command -v ufw") && !strings.Contains(c.Cmd, "systemctl restart") {
					s = keep
					if got := strings.Contains(c.Cmd, "systemctl enable"); got != tc.enable {
						t.Errorf("enables docker.service: %v, want %v", got, tc.enable)
					}
				}
				got = append(got, s)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("steps:\n got %q\nwant %q", got, tc.want)
			}
			if !strings.Contains(log.String(), tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, log)
			}
		})
	}
}

package integration

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/machine-cli/machine/internal/testio"
)

// withEnv returns a CLI on the same store with extra environment.
func (m *machineCLI) withEnv(vars ...string) *machineCLI {
	return &machineCLI{store: m.store, env: append(append([]string(nil), m.env...), vars...)}
}

// lsNames returns the machine names `ls -q` lists.
func (m *machineCLI) lsNames(t *testing.T) []string {
	t.Helper()
	return strings.Fields(m.ok(t, "ls", "-q").Stdout)
}

// TestCLIWithoutHost: commands that need no machine: version, help with a
// driver's flags, env -u.
func TestCLIWithoutHost(t *testing.T) {
	m := newCLI(t)
	t.Run("version", func(t *testing.T) {
		r := m.ok(t, "version")
		if !regexp.MustCompile(`^machine version \S+\n$`).MatchString(r.Stdout) || r.Stderr != "" {
			t.Errorf("version: stdout %q, stderr %q", r.Stdout, r.Stderr)
		}
		if got := m.ok(t, "--version").Stdout; got != r.Stdout {
			t.Errorf("--version = %q, version = %q", got, r.Stdout)
		}
	})
	t.Run("help", func(t *testing.T) {
		for _, args := range [][]string{{"ssh", "--help"}, {"swarm", "leave", "-h"}} {
			r := m.ok(t, args...)
			if !strings.Contains(r.Stdout, "machine "+strings.Join(args[:len(args)-1], " ")+" - ") || r.Stderr != "" {
				t.Errorf("%v: stdout %q, stderr %q", args, r.Stdout, r.Stderr)
			}
		}
		r := m.ok(t, "create", "-d", "generic", "--help")
		for _, flag := range []string{"--generic-ip-address", "--generic-engine-port", "--generic-private-ip", "--engine-storage-driver"} {
			if !strings.Contains(r.Stdout, flag) {
				t.Errorf("create -d generic --help lacks %s:\n%s", flag, r.Stdout)
			}
		}
	})
	t.Run("env -u", func(t *testing.T) {
		unset := "unset DOCKER_TLS_VERIFY\nunset DOCKER_HOST\nunset DOCKER_CERT_PATH\nunset DOCKER_MACHINE_NAME\n"
		tests := []struct {
			args []string
			want string
		}{
			{[]string{"env", "--shell", "bash", "-u"}, unset},
			{[]string{"env", "--shell", "bash", "--unset", "--no-proxy"}, unset + "unset NO_PROXY\n"},
			{[]string{"env", "--shell", "fish", "-u"}, "set -e DOCKER_TLS_VERIFY;\nset -e DOCKER_HOST;\nset -e DOCKER_CERT_PATH;\nset -e DOCKER_MACHINE_NAME;\n"},
		}
		for _, tc := range tests {
			r := m.ok(t, tc.args...)
			if !strings.HasPrefix(r.Stdout, tc.want) {
				t.Errorf("%v:\n%s\nwant it to start with:\n%s", tc.args, r.Stdout, tc.want)
			}
			if r.Stderr != "" {
				t.Errorf("%v: stderr %q", tc.args, r.Stderr)
			}
		}
		r := m.fails(t, "Expected no machine name when the -u flag is present", "env", "-u", "n1")
		if r.Stdout != "" {
			t.Errorf("env -u n1 printed %q", r.Stdout)
		}
	})
}

// TestCLI drives the commands end to end on real test hosts, which its
// parts share:
//   - n1 on host A, created with engine options;
//   - p1 on host B with --generic-engine-port and --generic-private-ip
//     (an address of B's that host A routes to, as on a private network);
//   - c1 on host C, paused for ls --timeout, then removed at rm's prompt.
//
// A store holds one machine per host, and rm of several removes n1 and p1,
// so that part comes last.
func TestCLI(t *testing.T) {
	hA, hB, hC := startHost(t, dockerImage), startHost(t, dockerImage), startHost(t, dockerImage)
	const privateIP = "10.77.0.2"
	hB.exec(t, "ip addr add "+privateIP+"/32 dev eth0")
	hA.exec(t, "ip route add "+privateIP+"/32 via "+hB.IP)
	m := newCLI(t)
	m.createGeneric(t, hA, "n1",
		"--engine-insecure-registry", "10.99.0.1:5000",
		"--engine-registry-mirror", "https://mirror.example.test",
		"--engine-storage-driver", "vfs",
		"--engine-env", "MACHINE_TEST_A=1",
		"--engine-env", "MACHINE_TEST_B=two words $HOME 100%",
		"--engine-env", "NO_PROXY=localhost,127.0.0.1")
	m.createGeneric(t, hB, "p1", "--generic-engine-port", "12376", "--generic-private-ip", privateIP)
	m.createGeneric(t, hC, "c1")
	n1 := parseEnv(t, m.ok(t, "env", "--shell", "bash", "n1").Stdout)
	p1 := parseEnv(t, m.ok(t, "env", "--shell", "bash", "p1").Stdout)

	t.Run("version NAME", func(t *testing.T) {
		want, err := dockerVersion(t, n1)
		if err != nil || want == "" {
			t.Fatalf("docker version: %v: %s", err, want)
		}
		r := m.ok(t, "version", "n1")
		if r.Stdout != want+"\n" || r.Stderr != "" {
			t.Errorf("version n1: stdout %q (want %q), stderr %q", r.Stdout, want+"\n", r.Stderr)
		}
		m.fails(t, `"ghost" does not exist`, "version", "ghost")
	})

	t.Run("env --no-proxy", func(t *testing.T) {
		tests := []struct {
			name string
			env  []string
			want string
		}{
			{"unset", []string{"NO_PROXY=", "no_proxy="}, hA.IP},
			{"kept", []string{"NO_PROXY=localhost,.corp.example", "no_proxy="}, "localhost,.corp.example," + hA.IP},
			{"lower case kept", []string{"NO_PROXY=", "no_proxy=.internal"}, ".internal," + hA.IP},
			{"already there", []string{"NO_PROXY=" + hA.IP + ",localhost", "no_proxy="}, hA.IP + ",localhost"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := m.withEnv(tc.env...).ok(t, "env", "--shell", "bash", "--no-proxy", "n1")
				vars := parseEnv(t, r.Stdout)
				if vars["NO_PROXY"] != tc.want {
					t.Errorf("NO_PROXY = %q, want %q", vars["NO_PROXY"], tc.want)
				}
				if vars["DOCKER_HOST"] != n1["DOCKER_HOST"] {
					t.Errorf("DOCKER_HOST = %q, want %q", vars["DOCKER_HOST"], n1["DOCKER_HOST"])
				}
				if r.Stderr != "" {
					t.Errorf("stderr %q", r.Stderr)
				}
			})
		}
	})

	t.Run("engine options", func(t *testing.T) {
		tests := []struct{ format, want string }{
			{"{{.Driver}}", "vfs"},
			{`{{(index .RegistryConfig.IndexConfigs "10.99.0.1:5000").Secure}}`, "false"},
			{"{{json .RegistryConfig.Mirrors}}", `["https://mirror.example.test/"]`},
		}
		for _, tc := range tests {
			if got := mustDocker(t, n1, "info", "--format", tc.format); got != tc.want {
				t.Errorf("docker info %s = %q, want %q", tc.format, got, tc.want)
			}
		}
		out := m.ok(t, "ssh", "n1", "--", "cat", "/proc/$(pidof dockerd)/environ").Stdout
		environ := strings.Split(out, "\x00")
		for _, want := range []string{"MACHINE_TEST_A=1", "MACHINE_TEST_B=two words $HOME 100%", "NO_PROXY=localhost,127.0.0.1"} {
			if !slices.Contains(environ, want) {
				t.Errorf("dockerd's environment lacks %q:\n%q", want, environ)
			}
		}
	})

	t.Run("generic engine port", func(t *testing.T) {
		url := "tcp://" + hB.IP + ":12376"
		if p1["DOCKER_HOST"] != url {
			t.Errorf("DOCKER_HOST = %q, want %q", p1["DOCKER_HOST"], url)
		}
		if got := m.ok(t, "url", "p1").Stdout; got != url+"\n" {
			t.Errorf("url p1 = %q", got)
		}
		if v, err := dockerVersion(t, p1); err != nil || v == "" {
			t.Fatalf("docker version through env: %v: %s", err, v)
		}
		listening := hB.exec(t, "ss -Hltn")
		if !strings.Contains(listening, ":12376 ") || strings.Contains(listening, ":2376 ") {
			t.Errorf("dockerd should listen on 12376 and not 2376:\n%s", listening)
		}
		if out := m.ok(t, "ls", "-f", "{{.Name}} {{.State}} {{.URL}}", "--filter", "name=p1").Stdout; out != "p1 Running "+url+"\n" {
			t.Errorf("ls p1 = %q", out)
		}
	})

	t.Run("private IP", func(t *testing.T) {
		if got := m.ok(t, "inspect", "-f", "{{.Driver.IPAddress}} {{.Driver.PrivateIPAddress}}", "p1").Stdout; got != hB.IP+" "+privateIP+"\n" {
			t.Errorf("inspect p1 = %q", got)
		}
		if got := m.ok(t, "ip", "p1").Stdout; got != hB.IP+"\n" {
			t.Errorf("ip p1 = %q, want the public IP", got)
		}
		cert := serverCert(t, filepath.Join(m.store, "machines", "p1"))
		if err := cert.VerifyHostname(privateIP); err != nil {
			t.Errorf("server certificate not valid for the private IP: %v", err)
		}
	})

	t.Run("swarm init, join and leave", func(t *testing.T) {
		// "STATE ADDR", the output trimmed: "inactive" when not in a swarm.
		state := func(vars map[string]string) string {
			return mustDocker(t, vars, "info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.NodeAddr}}")
		}
		if got := state(p1); got != "inactive" {
			t.Fatalf("p1 before swarm init: %q", got)
		}
		m.ok(t, "swarm", "init", "p1")
		if got := state(p1); got != "active "+privateIP {
			t.Errorf("p1 after swarm init: %q, want active advertising %s", got, privateIP)
		}
		// n1 reaches the manager at its private IP only (host A's route).
		m.ok(t, "swarm", "join", "p1", "n1")
		if got := state(n1); got != "active "+hA.IP {
			t.Errorf("n1 after swarm join: %q", got)
		}
		eventually(t, time.Minute, func() string {
			out, _ := docker(t, p1, "node", "ls", "--format", "{{.Hostname}} {{.Status}}")
			if out != "n1 Ready\np1 Ready" && out != "p1 Ready\nn1 Ready" {
				return "docker node ls:\n" + out
			}
			return ""
		})
		if out := m.ok(t, "ls", "-f", "{{.Name}} {{.Swarm}}", "--filter", "swarm=p1").Stdout; out != "n1 p1: worker\np1 p1: manager (leader)\n" {
			t.Errorf("ls --filter swarm=p1:\n%s", out)
		}
		m.ok(t, "swarm", "leave", "n1")
		if got := state(n1); got != "inactive" {
			t.Errorf("n1 after swarm leave: %q", got)
		}
		m.ok(t, "swarm", "leave", "p1")
		if got := state(p1); got != "inactive" {
			t.Errorf("p1 after swarm leave: %q", got)
		}
		if out := m.ok(t, "ls", "-q", "--filter", "swarm=p1").Stdout; out != "" {
			t.Errorf("ls --filter swarm=p1 after leaving: %q", out)
		}
	})

	t.Run("ssh", func(t *testing.T) {
		tests := []struct {
			name   string
			args   []string
			stdout string
			code   int
		}{
			{"after --", []string{"n1", "--", "echo", "hello", "world"}, "hello world\n", 0},
			{"only the first -- is ours", []string{"n1", "--", "echo", "--", "x"}, "-- x\n", 0},
			{"flags without --", []string{"n1", "echo", "-n", "x"}, "x", 0},
			{"command without --", []string{"n1", "cat", "/etc/hostname"}, "n1\n", 0},
			{"remote shell expands", []string{"p1", "--", "echo", "$((6*7))"}, "42\n", 0},
			{"exit status", []string{"n1", "--", "exit", "7"}, "", 7},
			{"failing command", []string{"n1", "--", "ls", "/nonexistent"}, "", 2},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := m.run(t, append([]string{"ssh"}, tc.args...)...)
				if r.Code != tc.code || r.Stdout != tc.stdout {
					t.Errorf("exit %d, stdout %q; want %d, %q (stderr %q)", r.Code, r.Stdout, tc.code, tc.stdout, r.Stderr)
				}
				if strings.Contains(r.Stderr, "Error") {
					t.Errorf("a remote exit status is not our error: stderr %q", r.Stderr)
				}
			})
		}
	})

	t.Run("ip of several", func(t *testing.T) {
		if got := m.ok(t, "ip", "n1", "p1").Stdout; got != hA.IP+"\n"+hB.IP+"\n" {
			t.Errorf("ip n1 p1 = %q", got)
		}
		if got := m.ok(t, "ip", "p1", "n1", "c1").Stdout; got != hB.IP+"\n"+hA.IP+"\n"+hC.IP+"\n" {
			t.Errorf("ip p1 n1 c1 = %q", got)
		}
		r := m.run(t, "ip", "n1", "ghost", "p1", "ghost2")
		wantFailure(t, r, `"ghost" does not exist`, "")
		if !strings.Contains(r.Stderr, `"ghost2" does not exist`) {
			t.Errorf("the Error line does not name ghost2:\n%s", r.Stderr)
		}
		if r.Stdout != hA.IP+"\n"+hB.IP+"\n" {
			t.Errorf("ip n1 ghost p1 ghost2: stdout %q, want the two known IPs", r.Stdout)
		}
	})

	t.Run("ls --timeout on a paused host", func(t *testing.T) {
		if out, err := exec.Command("docker", "pause", hC.Name).CombinedOutput(); err != nil {
			t.Fatalf("pause: %v %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("docker", "unpause", hC.Name).Run() })
		out := m.ok(t, "ls", "--timeout", "5", "-f", "{{.Name}}|{{.State}}|{{.DockerVersion}}|{{.Error}}").Stdout
		rows := map[string][]string{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Split(l, "|")
			if len(f) != 4 {
				t.Fatalf("ls row %q", l)
			}
			rows[f[0]] = f
		}
		if len(rows) != 3 {
			t.Fatalf("ls:\n%s", out)
		}
		for _, n := range []string{"n1", "p1"} {
			if f := rows[n]; f[1] != "Running" || !strings.HasPrefix(f[2], "v") || f[3] != "" {
				t.Errorf("ls row of %s on a running host: %q", n, f)
			}
		}
		// A frozen host still accepts TCP connections: the SSH port
		// answers, dockerd does not.
		if f := rows["c1"]; f[1] != "Timeout" || f[2] != "Unknown" || !strings.Contains(f[3], "deadline exceeded") {
			t.Errorf("ls row of c1 on the paused host: %q, want Timeout, no Docker version and the reason", f)
		}
		if out, err := exec.Command("docker", "unpause", hC.Name).CombinedOutput(); err != nil {
			t.Fatalf("unpause: %v %s", err, out)
		}
		if out := m.ok(t, "ls", "-f", "{{.Name}} {{.State}}", "--filter", "name=c1").Stdout; out != "c1 Running\n" {
			t.Errorf("ls after unpause: %q", out)
		}
	})

	t.Run("rm asks", func(t *testing.T) {
		question := "About to remove c1\nWARNING: This action will delete both local reference and remote instance.\nAre you sure? (y/n): "
		tests := []struct {
			name  string
			input io.Reader
			want  string
		}{
			{"no stdin", nil, "no answer on stdin"},
			{"n", strings.NewReader("n\n"), "not confirmed"},
			{"empty line", strings.NewReader("\n"), "not confirmed"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := m.runInput(t, tc.input, "rm", "c1")
				wantFailure(t, r, tc.want, "")
				if !strings.HasPrefix(r.Stderr, question) || r.Stdout != "" {
					t.Errorf("stdout %q, stderr %q; want the question on stderr", r.Stdout, r.Stderr)
				}
				if !slices.Contains(m.lsNames(t), "c1") {
					t.Fatalf("c1 removed without a yes")
				}
			})
		}
		t.Run("Ctrl-C at the question", func(t *testing.T) {
			cmd := exec.Command(env.bin, "-s", m.store, "rm", "c1")
			stdin, err := cmd.StdinPipe() // open, and never written
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			var stderr testio.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			eventually(t, 30*time.Second, func() string {
				if strings.Contains(stderr.String(), "Are you sure? (y/n): ") {
					return ""
				}
				return "no question on stderr: " + stderr.String()
			})
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("rm still waits for its answer after SIGINT:\n%s", stderr.String())
			}
			wantFailure(t, result{Stderr: stderr.String(), Code: cmd.ProcessState.ExitCode()}, "interrupted: nothing removed", "")
			if !slices.Contains(m.lsNames(t), "c1") {
				t.Fatalf("c1 removed after an interrupted question")
			}
		})
		r := m.runInput(t, strings.NewReader("y\n"), "rm", "c1")
		if r.Code != 0 || !strings.HasPrefix(r.Stderr, question) || !strings.Contains(r.Stderr, "Successfully removed c1") {
			t.Fatalf("echo y | machine rm c1: exit %d\nstderr:\n%s", r.Code, r.Stderr)
		}
		if slices.Contains(m.lsNames(t), "c1") {
			t.Errorf("c1 still listed after yes")
		}
		if _, err := os.Stat(filepath.Join(m.store, "machines", "c1")); !os.IsNotExist(err) {
			t.Errorf("c1's directory after rm: %v", err)
		}
	})

	t.Run("rm of several", func(t *testing.T) {
		r := m.run(t, "rm", "-y", "n1", "ghost", "p1")
		wantFailure(t, r, `"ghost" does not exist`, "")
		for _, n := range []string{"n1", "p1"} {
			if !strings.Contains(r.Stderr, "Successfully removed "+n+"\n") {
				t.Errorf("rm does not report %s removed:\n%s", n, r.Stderr)
			}
		}
		if got := m.lsNames(t); len(got) != 0 {
			t.Errorf("ls -q after rm n1 ghost p1: %q", got)
		}
	})
}

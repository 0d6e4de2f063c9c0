package integration

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Test-host images, built once by testhost/build.sh and cached by tag.
const (
	baseImage   = "machine-testhost:base-v2"
	dockerImage = "machine-testhost:docker-v2"
	// runLabel marks everything a test run makes, so a later run can remove
	// what a killed run left behind.
	runLabel = "machine-integration"
)

var keepHosts = flag.Bool("keep", false, "keep test hosts after the run (debugging)")

// env is what TestMain prepares for every test: the built binary, the test
// network and the key that test hosts authorize.
var env struct {
	root    string // repository root
	bin     string // the built machine binary
	binDir  string
	network string
	keyPath string // private key authorized on every host
	pubKey  string
	seq     atomic.Int64
}

func TestMain(m *testing.M) {
	flag.Parse()
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "integration setup:", err)
		os.Exit(1)
	}
	code := m.Run()
	teardown()
	os.Exit(code)
}

func setup() error {
	_, file, _, _ := runtime.Caller(0)
	env.root = filepath.Dir(filepath.Dir(file))
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		return fmt.Errorf("no Docker engine (run scripts/ensure-deps.sh): %v\n%s", err, out)
	}
	removeLeftovers(false)
	build := exec.Command("bash", filepath.Join(env.root, "integration/testhost/build.sh"), baseImage, dockerImage)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build test-host images: %w", err)
	}
	dir, err := os.MkdirTemp("", "machine-it-")
	if err != nil {
		return err
	}
	env.binDir = filepath.Join(dir, "bin")
	env.bin = filepath.Join(env.binDir, "machine")
	gobuild := exec.Command("go", "build", "-o", env.bin, "./cmd/machine")
	gobuild.Dir = env.root
	if out, err := gobuild.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	// A third-party driver, found on PATH as machine-driver-fake.
	fake := exec.Command("go", "build", "-o", filepath.Join(env.binDir, "machine-driver-fake"), "./drivers/plugin/testdata/machine-driver-fake")
	fake.Dir = env.root
	if out, err := fake.CombinedOutput(); err != nil {
		return fmt.Errorf("go build machine-driver-fake: %v\n%s", err, out)
	}
	// A third-party driver that provisions real hosts: machine-driver-ext.
	ext := exec.Command("go", "build", "-o", filepath.Join(env.binDir, "machine-driver-ext"), "./integration/testdata/machine-driver-ext")
	ext.Dir = env.root
	if out, err := ext.CombinedOutput(); err != nil {
		return fmt.Errorf("go build machine-driver-ext: %v\n%s", err, out)
	}
	// The driver of drivers/README.md, and one built for a plugin protocol
	// this machine does not speak.
	for exe, pkg := range map[string]string{"machine-driver-example": "./drivers/plugin/example", "machine-driver-v2": "./drivers/plugin/testdata/machine-driver-v2"} {
		b := exec.Command("go", "build", "-o", filepath.Join(env.binDir, exe), pkg)
		b.Dir = env.root
		if out, err := b.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", exe, err, out)
		}
	}
	// A docker-machine driver plugin (docker-machine's own protocol).
	legacy := exec.Command("go", "build", "-o", filepath.Join(env.binDir, "docker-machine-driver-legacytest"), ".")
	legacy.Dir = filepath.Join(env.root, "drivers/legacy/testdata/docker-machine-driver-legacytest")
	if out, err := legacy.CombinedOutput(); err != nil {
		return fmt.Errorf("go build docker-machine-driver-legacytest: %v\n%s", err, out)
	}
	if err := makeKey(dir); err != nil {
		return err
	}
	if err := makeNetwork(); err != nil {
		return err
	}
	return nil
}

func makeKey(dir string) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	block, err := ssh.MarshalPrivateKey(priv, "machine integration")
	if err != nil {
		return err
	}
	env.keyPath = filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(env.keyPath, pem.EncodeToMemory(block), 0o600); err != nil {
		return err
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return err
	}
	env.pubKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp)))
	return os.WriteFile(env.keyPath+".pub", []byte(env.pubKey+"\n"), 0o644)
}

// makeNetwork creates a bridge network on a /24 of its own, trying subnets
// until Docker accepts one that overlaps nothing.
func makeNetwork() error {
	env.network = fmt.Sprintf("machine-it-%d", os.Getpid())
	var last []byte
	for i := 0; i < 40; i++ {
		subnet := fmt.Sprintf("172.29.%d.0/24", 100+i)
		out, err := exec.Command("docker", "network", "create", "--label", runMark(), "--subnet", subnet, env.network).CombinedOutput()
		if err == nil {
			return nil
		}
		last = out
	}
	return fmt.Errorf("create test network: %s", last)
}

// runMark is the label every object of this run carries: runLabel with
// this process's PID as its value, so that concurrent runs (several
// developers' or agents' test runs on one engine) leave each other alone.
func runMark() string { return fmt.Sprintf("%s=%d", runLabel, os.Getpid()) }

// removeLeftovers removes the test hosts, volumes and networks of runs
// whose process is gone (a killed run), or of this run when mine is set.
func removeLeftovers(mine bool) {
	stale := func(value string) bool {
		pid, err := strconv.Atoi(value)
		if err != nil || pid <= 0 {
			return true // made before runs were marked with their PID
		}
		if pid == os.Getpid() {
			return mine
		}
		return !mine && syscall.Kill(pid, 0) == syscall.ESRCH
	}
	list := func(idField string, args ...string) []string {
		out, _ := exec.Command("docker", append(args, "--filter", "label="+runLabel, "--format", "{{"+idField+"}}\t{{.Label \""+runLabel+"\"}}")...).Output()
		var ids []string
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			id, value, _ := strings.Cut(line, "\t")
			if id != "" && stale(value) {
				ids = append(ids, id)
			}
		}
		return ids
	}
	if ids := list(".ID", "ps", "-a"); len(ids) > 0 {
		_ = exec.Command("docker", append([]string{"rm", "-f", "-v"}, ids...)...).Run()
	}
	if ids := list(".Name", "volume", "ls"); len(ids) > 0 {
		_ = exec.Command("docker", append([]string{"volume", "rm", "-f"}, ids...)...).Run()
	}
	for _, n := range list(".ID", "network", "ls") {
		_ = exec.Command("docker", "network", "rm", n).Run()
	}
}

func teardown() {
	if *keepHosts {
		return
	}
	removeLeftovers(true)
	_ = os.RemoveAll(filepath.Dir(env.binDir))
}

// testHost is one running test host.
type testHost struct {
	Name string // container and host name
	IP   string
}

// startHost starts a test host from image on the test network (run.sh),
// authorizing the test key for root. It is removed, with its volume, when
// the test ends.
func startHost(t testing.TB, image string) *testHost {
	t.Helper()
	h, err := launchHost(t, image)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// launchHost is startHost for code that runs outside the test's goroutine
// (a stand-in's hooks): it returns its failure instead of ending the test.
func launchHost(t testing.TB, image string) (*testHost, error) {
	name := fmt.Sprintf("machine-it-%d-%d", os.Getpid(), env.seq.Add(1))
	t.Cleanup(func() {
		if *keepHosts {
			return
		}
		_ = exec.Command("docker", "rm", "-f", "-v", name).Run()
		_ = exec.Command("docker", "volume", "rm", "-f", name+"-docker").Run()
	})
	cmd := exec.Command("bash", filepath.Join(env.root, "integration/testhost/run.sh"), image, name, env.network, runMark(), env.pubKey)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("start test host %s: %v\n%s", name, err, stderr.String())
	}
	return &testHost{Name: name, IP: strings.TrimSpace(string(out))}, nil
}

// exec runs a shell command in the host through docker exec (the test's
// side door, not the product's path) and returns its output.
func (h *testHost) exec(t testing.TB, script string) string {
	t.Helper()
	out, err := exec.Command("docker", "exec", h.Name, "sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("docker exec %s %q: %v\n%s", h.Name, script, err, out)
	}
	return string(out)
}

// result is one run of the machine binary.
type result struct {
	Stdout, Stderr string
	Code           int
}

// machineCLI runs the built binary against one store.
type machineCLI struct {
	store string
	env   []string
	// bound limits each command; 5 minutes when zero (VM boots under a
	// loaded TCG take longer).
	bound time.Duration
}

func newCLI(t testing.TB) *machineCLI {
	return &machineCLI{store: filepath.Join(t.TempDir(), "store")}
}

// run executes `machine -s STORE args...` with a bound on time and stdin
// from /dev/null.
func (m *machineCLI) run(t testing.TB, args ...string) result {
	t.Helper()
	return m.runInput(t, nil, args...)
}

// runInput runs `machine -s STORE args...` as run does, with stdin read
// from input; a nil input is /dev/null.
func (m *machineCLI) runInput(t testing.TB, input io.Reader, args ...string) result {
	t.Helper()
	bound := m.bound
	if bound == 0 {
		bound = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	cmd := exec.CommandContext(ctx, env.bin, append([]string{"-s", m.store}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+env.binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	// The docker contexts that create registers go beside the store, not
	// into the user's ~/.docker (m.env may say otherwise).
	cmd.Env = append(cmd.Env, "DOCKER_CONFIG="+m.dockerConfig())
	cmd.Env = append(cmd.Env, m.env...)
	cmd.Stdin = input
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	r := result{Stdout: so.String(), Stderr: se.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("machine %v: %v", args, err)
		}
		r.Code = ee.ExitCode()
	}
	return r
}

// dockerConfig is the DOCKER_CONFIG the store's commands run with.
func (m *machineCLI) dockerConfig() string { return filepath.Join(filepath.Dir(m.store), "docker") }

// ok runs the command and fails the test unless it exits 0.
func (m *machineCLI) ok(t testing.TB, args ...string) result {
	t.Helper()
	r := m.run(t, args...)
	if r.Code != 0 {
		t.Fatalf("machine %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r
}

// fails runs the command and fails the test unless it exits non-zero with
// one "Error:" line on stderr that contains want. Lines before it are
// progress; lines after it, indented, are details such as a journal tail.
func (m *machineCLI) fails(t testing.TB, want string, args ...string) result {
	t.Helper()
	r := m.run(t, args...)
	wantFailure(t, r, want, "machine "+strings.Join(args, " ")+": ")
	return r
}

// wantFailure fails the test unless r is a failure without a panic and
// with one "Error: " line on stderr (and no other line starting "Error")
// that contains want; what prefixes the test's messages.
func wantFailure(t testing.TB, r result, want, what string) {
	t.Helper()
	if r.Code == 0 {
		t.Fatalf("%sexit 0, want failure\nstdout:\n%s\nstderr:\n%s", what, r.Stdout, r.Stderr)
	}
	if strings.Contains(r.Stderr, "panic") || strings.Contains(r.Stderr, "goroutine ") {
		t.Fatalf("%spanicked:\n%s", what, r.Stderr)
	}
	var errLines []string
	for _, l := range strings.Split(r.Stderr, "\n") {
		if strings.HasPrefix(l, "Error") {
			errLines = append(errLines, l)
		}
	}
	if len(errLines) != 1 || !strings.HasPrefix(errLines[0], "Error: ") || !strings.Contains(errLines[0], want) {
		t.Fatalf("%swant one Error: line containing %q\nstderr:\n%s", what, want, r.Stderr)
	}
}

// createGeneric runs `create -d generic` against h with the test key.
func (m *machineCLI) createGeneric(t testing.TB, h *testHost, name string, extra ...string) result {
	t.Helper()
	args := append([]string{"create", "-d", "generic",
		"--generic-ip-address", h.IP, "--generic-ssh-key", env.keyPath}, extra...)
	return m.ok(t, append(args, name)...)
}

// serverCert reads the server certificate in a machine's directory.
func serverCert(t *testing.T, machineDir string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(machineDir, "server.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatal("server.pem holds no PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// Package provision turns a reachable Linux host into a Docker host that
// machine manages: it names the host, installs Docker when missing, installs
// the TLS certificates and runs dockerd with them through a systemd drop-in
// (on boot2docker, its profile and init script), all over one SSH
// connection.
package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/machine-cli/machine/internal/retry"
	"github.com/machine-cli/machine/libmachine/host"
	"github.com/machine-cli/machine/sshclient"
)

// DefaultEnginePort is dockerd's TLS port when Options.EnginePort is zero.
const DefaultEnginePort = 2376

// DefaultInstallURL is the install script used when InstallURL is empty.
const DefaultInstallURL = "https://get.docker.com"

// Runner runs commands on the host: the part of *sshclient.Client that
// provision uses, so that tests can substitute a recorder
// (see provisiontest).
type Runner interface {
	// Output runs cmd and returns its stdout; a non-zero exit is an
	// *sshclient.ExitError.
	Output(ctx context.Context, cmd string) ([]byte, error)
	// Run runs cmd with the given stdio and returns its exit status.
	Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error)
	// WriteFile replaces a file atomically, as root.
	WriteFile(ctx context.Context, path string, data []byte, mode os.FileMode) error
}

var _ Runner = (*sshclient.Client)(nil)

// Options say how to provision one machine.
type Options struct {
	MachineName string
	// DriverName is rendered as the engine label provider=<driver>.
	DriverName string
	// Engine configures dockerd (labels, env, registries, storage driver,
	// --engine-opt flags) and how to install Docker: InstallURL "" uses
	// DefaultInstallURL, "none" installs nothing, "distro" uses the OS's
	// packages, anything else is an http(s) URL of an install script.
	Engine *host.EngineOptions
	// EnginePort is dockerd's TLS port; when zero, Engine.TlsPort or else
	// DefaultEnginePort.
	EnginePort int
	// CACert, ServerCert and ServerKey are PEM contents installed at
	// RemoteCACertPath, RemoteServerCertPath and RemoteServerKeyPath.
	CACert, ServerCert, ServerKey []byte
	// WaitTLS checks that dockerd answers over TLS with the client
	// certificate. Provision polls it with backoff until it succeeds or ctx
	// ends, so ctx should carry the caller's deadline.
	WaitTLS func(ctx context.Context) error
	// Log receives progress lines ("Installing Docker..."); may be nil.
	Log io.Writer
}

// StepError is the error of a failed provisioning or upgrade step; its
// message reads "provision NAME: STEP: cause" ("upgrade NAME: ..." for
// Upgrade).
type StepError struct {
	// Op is "upgrade" for Upgrade's errors, "" for Provision's.
	Op      string
	Machine string
	// Step is Provision's "check options", "detect os", "install docker",
	// "back up", "set hostname", "write certificates", "configure docker"
	// or "start docker", or Upgrade's "check options", "detect os", "read
	// version", "upgrade docker" or "start docker" ("check os" refuses
	// boot2docker).
	Step string
	Err  error
	// BackedUp: the step failed after the host's configuration was
	// recorded, so Restore puts it back.
	BackedUp bool
}

// Error reads "provision NAME: STEP: cause" (or "upgrade NAME: ...").
func (e *StepError) Error() string {
	op := e.Op
	if op == "" {
		op = "provision"
	}
	return op + " " + e.Machine + ": " + e.Step + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }

// Provision provisions the host c is connected to. It can run again on a
// provisioned host: Docker is reused and machine's files are rewritten.
// Before it changes anything but Docker's installation, it records what it
// will replace (BackedUpPaths, the states of docker.service and
// docker.socket) on the host: the caller ends a provisioning with Restore
// (to undo it) or DiscardBackup (to keep it). Errors are *StepError.
func Provision(ctx context.Context, c Runner, opts Options) error {
	p := newRun(c, opts)
	return p.runSteps(ctx, "", []step{
		{"check options", p.check},
		{"detect os", p.detect},
		// Docker is installed before the backup: a rollback leaves it
		// installed, in the state its packages gave it.
		{"install docker", p.installDocker},
		{"back up", p.backup},
		{"set hostname", p.setHostname},
		{"write certificates", p.writeCerts},
		{"configure docker", p.configureDocker},
		{"start docker", p.startDocker},
	})
}

// newRun starts a run of opts on the host c is connected to: the engine's
// options default to none set, the engine port is resolved (enginePort)
// and progress is discarded when opts.Log is nil.
func newRun(c Runner, opts Options) *run {
	p := &run{r: c, opts: opts, engine: opts.Engine, log: opts.Log}
	if p.engine == nil {
		p.engine = &host.EngineOptions{}
	}
	p.opts.EnginePort = enginePort(opts)
	if p.log == nil {
		p.log = io.Discard
	}
	return p
}

// step is one named step of a run; its name is StepError.Step.
type step struct {
	name string
	fn   func(context.Context) error
}

// runSteps runs steps in order and stops at the first that fails, whose
// error it returns as a *StepError of op (StepError.Op), with BackedUp set
// once a step named "back up" has succeeded.
func (p *run) runSteps(ctx context.Context, op string, steps []step) error {
	backedUp := false
	for _, s := range steps {
		if err := s.fn(ctx); err != nil {
			return &StepError{Op: op, Machine: p.opts.MachineName, Step: s.name, Err: err, BackedUp: backedUp}
		}
		backedUp = backedUp || s.name == "back up"
	}
	return nil
}

// run is one provisioning run and what it learned about the host.
type run struct {
	r      Runner
	opts   Options
	engine *host.EngineOptions
	log    io.Writer

	root     bool // the SSH user is root (else commands use sudo -n)
	hostname string
	hosts    string
	os       OSProvisioner
	docker   dockerFacts
	// current is what the back up step found of machine's files and
	// dockerd's state; changed is set once a step changed what dockerd
	// runs on, so that the start step restarts it.
	current currentState
	changed bool
}

// dockerFacts is what the host has of Docker.
type dockerFacts struct {
	dockerd string          // `command -v dockerd`; "" when absent
	units   map[string]bool // which of docker.service, docker.socket, containerd.service exist (and are not masked)
}

func (p *run) logf(format string, args ...any) {
	fmt.Fprintf(p.log, format+"\n", args...)
}

// checkOptions checks what every run needs of its options: a connection,
// a machine name that validName accepts, the server's certificates when
// certs, and WaitTLS.
func (p *run) checkOptions(validName func(string) error, certs bool) error {
	if p.r == nil {
		return errors.New("no connection to the host")
	}
	if err := validName(p.opts.MachineName); err != nil {
		return err
	}
	if certs && (len(p.opts.CACert) == 0 || len(p.opts.ServerCert) == 0 || len(p.opts.ServerKey) == 0) {
		return errors.New("the CA certificate, server certificate and server key are required")
	}
	if p.opts.WaitTLS == nil {
		return errors.New("WaitTLS is required")
	}
	return nil
}

// check checks the options Provision uses.
func (p *run) check(context.Context) error {
	if err := p.checkOptions(host.ValidateNewName, true); err != nil {
		return err
	}
	if err := checkInstallURL(p.engine.InstallURL); err != nil {
		return err
	}
	// Bad engine options fail here, before anything changes on the host.
	_, err := renderDropIn(p.opts, daemon{Path: "/usr/bin/dockerd"})
	return err
}

// checkInstallURL accepts the install URLs of EngineOptions.InstallURL:
// "", "none", "distro" or an http(s) URL.
func checkInstallURL(u string) error {
	switch u {
	case "", "none", "distro":
		return nil
	}
	if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return fmt.Errorf("install URL %q: want an http(s) URL, \"distro\" or \"none\"", u)
	}
	return nil
}

// pathSetup makes sbin directories searchable: a non-root user's PATH on
// Debian lacks /usr/sbin, where dockerd is.
const pathSetup = `PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"; export PATH`

// marker starts a section of a probe's output; printed after a newline so
// that a file without a final newline still ends its section.
const marker = "@@machine:"

func section(name string) string { return `printf '\n` + marker + name + `\n'` }

// dockerProbe reports dockerd's path and which of Docker's units exist.
var dockerProbe = section("dockerd") + `
command -v dockerd || true
` + section("units") + `
systemctl list-unit-files --no-legend --no-pager docker.service docker.socket containerd.service 2>/dev/null || true
`

// hostProbe learns everything provision needs in one round trip.
var hostProbe = section("uid") + "\nid -u\n" +
	section("hostname") + "\nhostname 2>/dev/null || cat /etc/hostname 2>/dev/null || true\n" +
	section("os-release") + "\n" + osReleaseScript + "\n" +
	section("hosts") + "\ncat /etc/hosts 2>/dev/null || true\n" +
	dockerProbe

// sections splits a probe's output into its sections, each holding exactly
// what its commands printed.
func sections(out string) map[string]string {
	m := map[string]string{}
	parts := strings.Split(out, "\n"+marker)
	for _, part := range parts[1:] {
		name, content, _ := strings.Cut(part, "\n")
		m[name] = content
	}
	return m
}

func parseDockerFacts(sec map[string]string) dockerFacts {
	f := dockerFacts{dockerd: strings.TrimSpace(sec["dockerd"]), units: map[string]bool{}}
	if !strings.HasPrefix(f.dockerd, "/") {
		f.dockerd = "" // an alias or function, not a binary
	}
	for _, line := range strings.Split(sec["units"], "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[1] != "masked" {
			f.units[fields[0]] = true
		}
	}
	return f
}

// command wraps a script to run with sh, as root (sudo -n for other users)
// when asRoot.
func (p *run) command(script string, asRoot bool) string {
	script = "set -e\n" + pathSetup + "\n" + script
	if asRoot && !p.root {
		return sshclient.AsRoot(script)
	}
	return "sh -c " + sshclient.ShellQuote(script)
}

// output runs script and returns its stdout; an *sshclient.ExitError names
// the script rather than its sudo wrapping.
func (p *run) output(ctx context.Context, script string, asRoot bool) (string, error) {
	out, err := p.r.Output(ctx, p.command(script, asRoot))
	var exit *sshclient.ExitError
	if errors.As(err, &exit) {
		exit.Cmd = script
	}
	return string(out), err
}

// exec runs script with stdin, discarding its stdout.
func (p *run) exec(ctx context.Context, script string, stdin io.Reader) error {
	var stderr sshclient.TailBuffer
	status, err := p.r.Run(ctx, p.command(script, true), stdin, io.Discard, &stderr)
	if err != nil {
		return err
	}
	if status != 0 {
		return &sshclient.ExitError{Cmd: script, Status: status, Stderr: stderr.String()}
	}
	return nil
}

// probe runs script, a probe whose sections include "uid" and dockerProbe's,
// records whether the login user is root and the docker facts, and returns
// the sections.
func (p *run) probe(ctx context.Context, script string) (map[string]string, error) {
	out, err := p.output(ctx, script, false)
	if err != nil {
		return nil, err
	}
	sec := sections(out)
	p.root = strings.TrimSpace(sec["uid"]) == "0"
	p.docker = parseDockerFacts(sec)
	return sec, nil
}

func (p *run) detect(ctx context.Context) error {
	sec, err := p.probe(ctx, hostProbe)
	if err != nil {
		return err
	}
	p.hostname = strings.TrimSpace(sec["hostname"])
	p.hosts = sec["hosts"]
	rel, err := ParseOSRelease([]byte(sec["os-release"]))
	if err != nil {
		return fmt.Errorf("read /etc/os-release: %w", err)
	}
	if p.os, err = SelectOS(rel); err != nil {
		return err
	}
	p.logf("Detected %s", rel.PrettyName)
	if p.boot2docker() {
		if err := checkBoot2DockerInstall(p.engine.InstallURL); err != nil {
			return err
		}
		// Bad engine options fail here, before anything changes.
		_, err := RenderBoot2DockerProfile(p.opts)
		return err
	}
	// "distro" is refused where the OS has no Docker of its own, even when
	// Docker is installed: `machine upgrade` would have nothing to upgrade.
	if p.engine.InstallURL == "distro" {
		return p.os.DistroDocker()
	}
	return nil
}

// boot2docker reports whether the host runs boot2docker, whose dockerd
// runs from an init script rather than systemd.
func (p *run) boot2docker() bool {
	_, ok := p.os.(boot2dockerFamily)
	return ok
}

func (p *run) setHostname(ctx context.Context) error {
	name := p.opts.MachineName
	hosts, hostsChanged := ensureHostsEntry(p.hosts, name)
	if p.hostname == name && !hostsChanged {
		return nil
	}
	p.logf("Setting the hostname to %s...", name)
	var script strings.Builder
	var stdin io.Reader
	if p.hostname != name && p.boot2docker() {
		script.WriteString(boot2dockerHostnameScript(name))
	} else if p.hostname != name {
		// hostnamectl fails where /etc/hostname is a bind mount (it
		// renames over it); then write the file in place.
		q := sshclient.ShellQuote(name)
		fmt.Fprintf(&script, "hostnamectl set-hostname %s </dev/null >/dev/null 2>&1 || { printf '%%s\\n' %s > /etc/hostname && hostname %s; }\n", q, q, q)
	}
	if hostsChanged {
		// /etc/hosts may be a bind mount too (containers), where sed -i and
		// renames fail: rewrite it in place.
		script.WriteString("cat > /etc/hosts\n")
		stdin = strings.NewReader(hosts)
	}
	return p.exec(ctx, script.String(), stdin)
}

func (p *run) installDocker(ctx context.Context) error {
	if p.docker.dockerd != "" {
		p.logf("Docker is installed (%s); reusing it", p.docker.dockerd)
		return nil
	}
	if p.boot2docker() {
		return errors.New("dockerd is not on this boot2docker host, whose Docker comes with its ISO")
	}
	var script, from string
	switch u := p.engine.InstallURL; u {
	case "none":
		return errors.New(`dockerd is not installed and the install URL is "none"`)
	case "distro":
		script = p.os.PackageInstallScript()
		from = "the OS's packages (" + p.os.PackageManager() + ")"
	default:
		if u == "" {
			u = DefaultInstallURL
		}
		script, from = installScript(u), u
	}
	p.logf("Installing Docker from %s...", from)
	if err := p.exec(ctx, script, nil); err != nil {
		var exit *sshclient.ExitError
		if errors.As(err, &exit) {
			return &installError{from: from, exit: exit}
		}
		return err
	}
	if err := p.readDocker(ctx); err != nil {
		return err
	}
	if p.docker.dockerd == "" {
		return fmt.Errorf("dockerd not found after installing Docker from %s", from)
	}
	return nil
}

// readDocker learns again what the host has of Docker (dockerProbe), after
// an install or upgrade.
func (p *run) readDocker(ctx context.Context) error {
	out, err := p.output(ctx, dockerProbe, false)
	if err != nil {
		return err
	}
	p.docker = parseDockerFacts(sections(out))
	return nil
}

// installError is a failed install of Docker from an installer that ran
// and failed: the last line of its stderr (where the package manager, or
// the family's script, says why) leads, up to ten lines before it follow as
// details.
type installError struct {
	from string
	exit *sshclient.ExitError
}

func (e *installError) Error() string {
	lines := strings.Split(strings.TrimSpace(e.exit.Stderr), "\n")
	msg := fmt.Sprintf("installing Docker from %s failed (exit status %d)", e.from, e.exit.Status)
	if last := strings.TrimSpace(lines[len(lines)-1]); last != "" {
		msg += ": " + last
	}
	details := lines[:len(lines)-1]
	if len(details) > 10 {
		details = details[len(details)-10:]
	}
	if len(details) > 0 {
		msg += "\n  " + strings.Join(details, "\n  ")
	}
	return msg
}

// Unwrap returns the installer's *sshclient.ExitError.
func (e *installError) Unwrap() error { return e.exit }

// installScript downloads the install script at url and runs it. It is
// downloaded first, so that a failed download fails the step (`curl | sh`
// would run an empty script and succeed).
func installScript(url string) string {
	return `f=$(mktemp)
trap 'rm -f "$f"' EXIT
curl -fsSL ` + sshclient.ShellQuote(url) + ` -o "$f"
sh "$f"`
}

func (p *run) writeCerts(ctx context.Context) error {
	type file struct {
		path string
		data []byte
		mode os.FileMode
	}
	ca, cert, key := RemoteCACertPath, RemoteServerCertPath, RemoteServerKeyPath
	if p.boot2docker() {
		ca, cert, key = Boot2DockerCACertPath, Boot2DockerServerCertPath, Boot2DockerServerKeyPath
	}
	var stale []file
	for _, f := range []file{
		{ca, p.opts.CACert, 0o644},
		{cert, p.opts.ServerCert, 0o644},
		{key, p.opts.ServerKey, 0o600},
	} {
		if !p.holds(f.path, f.data, f.mode) {
			stale = append(stale, f)
		}
	}
	if len(stale) == 0 {
		p.logf("The certificates on the host are up to date.")
		return nil
	}
	p.logf("Copying certificates...")
	for _, f := range stale {
		if err := p.write(ctx, f.path, f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

func (p *run) configureDocker(ctx context.Context) error {
	if p.boot2docker() {
		profile, err := RenderBoot2DockerProfile(p.opts)
		if err != nil {
			return err
		}
		p.logf("Configuring Docker...")
		if p.holds(Boot2DockerProfilePath, []byte(profile), 0o644) {
			return nil
		}
		return p.write(ctx, Boot2DockerProfilePath, []byte(profile), 0o644)
	}
	if !p.docker.units["docker.service"] {
		return fmt.Errorf("there is no docker.service systemd unit for %s (machine needs systemd and a packaged Docker)", p.docker.dockerd)
	}
	dropIn, err := renderDropIn(p.opts, p.daemon())
	if err != nil {
		return err
	}
	p.logf("Configuring Docker...")
	if p.holds(DropInPath, []byte(dropIn), 0o644) {
		return nil
	}
	return p.write(ctx, DropInPath, []byte(dropIn), 0o644)
}

// daemon is the layout of the host's dockerd, from the docker facts.
func (p *run) daemon() daemon {
	d := daemon{Path: p.docker.dockerd, SocketActivated: p.docker.units["docker.socket"]}
	if p.docker.units["containerd.service"] {
		d.Containerd = containerdSocket
	}
	return d
}

func (p *run) startDocker(ctx context.Context) error {
	// dockerd keeps running when nothing it runs on changed: a second
	// provisioning of a host changes nothing there.
	restart := p.changed || !p.current.active
	script := restartScript(p.docker.units["docker.socket"])
	if p.boot2docker() {
		script = boot2dockerRestart
	}
	if restart {
		p.logf("Starting Docker...")
	} else if p.boot2docker() {
		p.logf("Docker's configuration is unchanged; dockerd keeps running.")
		script = ":"
	} else {
		p.logf("Docker's configuration is unchanged; dockerd keeps running.")
		script = ":"
		if !p.current.enabled {
			script = "systemctl enable --quiet docker 2>/dev/null || true"
		}
	}
	// An active firewall (ufw, firewalld) gets dockerd's TLS port opened
	// first, in the same round trip; without it the port would not answer.
	port := fmt.Sprintf("%d/tcp", p.opts.EnginePort)
	rctx, cancel := context.WithTimeout(ctx, restartTimeout)
	defer cancel()
	var fws []string
	if p.os != nil {
		fws = p.os.Firewalls()
	}
	out, err := p.output(rctx, firewallScript(fws, []string{port})+"\n"+script, true)
	fw, ferr := firewallResult(out, []string{port})
	if ferr != nil {
		return ferr
	}
	if fw != "" {
		p.logf("Opened port %s in %s.", port, fw)
	}
	if err != nil {
		var ee *sshclient.ExitError
		if errors.As(err, &ee) {
			cmd := "systemctl restart docker"
			if p.boot2docker() {
				cmd = boot2dockerRestart
			}
			err = fmt.Errorf("dockerd did not start (%s: exit status %d)", cmd, ee.Status)
		}
		return p.diagnose(ctx, err)
	}
	return p.waitTLS(ctx)
}

// waitTLS waits until dockerd answers over TLS (Options.WaitTLS), for at
// most answerTimeout; a failure carries docker's journal.
func (p *run) waitTLS(ctx context.Context) error {
	p.logf("Waiting for Docker to answer on port %d...", p.opts.EnginePort)
	wctx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	if err := retry.Poll(wctx, 100*time.Millisecond, 250*time.Millisecond, p.opts.WaitTLS); err != nil {
		return p.diagnose(ctx, fmt.Errorf("docker does not answer over TLS on port %d: %w", p.opts.EnginePort, err))
	}
	return nil
}

// Bounds of the start: Debian's docker.service has TimeoutStartSec=0, so a
// dockerd that hangs would keep systemctl waiting for ever; and a dockerd that
// runs but cannot be reached (a firewall we do not know) would keep the
// create polling.
const (
	restartTimeout = 3 * time.Minute
	answerTimeout  = 2 * time.Minute
)

// restartScript restarts dockerd on its new configuration. With socket
// activation the socket unit is restarted too, while dockerd is stopped: a
// dockerd that bound the socket path itself (docker-machine's and
// rancher/machine's drop-ins do) unlinks the file when it stops, and
// systemd would otherwise hand the new dockerd a socket nobody can reach.
func restartScript(socketActivated bool) string {
	const reload = "systemctl daemon-reload && systemctl enable --quiet docker 2>/dev/null; "
	if socketActivated {
		return reload + "systemctl stop docker.service && systemctl restart docker.socket && systemctl start docker.service"
	}
	return reload + "systemctl restart docker"
}

// journalLines is how much of docker's journal a failure shows.
const journalLines = 15

// diagnose adds docker.service's state and the end of its journal to err.
// It runs even when ctx has ended (with its own short deadline).
func (p *run) diagnose(ctx context.Context, err error) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if p.boot2docker() {
		out, derr := p.output(dctx, fmt.Sprintf("tail -n %d %s 2>&1 || true", journalLines, boot2dockerLog), true)
		if derr != nil {
			return fmt.Errorf("%w (reading %s failed too: %v)", err, boot2dockerLog, derr)
		}
		return fmt.Errorf("%w; the end of %s:\n  %s", err, boot2dockerLog, strings.ReplaceAll(strings.TrimRight(out, "\n"), "\n", "\n  "))
	}
	// The log of docker.service's latest run only, without timestamps: the
	// lines that say why dockerd stopped, not the history before.
	script := fmt.Sprintf(`systemctl is-active docker || true
id=$(systemctl show -p InvocationID --value docker 2>/dev/null)
out=
[ -n "$id" ] && out=$(journalctl --no-pager -o cat -n %[1]d _SYSTEMD_INVOCATION_ID="$id" 2>/dev/null)
[ -n "$out" ] || out=$(journalctl -u docker --no-pager -o cat -n %[1]d 2>&1)
printf '%%s\n' "$out"`, journalLines)
	out, derr := p.output(dctx, script, true)
	if derr != nil {
		return fmt.Errorf("%w (reading docker's journal failed too: %v)", err, derr)
	}
	state, journal, _ := strings.Cut(out, "\n")
	journal = strings.TrimRight(journal, "\n")
	if journal == "" {
		journal = "(empty)"
	}
	return fmt.Errorf("%w; docker.service is %s; its log (journalctl -u docker):\n  %s",
		err, strings.TrimSpace(state), strings.ReplaceAll(journal, "\n", "\n  "))
}

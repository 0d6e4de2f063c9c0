package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/machine-cli/machine/libmachine/host"
	"github.com/machine-cli/machine/sshclient"
)

// ErrNotInstalledByMachine is Upgrade's error for a machine whose Docker machine did
// not install (install URL "none").
var ErrNotInstalledByMachine = errors.New(`machine did not install Docker there (install URL "none"); upgrade it with the host's own tools`)

// Version is an installed Docker: the package that holds dockerd and its
// version, or, where no package manager knows dockerd, Name "Docker" and
// what `dockerd --version` says.
type Version struct {
	Name, Version string
}

// String reads "docker.io 20.10.24+dfsg1-1" or "Docker 27.3.1".
func (v Version) String() string { return v.Name + " " + v.Version }

// Versions are the Docker before and after an upgrade; they are equal when
// nothing newer was available.
type Versions struct {
	Old, New Version
}

// Changed reports whether the upgrade changed Docker.
func (v Versions) Changed() bool { return v.Old != v.New }

// Upgrade upgrades Docker on the host c is connected to by the method that
// installed it (opts.Engine.InstallURL): the install script again, or the
// OS's packages for "distro". It then runs dockerd, restarting it when
// Docker changed or it was not running, rewrites the drop-in when the
// upgrade moved dockerd (a different path or units), and waits until it
// answers over TLS. It works on a host whose dockerd is stopped. Errors
// are *StepError with Op "upgrade"; with install URL "none" it changes
// nothing and returns ErrNotInstalledByMachine; on boot2docker it changes
// nothing and returns ErrBoot2DockerUpgrade.
func Upgrade(ctx context.Context, c Runner, opts Options) (Versions, error) {
	p := newRun(c, opts)
	u := &upgrade{run: p}
	err := p.runSteps(ctx, "upgrade", []step{
		{"check options", u.check},
		{"detect os", p.detect},
		{"check os", u.checkOS},
		{"read version", u.readOld},
		{"upgrade docker", u.upgrade},
		{"read version", u.readNew},
		{"start docker", u.start},
	})
	var se *StepError
	if errors.As(err, &se) && (errors.Is(se.Err, ErrNotInstalledByMachine) || errors.Is(se.Err, ErrBoot2DockerUpgrade)) {
		return Versions{}, se.Err
	}
	if err != nil {
		return Versions{}, err
	}
	return u.versions, nil
}

// upgrade is one Upgrade run.
type upgrade struct {
	*run
	versions Versions
	// wasActive: docker.service was active before the upgrade.
	wasActive bool
	// activeNow: docker.service is active after the upgrade.
	activeNow bool
	// before is dockerd's layout before the upgrade.
	before daemon
}

// check checks the options Upgrade uses.
func (u *upgrade) check(context.Context) error {
	if err := u.checkOptions(host.ValidateName, false); err != nil {
		return err
	}
	if u.engine.InstallURL == "none" {
		return ErrNotInstalledByMachine
	}
	return checkInstallURL(u.engine.InstallURL)
}

// checkOS refuses boot2docker, whose Docker comes with its ISO.
func (u *upgrade) checkOS(context.Context) error {
	if u.boot2docker() {
		return ErrBoot2DockerUpgrade
	}
	return nil
}

// versionProbe prints the installed Docker as "NAME VERSION": the package
// that owns dockerd (dpkg, rpm, pacman), else "Docker" and dockerd's
// own version; an empty line when there is no dockerd. Then a line
// "@@machine:active" and docker.service's state.
const versionProbe = `d=$(command -v dockerd 2>/dev/null || true)
v=
if [ -n "$d" ]; then
  if command -v dpkg-query >/dev/null 2>&1; then
    pkg=$(dpkg-query -S "$d" 2>/dev/null | head -n1 | cut -d: -f1 || true)
    [ -n "$pkg" ] || pkg=$(dpkg-query -S "$(readlink -f "$d")" 2>/dev/null | head -n1 | cut -d: -f1 || true)
    if [ -n "$pkg" ]; then v="$pkg $(dpkg-query -W -f '${Version}' "$pkg" 2>/dev/null || true)"; fi
  fi
  if [ -z "$v" ] && command -v rpm >/dev/null 2>&1; then
    v=$(rpm -qf --qf '%{NAME} %{VERSION}-%{RELEASE}\n' "$d" 2>/dev/null | head -n1 || true)
    case $v in *" "*) ;; *) v= ;; esac
  fi
  if [ -z "$v" ] && command -v pacman >/dev/null 2>&1; then
    pkg=$(pacman -Qqo "$d" 2>/dev/null | head -n1 || true)
    if [ -n "$pkg" ]; then v=$(pacman -Q "$pkg" 2>/dev/null || true); fi
  fi
  if [ -z "$v" ]; then
    v="Docker $("$d" --version 2>/dev/null | sed -n 's/^Docker version \([^,]*\).*/\1/p')"
  fi
fi
echo "$v"
echo "@@machine:active"
systemctl is-active docker.service 2>/dev/null || true
`

// readVersion runs versionProbe; a host without dockerd is an error.
func (u *upgrade) readVersion(ctx context.Context) (Version, bool, error) {
	out, err := u.output(ctx, versionProbe, false)
	if err != nil {
		return Version{}, false, err
	}
	line, rest, _ := strings.Cut(out, "\n")
	_, state, _ := strings.Cut(rest, "@@machine:active\n")
	name, version, _ := strings.Cut(strings.TrimSpace(line), " ")
	version = strings.TrimSpace(version)
	if name == "" {
		return Version{}, false, fmt.Errorf("dockerd is not installed; `machine provision %s` installs it", u.opts.MachineName)
	}
	if version == "" {
		version = "(unknown version)"
	}
	return Version{Name: name, Version: version}, strings.TrimSpace(state) == "active", nil
}

func (u *upgrade) readOld(ctx context.Context) error {
	v, active, err := u.readVersion(ctx)
	if err != nil {
		return err
	}
	u.versions.Old, u.wasActive = v, active
	u.before = u.daemon()
	return nil
}

func (u *upgrade) readNew(ctx context.Context) error {
	if err := u.readDocker(ctx); err != nil {
		return err
	}
	v, active, err := u.readVersion(ctx)
	if err != nil {
		return fmt.Errorf("after the upgrade: %w", err)
	}
	u.versions.New, u.activeNow = v, active
	return nil
}

// outputTail is how many lines of a failed upgrade's output its error
// shows, joined on one line.
const outputTail = 3

func (u *upgrade) upgrade(ctx context.Context) error {
	var script, from string
	switch url := u.engine.InstallURL; url {
	case "distro":
		script, from = u.os.PackageUpgradeScript(), "the "+u.os.Family()+" packages"
	default:
		if url == "" {
			url = DefaultInstallURL
		}
		script, from = installScript(url), url
	}
	u.logf("Upgrading %s from %s...", u.versions.Old, from)
	var out sshclient.TailBuffer
	rctx, cancel := context.WithTimeout(ctx, upgradeTimeout)
	defer cancel()
	status, err := u.r.Run(rctx, u.command(script, true), nil, &out, &out)
	if err == nil && status == 0 {
		return nil
	}
	if err == nil {
		err = fmt.Errorf("upgrading from %s failed (exit status %d): %s", from, status, tailLine(out.String(), outputTail))
	}
	// The package manager may have stopped dockerd on its way: a dockerd
	// that ran before runs after, on what is installed now.
	if u.wasActive {
		if _, serr := u.output(context.WithoutCancel(ctx), "systemctl start docker.service", true); serr != nil {
			err = fmt.Errorf("%w (and dockerd did not start again: %v)", err, serr)
		}
	}
	return err
}

// upgradeTimeout bounds the package manager or install script.
const upgradeTimeout = 15 * time.Minute

// tailLine is the last n non-empty lines of out on one line.
func tailLine(out string, n int) string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 0 {
		return "(no output)"
	}
	return strings.Join(lines, " | ")
}

// start runs dockerd on what is installed now: a Docker that changed, or a
// dockerd that was not running, is (re)started; a dockerd that moved gets
// its drop-in rewritten first.
func (u *upgrade) start(ctx context.Context) error {
	after := u.daemon()
	moved := after != u.before
	if moved {
		if !u.docker.units["docker.service"] {
			return fmt.Errorf("there is no docker.service systemd unit for %s after the upgrade", after.Path)
		}
		dropIn, err := renderDropIn(u.opts, after)
		if err != nil {
			return err
		}
		u.logf("The upgrade moved dockerd to %s; rewriting its drop-in...", after.Path)
		if err := u.r.WriteFile(ctx, DropInPath, []byte(dropIn), 0o644); err != nil {
			return err
		}
	}
	if !u.versions.Changed() && !moved && u.activeNow {
		return u.waitTLS(ctx)
	}
	u.logf("Restarting Docker...")
	rctx, cancel := context.WithTimeout(ctx, restartTimeout)
	defer cancel()
	if _, err := u.output(rctx, restartScript(after.SocketActivated), true); err != nil {
		var ee *sshclient.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("dockerd did not start (systemctl restart docker: exit status %d)", ee.Status)
		}
		return u.diagnose(ctx, err)
	}
	return u.waitTLS(ctx)
}

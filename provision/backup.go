package provision

import (
	"context"
	"fmt"
	"strings"

	"github.com/machine-cli/machine/libmachine/host"
	"github.com/machine-cli/machine/sshclient"
)

// BackupRoot is the directory on the host that holds, per machine name,
// what provisioning is about to replace (BackupRoot/NAME), until the create
// succeeds or is rolled back.
const BackupRoot = "/var/lib/machine/backup"

// BackedUpPaths are the files and directories provisioning may change on a
// host: the docker.service drop-ins, /etc/docker (certificates,
// daemon.json), the host's name, and the rules files of ufw and firewalld
// where the engine and swarm ports are opened. Each is recorded as it is
// (content, mode, owner, times) or as absent.
var BackedUpPaths = []string{
	"/etc/systemd/system/docker.service.d",
	"/etc/docker",
	"/etc/hostname",
	"/etc/hosts",
	"/etc/ufw/user.rules",
	"/etc/ufw/user6.rules",
	"/etc/firewalld/zones",
	Boot2DockerProfilePath,
	Boot2DockerCACertPath,
	Boot2DockerServerCertPath,
	Boot2DockerServerKeyPath,
	boot2dockerHostnamePath,
}

// backedUpUnits are the units whose enabled and active states are recorded.
var backedUpUnits = []string{"docker.socket", "docker.service"}

// backupScript records BackedUpPaths, the units' states and the running
// host name under $R$BackupRoot/$NAME, replacing an older backup of that
// name only once the new one is whole. R is a root prefix for tests ("" on
// a host).
var backupScript = `umask 077
B="$R` + BackupRoot + `/$NAME"
rm -rf "$B.new"
mkdir -p "$B.new/files"
for p in ` + strings.Join(BackedUpPaths, " ") + `; do
  if [ -e "$R$p" ] || [ -L "$R$p" ]; then
    mkdir -p "$B.new/files$(dirname "$p")"
    cp -a "$R$p" "$B.new/files$p"
    echo "present $p" >> "$B.new/manifest"
  else
    echo "absent $p" >> "$B.new/manifest"
  fi
done
for u in ` + strings.Join(backedUpUnits, " ") + `; do
  e=$(systemctl is-enabled "$u" 2>/dev/null) || true
  a=$(systemctl is-active "$u" 2>/dev/null) || true
  echo "unit $u ${e:-none} ${a:-none}" >> "$B.new/manifest"
done
echo "hostname $(hostname)" >> "$B.new/manifest"
rm -rf "$B"
mv "$B.new" "$B"`

// restoreScript puts back what backupScript recorded under $R$BackupRoot/$NAME
// and removes the backup. Files are copied back in place (cp -a writes into
// an existing file), so bind-mounted files such as a container's /etc/hosts
// are restored too; what did not exist is removed, and so are files added
// to a recorded directory. When the docker files or the units' states
// changed, docker.service and docker.socket are put back in their recorded
// enabled and active states, dockerd restarting on the restored
// configuration (on boot2docker, dockerd restarts through its init script). It prints "none" when there is no backup, else the list of
// what it changed ("docker", "firewall", "hostname").
var restoreScript = `B="$R` + BackupRoot + `/$NAME"
if [ ! -f "$B/manifest" ]; then echo none; exit 0; fi
docker=
firewall=
differs() { # recorded path, saved copy: do they differ?
  if [ -d "$1" ] && [ ! -L "$1" ] && [ -d "$2" ]; then ! diff -r -q --no-dereference "$2" "$1" >/dev/null 2>&1
  else ! cmp -s "$2" "$1"; fi
}
changed() {
  case $1 in
  /etc/systemd/*|/etc/docker*|/var/lib/boot2docker/*) docker=1 ;;
  /etc/ufw/*|/etc/firewalld/*) firewall=1 ;;
  esac
}
while read -r kind p rest; do
  case $kind in
  present)
    s="$B/files$p"
    if differs "$R$p" "$s"; then changed "$p"; fi
    if [ -d "$s" ] && [ ! -L "$s" ]; then
      if [ ! -d "$R$p" ] || [ -L "$R$p" ]; then rm -rf "$R$p"; fi
      mkdir -p "$R$p"
      # Remove what was added, deepest first, then copy the rest back.
      (cd "$R$p" && find . -depth -mindepth 1 -print) | while IFS= read -r f; do
        if [ ! -e "$s/$f" ] && [ ! -L "$s/$f" ]; then rm -rf "$R$p/$f"; fi
      done
      cp -a "$s/." "$R$p/"
    else
      if [ -d "$R$p" ] && [ ! -L "$R$p" ]; then rm -rf "$R$p"; fi
      cp -a "$s" "$R$p"
    fi
    ;;
  absent)
    if [ -e "$R$p" ] || [ -L "$R$p" ]; then changed "$p"; rm -rf "$R$p"; fi
    ;;
  hostname)
    if [ -n "$p" ] && [ "$(hostname)" != "$p" ]; then hostname "$p"; echo hostname; fi
    ;;
  unit)
    set -- $rest
    e=$(systemctl is-enabled "$p" 2>/dev/null) || true
    a=$(systemctl is-active "$p" 2>/dev/null) || true
    if [ "${e:-none}" != "$1" ] || [ "${a:-none}" != "$2" ]; then docker=1; fi
    ;;
  esac
done < "$B/manifest"
if [ -n "$docker" ] && grep -q '^ID=boot2docker' "$R/etc/os-release" 2>/dev/null; then
  echo docker
  ` + boot2dockerRestart + `
elif [ -n "$docker" ] && command -v systemctl >/dev/null 2>&1; then
  echo docker
  systemctl daemon-reload
  systemctl stop docker.service 2>/dev/null || true
  systemctl reset-failed docker.service docker.socket 2>/dev/null || true
  while read -r kind u e a; do
    [ "$kind" = unit ] || continue
    case $e in
    enabled) systemctl enable --quiet "$u" 2>/dev/null || true ;;
    disabled) systemctl disable --quiet "$u" 2>/dev/null || true ;;
    esac
  done < "$B/manifest"
  # The socket first: docker.service requires it.
  for u in ` + strings.Join(backedUpUnits, " ") + `; do
    a=$(sed -n "s/^unit $u [^ ]* //p" "$B/manifest")
    case $a in
    active) systemctl restart "$u" ;;
    none) ;;
    *) systemctl stop "$u" 2>/dev/null || true ;;
    esac
  done
fi
if [ -n "$firewall" ]; then
  echo firewall
  if command -v ufw >/dev/null 2>&1 && ufw status 2>/dev/null | grep -q '^Status: active'; then ufw reload >/dev/null; fi
  if command -v firewall-cmd >/dev/null 2>&1 && firewall-cmd --state >/dev/null 2>&1; then firewall-cmd --quiet --reload; fi
fi
rm -rf "$B"`

// discardScript removes the backup of a create that succeeded.
var discardScript = `rm -rf "$R` + BackupRoot + `/$NAME"`

// withName prefixes script with the shell variables it reads.
func withName(script, name string) (string, error) {
	if err := host.ValidateName(name); err != nil {
		return "", err
	}
	return "R=\nNAME=" + sshclient.ShellQuote(name) + "\n" + script, nil
}

// Restored says what Restore changed on the host.
type Restored struct {
	// Found is false when the host held no backup for the machine.
	Found bool
	// Docker: docker's files or units were put back and dockerd restarted.
	Docker bool
	// Firewall: a firewall's rules were put back and reloaded.
	Firewall bool
	// Hostname: the running host name was set back.
	Hostname bool
}

// Restore puts back on the host what Provision recorded before changing it
// for machine name (see BackedUpPaths), restarting dockerd on the restored
// configuration when it changed, and removes the record. A host without a
// record for name is left alone (Found is false).
func Restore(ctx context.Context, c Runner, name string) (Restored, error) {
	script, err := withName(restoreScript, name)
	if err != nil {
		return Restored{}, err
	}
	out, err := runAsRoot(ctx, c, script)
	if err != nil {
		return Restored{}, fmt.Errorf("restore the host's configuration from %s/%s: %w", BackupRoot, name, err)
	}
	var r Restored
	r.Found = true
	for _, w := range strings.Fields(string(out)) {
		switch w {
		case "none":
			r.Found = false
		case "docker":
			r.Docker = true
		case "firewall":
			r.Firewall = true
		case "hostname":
			r.Hostname = true
		}
	}
	return r, nil
}

// DiscardBackup removes the record Provision made for machine name, once
// the machine is created and nothing will be rolled back.
func DiscardBackup(ctx context.Context, c Runner, name string) error {
	script, err := withName(discardScript, name)
	if err != nil {
		return err
	}
	if _, err := runAsRoot(ctx, c, script); err != nil {
		return fmt.Errorf("remove the backup %s/%s: %w", BackupRoot, name, err)
	}
	return nil
}

// backup records what provisioning is about to change (the "back up" step)
// and, in the same round trip, learns what the host holds of machine's
// files and dockerd's state (stateProbe).
func (p *run) backup(ctx context.Context) error {
	script, err := withName(backupScript, p.opts.MachineName)
	if err != nil {
		return err
	}
	out, err := p.output(ctx, script+"\n"+stateProbe, true)
	if err != nil {
		return err
	}
	p.current = parseCurrentState(sections(out))
	return nil
}

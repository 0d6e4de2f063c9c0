package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/machine-cli/machine/libmachine/sshclient"
)

// undoScript removes machine's files and puts docker.service back on its
// packaged configuration.
var undoScript = `rm -f ` + strings.Join([]string{DropInPath, RemoteCACertPath, RemoteServerCertPath, RemoteServerKeyPath}, " ") + `
rmdir /etc/systemd/system/docker.service.d 2>/dev/null || true
# Not "systemctl cat": it fails while systemd still knows the removed drop-in.
if command -v systemctl >/dev/null 2>&1 && systemctl list-unit-files docker.service 2>/dev/null | grep -q '^docker.service'; then
  systemctl daemon-reload
  systemctl reset-failed docker.service 2>/dev/null || true
  if systemctl is-enabled --quiet docker.service; then systemctl restart docker.service; else systemctl try-restart docker.service; fi
fi`

// Undo reverts what Provision configured on the host, for a create that
// failed on a host that stays (the generic driver): it removes the systemd
// drop-in and the certificates and restarts docker.service (when enabled or
// running) on its packaged configuration. It does not uninstall Docker or
// rename the host back. Running it on a host never provisioned is harmless.
func Undo(ctx context.Context, c Runner) error {
	if _, err := runAsRoot(ctx, c, undoScript); err != nil {
		return fmt.Errorf("undo provisioning: %w", err)
	}
	return nil
}

// runAsRoot runs script with sh as root, through sudo -n when the login
// user is not root, and returns its output. An ExitError names script, not
// the wrapper.
func runAsRoot(ctx context.Context, c Runner, script string) ([]byte, error) {
	q := sshclient.ShellQuote("set -e\n" + pathSetup + "\n" + script)
	out, err := c.Output(ctx, fmt.Sprintf(`if [ "$(id -u)" = 0 ]; then sh -c %s; else sudo -n sh -c %s; fi`, q, q))
	var exit *sshclient.ExitError
	if errors.As(err, &exit) {
		exit.Cmd = script
	}
	return out, err
}

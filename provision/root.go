package provision

import (
	"context"
	"errors"

	"github.com/machine-cli/machine/sshclient"
)

// runAsRoot runs script with sh as root, through sudo -n when the login
// user is not root, and returns its output. An ExitError names script, not
// the wrapper.
func runAsRoot(ctx context.Context, c Runner, script string) ([]byte, error) {
	out, err := c.Output(ctx, sshclient.AsRoot("set -e\n"+pathSetup+"\n"+script))
	var exit *sshclient.ExitError
	if errors.As(err, &exit) {
		exit.Cmd = script
	}
	return out, err
}

package provision

import (
	"context"
	"errors"
	"fmt"

	"github.com/machine-cli/machine/libmachine/sshclient"
)

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

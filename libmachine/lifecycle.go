package libmachine

import (
	"context"
	"fmt"
	"time"

	"github.com/machine-cli/machine/internal/retry"
)

// PowerOp is a driver power operation on a machine.
type PowerOp string

// The power operations of `machine start|stop|restart|kill`.
const (
	PowerStart   PowerOp = "start"
	PowerStop    PowerOp = "stop"
	PowerRestart PowerOp = "restart"
	PowerKill    PowerOp = "kill"
)

// engineUpTimeout bounds the wait for dockerd after a start or restart.
const engineUpTimeout = 3 * time.Minute

// Power runs op on machine name through its driver, under the machine's
// lock. After a start or restart it records the machine's endpoint again
// (an address may have changed) and waits until dockerd answers over TLS.
// A driver that cannot do op returns an error wrapping
// drivers.ErrNotSupported.
func (c *Client) Power(ctx context.Context, name string, op PowerOp) error {
	m, unlock, err := c.loadLocked(ctx, name)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, name, err)
	}
	defer unlock()
	var do func(context.Context) error
	switch op {
	case PowerStart:
		do = m.Driver.Start
	case PowerStop:
		do = m.Driver.Stop
	case PowerRestart:
		do = m.Driver.Restart
	case PowerKill:
		do = m.Driver.Kill
	default:
		return fmt.Errorf("unknown power operation %q", op)
	}
	if err := do(ctx); err != nil {
		return fmt.Errorf("%s %s: %w", op, name, err)
	}
	// The driver's config may have changed (state, addresses).
	if op != PowerStart && op != PowerRestart {
		return c.Save(m)
	}
	ep, err := c.recordEndpoint(ctx, m)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, name, err)
	}
	if err := c.Save(m); err != nil {
		return err
	}
	tc, err := c.clientTLS(name)
	if err != nil {
		return err
	}
	c.logf("Waiting for Docker on %s to answer...", name)
	wctx, cancel := context.WithTimeout(ctx, engineUpTimeout)
	defer cancel()
	ping := func(ctx context.Context) error {
		// One attempt may not hang on a host that accepts but never answers.
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return pingEngine(actx, ep.URL, tc)
	}
	if err := retry.Poll(wctx, 100*time.Millisecond, 250*time.Millisecond, ping); err != nil {
		return fmt.Errorf("%s %s: docker does not answer at %s: %w", op, name, ep.URL, err)
	}
	return nil
}

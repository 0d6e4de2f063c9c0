package libmachine

import (
	"context"
	"fmt"
	"time"

	"github.com/machine-cli/machine/certs"
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
	unlock, err := c.Store.Lock(name)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, name, err)
	}
	defer unlock()
	m, err := c.Load(ctx, name)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, name, err)
	}
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
	p := c.CertPaths(name)
	tc, err := certs.ClientTLSConfig(p.CACert, p.ClientCert, p.ClientKey)
	if err != nil {
		return err
	}
	c.logf("Waiting for Docker on %s to answer...", name)
	wctx, cancel := context.WithTimeout(ctx, engineUpTimeout)
	defer cancel()
	if err := pollEngine(wctx, func(ctx context.Context) error { return pingEngine(ctx, ep.URL, tc) }); err != nil {
		return fmt.Errorf("%s %s: docker does not answer at %s: %w", op, name, ep.URL, err)
	}
	return nil
}

// pollEngine calls ping every 250ms until it succeeds or ctx ends.
func pollEngine(ctx context.Context, ping func(context.Context) error) error {
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := ping(pctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; last attempt: %w", context.Cause(ctx), err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

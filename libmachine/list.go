package libmachine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"

	"github.com/machine-cli/machine/drivers"
)

// Status is a machine as `ls` shows it, computed live.
type Status struct {
	Name       string
	DriverName string
	State      drivers.State
	URL        string
	// Swarm is the machine's swarm membership, "CLUSTER: ROLE", or "".
	Swarm         string
	DockerVersion string
	// Error is what went wrong while looking at the machine, if anything.
	Error string
	// Labels are the engine labels the machine was created with.
	Labels []string
	// Cluster names the machine's swarm (its first machine), or "".
	Cluster string
	// Manager is whether the machine's engine says it manages its swarm.
	Manager bool
	// ResponseTime is how long the machine took to answer, at most the
	// timeout.
	ResponseTime time.Duration
}

// listGrace is how long past its timeout List (and Active) waits for a
// machine whose look overran the timeout (a config file on a hung file
// system, say) to report, before it takes the machine as timed out.
const listGrace = 500 * time.Millisecond

// List returns the status of the machines in the store that f selects, in
// the store's order (by name). It looks at them all at once, each within
// timeout, so that the whole listing takes about timeout however many
// machines are slow. A broken machine (corrupt config, missing driver,
// unreachable engine) is listed with its error; one that did not answer
// within timeout, in state Timeout with the reason.
func (c *Client) List(ctx context.Context, timeout time.Duration, f Filter) ([]Status, error) {
	return c.look(ctx, timeout, f, true)
}

// Names returns the names of the machines in the store that f selects. It
// asks no driver or engine unless f filters on state.
func (c *Client) Names(ctx context.Context, timeout time.Duration, f Filter) ([]string, error) {
	st, err := c.look(ctx, timeout, f, f.NeedsState())
	if err != nil {
		return nil, err
	}
	names := make([]string, len(st))
	for i, s := range st {
		names[i] = s.Name
	}
	return names, nil
}

// look reads every machine's config at once and, for those that f's
// filters other than state keep, when live, asks the machine for its
// status; each machine within timeout. The state filter applies last.
func (c *Client) look(ctx context.Context, timeout time.Duration, f Filter, live bool) ([]Status, error) {
	names, err := c.Store.List()
	if err != nil {
		return nil, err
	}
	type result struct {
		s    Status
		keep bool
	}
	got := eachWithin(ctx, names, timeout, func(mctx context.Context, name string) result {
		start := time.Now()
		s := c.stored(name)
		if !f.keepStatic(s) || !live {
			return result{s, f.keepStatic(s)}
		}
		s = c.status(mctx, name)
		took := time.Since(start)
		s.ResponseTime = min(took, timeout)
		// A machine that did not answer within the timeout (a frozen
		// host still accepts TCP connections, so the driver may have
		// said Running) is in state Timeout, as in docker-machine. (A
		// plugin's start gives up on its own timer, which may fire a
		// moment before the context's.)
		if s.Error != "" && ctx.Err() == nil && (errors.Is(mctx.Err(), context.DeadlineExceeded) || took >= timeout) {
			s.State = drivers.Timeout
		}
		return result{s, true}
	}, func(name string) result {
		s := Status{Name: name, State: drivers.Timeout, ResponseTime: timeout,
			Error: fmt.Sprintf("no answer within %s", timeout)}
		return result{s, f.keepStatic(s)}
	})
	out := []Status{}
	for _, r := range got {
		if r.keep && (!live || f.keepState(r.s)) {
			out = append(out, r.s)
		}
	}
	return out, nil
}

// eachWithin runs look for every name at once, each with a context that
// ends after timeout, and returns the answers in names' order. The looks
// respect their deadline; a look that has still not answered listGrace
// later is answered by late(name), so eachWithin never takes much longer
// than timeout.
func eachWithin[T any](ctx context.Context, names []string, timeout time.Duration, look func(ctx context.Context, name string) T, late func(name string) T) []T {
	type answer struct {
		i int
		v T
	}
	// Buffered: a look that answers after eachWithin returned does not
	// block.
	answers := make(chan answer, len(names))
	for i, name := range names {
		go func() {
			mctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			answers <- answer{i, look(mctx, name)}
		}()
	}
	deadline := time.NewTimer(timeout + listGrace)
	defer deadline.Stop()
	out := make([]T, len(names))
	done := make([]bool, len(names))
collect:
	for range names {
		select {
		case a := <-answers:
			out[a.i], done[a.i] = a.v, true
		case <-deadline.C:
			break collect
		}
	}
	for i, name := range names {
		if !done[i] {
			out[i] = late(name)
		}
	}
	return out
}

// stored returns what the store itself says of machine name: its name,
// driver, labels and swarm. A machine whose config cannot be read has its
// name only.
func (c *Client) stored(name string) Status {
	s := Status{Name: name}
	if h, err := c.Store.Load(name); err == nil {
		s.DriverName = h.DriverName
		s.Labels = h.HostOptions.EngineOptions.Labels
		if h.HostOptions.SwarmOptions.Mode != nil {
			s.Cluster = clusterOf(&Machine{Host: h})
		}
	}
	return s
}

// Status computes one machine's status.
func (c *Client) status(ctx context.Context, name string) Status {
	s := Status{Name: name, State: drivers.Error}
	m, err := c.Load(ctx, name)
	if err != nil {
		s.Error = oneLine(err.Error())
		if h, herr := c.Store.Load(name); herr == nil {
			s.DriverName = h.DriverName
		}
		return s
	}
	s.DriverName = m.DriverName
	s.Labels = m.HostOptions.EngineOptions.Labels
	if m.HostOptions.SwarmOptions.Mode != nil {
		s.Cluster = clusterOf(m)
	}
	st, err := m.Driver.GetState(ctx)
	s.State = st
	if err != nil {
		s.Error = oneLine(err.Error())
		if st == drivers.None {
			s.State = drivers.Error
		}
		return s
	}
	if st != drivers.Running {
		return s
	}
	if s.URL, err = m.Driver.GetURL(ctx); err != nil {
		s.Error = oneLine(err.Error())
		return s
	}
	api, err := c.Engine(ctx, m)
	if err == nil {
		defer api.Close()
		var info system.Info
		if info, err = api.Info(ctx); err == nil {
			s.DockerVersion = "v" + info.ServerVersion
			s.Swarm = swarmColumn(ctx, m, api, info.Swarm)
			s.Manager = info.Swarm.LocalNodeState == swarm.LocalNodeStateActive && info.Swarm.ControlAvailable
			return s
		}
	}
	s.DockerVersion = "Unknown"
	s.Error = oneLine(c.certError(m.Host, err).Error())
	return s
}

// oneLine puts a message on one line, so that it fits one row.
func oneLine(msg string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(strings.TrimSpace(msg))
}

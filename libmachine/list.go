package libmachine

import (
	"context"
	"errors"
	"sync"
	"time"

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
}

// List returns the status of every machine in the store, looking at them in
// parallel, each within timeout. A broken machine is listed with its error;
// one that did not answer within timeout, in state Timeout with the error.
func (c *Client) List(ctx context.Context, timeout time.Duration) ([]Status, error) {
	names, err := c.Store.List()
	if err != nil {
		return nil, err
	}
	out := make([]Status, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			out[i] = c.status(mctx, name)
			// A machine that did not answer within the timeout (a frozen
			// host still accepts TCP connections, so the driver may have
			// said Running) is in state Timeout, as in docker-machine.
			if out[i].Error != "" && errors.Is(mctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
				out[i].State = drivers.Timeout
			}
		}()
	}
	wg.Wait()
	return out, nil
}

// Status computes one machine's status.
func (c *Client) status(ctx context.Context, name string) Status {
	s := Status{Name: name, State: drivers.Error}
	m, err := c.Load(ctx, name)
	if err != nil {
		s.Error = err.Error()
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
		s.Error = err.Error()
		if st == drivers.None {
			s.State = drivers.Error
		}
		return s
	}
	if st != drivers.Running {
		return s
	}
	if s.URL, err = m.Driver.GetURL(ctx); err != nil {
		s.Error = err.Error()
		return s
	}
	api, err := c.Engine(ctx, m)
	if err == nil {
		defer api.Close()
		var info system.Info
		if info, err = api.Info(ctx); err == nil {
			s.DockerVersion = "v" + info.ServerVersion
			s.Swarm = swarmColumn(ctx, m, api, info.Swarm)
			return s
		}
	}
	s.DockerVersion = "Unknown"
	s.Error = c.certError(m.Host, err).Error()
	return s
}

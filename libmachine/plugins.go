package libmachine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"sync"
	"syscall"

	"github.com/hashicorp/go-hclog"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/drivers/legacy"
	"github.com/machine-cli/machine/drivers/plugin"
)

// Plugins starts driver plugin processes on demand: one per driver name for
// the life of a command, shared by every machine the command touches. It is
// safe for concurrent use: a driver that is slow to start (or never starts)
// holds up only the callers that asked for that driver, each for no longer
// than its own context allows.
type Plugins struct {
	// Self is the path of the machine binary, which serves the built-in
	// drivers when run as `Self __driver NAME`.
	Self string
	// Builtins are the driver names Self serves.
	Builtins []string
	// Logger receives plugin logs.
	Logger hclog.Logger
	// Notices receives what drivers show the user (plugin.Notify).
	Notices io.Writer

	mu      sync.Mutex
	clients map[string]*pluginStart
	// legacy are the docker-machine plugins started so far, one per
	// machine; closed says Close ran.
	legacy []*legacy.Driver
	closed bool
}

// pluginStart is one start of a driver's plugin, shared by the callers that
// wait for it: done closes when c or err is set.
type pluginStart struct {
	done chan struct{}
	c    *plugin.Client
	err  error
}

// Driver returns a driver for one machine, backed by the plugin for
// driverName, starting from the machine's stored driver config.
//
// A driver is, in this order: a built-in, machine-driver-NAME on PATH (our
// protocol), or docker-machine-driver-NAME on PATH (docker-machine's
// protocol, see drivers/legacy; one process per machine).
func (p *Plugins) Driver(ctx context.Context, driverName string, config json.RawMessage) (drivers.Driver, error) {
	if !slices.Contains(p.Builtins, driverName) {
		if _, err := plugin.FindExternal(driverName); errors.Is(err, drivers.ErrNotFound) {
			path, lerr := legacy.Find(driverName)
			if errors.Is(lerr, drivers.ErrNotFound) {
				return nil, driverNotFoundError(driverName)
			}
			if lerr != nil {
				return nil, fmt.Errorf("driver %q: %w", driverName, lerr)
			}
			return p.startLegacy(ctx, driverName, path, config)
		}
	}
	c, err := p.client(ctx, driverName)
	if err != nil {
		return nil, err
	}
	return c.Driver(config), nil
}

// client returns the running plugin for driver name, starting it when no
// caller has yet. Callers that arrive while it starts wait for that start
// (or for their ctx). A failed start is forgotten, so a later call tries
// again; a start that failed only because its caller's ctx ended is tried
// again at once by the waiters whose ctx has not.
func (p *Plugins) client(ctx context.Context, name string) (*plugin.Client, error) {
	for {
		p.mu.Lock()
		st, running := p.clients[name]
		if !running {
			st = &pluginStart{done: make(chan struct{})}
			if p.clients == nil {
				p.clients = map[string]*pluginStart{}
			}
			p.clients[name] = st
		}
		p.mu.Unlock()
		if !running {
			p.start(ctx, name, st)
		}
		select {
		case <-st.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("start driver %q: %w", name, ctx.Err())
		}
		if st.err == nil {
			return st.c, nil
		}
		if running && ctx.Err() == nil && (errors.Is(st.err, context.Canceled) || errors.Is(st.err, context.DeadlineExceeded)) {
			continue
		}
		return nil, st.err
	}
}

// start launches driver name's plugin for st and records the outcome.
func (p *Plugins) start(ctx context.Context, name string, st *pluginStart) {
	c, err := p.launch(ctx, name)
	p.mu.Lock()
	defer p.mu.Unlock()
	defer close(st.done)
	if p.clients[name] != st {
		// Close ran while the plugin started.
		if c != nil {
			c.Close()
		}
		st.err = fmt.Errorf("start driver %q: the command is ending", name)
		return
	}
	if err != nil {
		delete(p.clients, name)
		st.err = err
		return
	}
	st.c = c
}

func (p *Plugins) launch(ctx context.Context, name string) (*plugin.Client, error) {
	var cmd *exec.Cmd
	if slices.Contains(p.Builtins, name) {
		cmd = exec.Command(p.Self, DriverCommand, name)
	} else {
		path, err := plugin.FindExternal(name)
		if err != nil {
			return nil, fmt.Errorf("driver %q: %w", name, err)
		}
		cmd = exec.Command(path)
	}
	// Its own process group: signals sent to the command's group (a
	// terminal's hang-up, a service manager's SIGTERM) must not end the
	// driver, which a create's rollback still needs; Close ends it. (go-plugin
	// servers already ignore SIGINT.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logger := p.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	c, err := plugin.Launch(ctx, cmd, plugin.LaunchOptions{Logger: logger, Notices: p.Notices})
	if err != nil {
		return nil, fmt.Errorf("start driver %q: %w", name, err)
	}
	return c, nil
}

// driverNotFoundError says that neither executable of driver name is on
// PATH; it wraps drivers.ErrNotFound.
type driverNotFoundError string

func (e driverNotFoundError) Error() string {
	return fmt.Sprintf("driver %q: no executable %q or %q found on PATH",
		string(e), plugin.ExternalPrefix+string(e), legacy.ExecutablePrefix+string(e))
}

func (e driverNotFoundError) Unwrap() error { return drivers.ErrNotFound }

// startLegacy starts a docker-machine plugin for one machine.
func (p *Plugins) startLegacy(ctx context.Context, name, path string, config json.RawMessage) (drivers.Driver, error) {
	opts := legacy.Options{Name: name, Logger: p.Logger}
	if p.Self != "" {
		opts.Guard = []string{p.Self, legacy.GuardCommand}
	}
	d, err := legacy.Start(ctx, path, config, opts)
	if err != nil {
		return nil, fmt.Errorf("start driver %q: %w", name, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		d.Close()
		return nil, fmt.Errorf("start driver %q: the command is ending", name)
	}
	p.legacy = append(p.legacy, d)
	return d, nil
}

// Close ends every plugin process started so far; one still starting is
// ended when its start completes.
func (p *Plugins) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, st := range p.clients {
		if st.c != nil {
			st.c.Close()
		}
	}
	p.clients = nil
	// docker-machine plugins are asked to end and given a moment each:
	// all at once.
	var wg sync.WaitGroup
	for _, d := range p.legacy {
		wg.Go(d.Close)
	}
	wg.Wait()
	p.legacy = nil
	p.closed = true
}

// DriverCommand is the hidden argument with which the machine binary serves
// a built-in driver as a plugin.
const DriverCommand = "__driver"

package libmachine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"sync"
	"syscall"

	"github.com/hashicorp/go-hclog"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/drivers/plugin"
)

// Plugins starts driver plugin processes on demand: one per driver name for
// the life of a command, shared by every machine the command touches.
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
	clients map[string]*plugin.Client
}

// Driver returns a driver for one machine, backed by the plugin for
// driverName, starting from the machine's stored driver config.
func (p *Plugins) Driver(ctx context.Context, driverName string, config json.RawMessage) (drivers.Driver, error) {
	c, err := p.client(ctx, driverName)
	if err != nil {
		return nil, err
	}
	return c.Driver(config), nil
}

func (p *Plugins) client(ctx context.Context, name string) (*plugin.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[name]; ok {
		return c, nil
	}
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
	if p.clients == nil {
		p.clients = map[string]*plugin.Client{}
	}
	p.clients[name] = c
	return c, nil
}

// Close ends every plugin process started so far.
func (p *Plugins) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.clients {
		c.Close()
	}
	p.clients = nil
}

// DriverCommand is the hidden argument with which the machine binary serves
// a built-in driver as a plugin.
const DriverCommand = "__driver"

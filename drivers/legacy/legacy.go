// Package legacy runs docker-machine's driver plugins, unchanged, as our
// drivers: the executable docker-machine-driver-NAME, started with
// MACHINE_PLUGIN_TOKEN=42, prints the loopback address of its net/rpc
// server on stdout, and serves the RPCServerDriver methods over HTTP, with
// gob-encoded arguments. Driver bridges that protocol to drivers.Driver.
//
// A docker-machine plugin keeps one machine's driver in memory, so each
// Driver owns one plugin process, as in docker-machine. The process runs in
// a process group of its own, led by a guard (see RunGuard) when
// Options.Guard names one; Close asks the plugin to end and then kills the
// group, and the guard kills it as soon as the host process ends, however
// it ends. Without a guard a plugin built on docker-machine's library still
// ends itself 10 s after the heartbeats Driver sends stop.
package legacy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/machine-cli/machine/drivers"
)

// Names of docker-machine's protocol.
const (
	// ExecutablePrefix starts a docker-machine driver plugin's file name.
	ExecutablePrefix = "docker-machine-driver-"
	// TokenEnv and TokenValue: a plugin serves only when started with
	// TokenEnv=TokenValue in its environment.
	TokenEnv   = "MACHINE_PLUGIN_TOKEN"
	TokenValue = "42"
	// driverNameEnv tells the plugin its driver's name.
	driverNameEnv = "MACHINE_PLUGIN_DRIVER_NAME"
	// serviceV1 is the RPC service name since docker-machine 0.5.1;
	// serviceV0 the one before, tried when a plugin lacks serviceV1.
	serviceV1 = "RPCServerDriver"
	serviceV0 = "RpcServerDriver"
	// apiVersion is the only plugin API version docker-machine defined.
	apiVersion = 1
)

// Timings of the protocol.
const (
	// heartbeatInterval is docker-machine's: its plugins end themselves
	// after 10 s without one.
	heartbeatInterval = 5 * time.Second
	// defaultStartTimeout bounds a start when ctx has no deadline.
	defaultStartTimeout = 30 * time.Second
	// closeGrace is how long Close waits for the plugin to end after
	// asking it to, before killing its process group.
	closeGrace = 2 * time.Second
)

// Find returns the path of docker-machine-driver-NAME on PATH; when there is
// none the error wraps drivers.ErrNotFound.
func Find(name string) (string, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("invalid driver name %q: %w", name, drivers.ErrInvalidConfig)
	}
	path, err := exec.LookPath(ExecutablePrefix + name)
	if errors.Is(err, exec.ErrNotFound) {
		return "", &driverError{msg: fmt.Sprintf("no executable %q found on PATH", ExecutablePrefix+name), err: drivers.ErrNotFound}
	}
	return path, err
}

// Options say how a plugin runs.
type Options struct {
	// Name is the driver's name, given to the plugin in its environment.
	Name string
	// Guard is the command that runs a guard (see RunGuard), the
	// plugin's path appended: the machine binary and GuardCommand. Without
	// one the plugin runs directly, and a host killed outright leaves it
	// to end by itself when the heartbeats stop.
	Guard []string
	// HeartbeatInterval is how often the plugin hears that its host is
	// alive; zero is docker-machine's 5 s.
	HeartbeatInterval time.Duration
	// Logger receives the plugin's output (its log lines on stderr, and
	// any lines on stdout after its address) at Debug level; nil discards
	// them. Nothing the plugin writes reaches this process's stdout.
	Logger hclog.Logger
}

// conn is one running plugin process and its RPC client.
type conn struct {
	path    string
	cmd     *exec.Cmd
	client  *rpc.Client
	service string

	exited  chan struct{} // closed once the process was waited for
	waitErr error         // set before exited closes
	tail    *tailLines    // its last lines on stderr
	// lifeline is the guard's, nil without a guard.
	lifeline *lifeline

	stopHeartbeat chan struct{}
	closeOnce     sync.Once
}

// start runs the plugin at path and connects to it. ctx bounds the start.
// Its errors are one line naming the file.
func start(ctx context.Context, path string, opts Options) (*conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	logger = logger.Named(filepath.Base(path))
	cmd := exec.Command(path)
	if len(opts.Guard) > 0 {
		cmd = exec.Command(opts.Guard[0], append(slices.Clone(opts.Guard[1:]), path)...)
	}
	cmd.Env = append(os.Environ(), TokenEnv+"="+TokenValue, driverNameEnv+"="+opts.Name)
	var life *lifeline
	if len(opts.Guard) > 0 {
		var err error
		if life, err = attachLifeline(cmd); err != nil {
			return nil, fmt.Errorf("driver plugin %s: %w", path, err)
		}
	}
	// Its own process group: a terminal's ^C or a group-wide SIGTERM must
	// not end the driver while a create still needs it to roll back; and
	// Close can end whatever the plugin started along with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("driver plugin %s: %w", path, err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("driver plugin %s: %w", path, err)
	}
	err = cmd.Start()
	if life != nil {
		life.child.Close()
	}
	if err != nil {
		if life != nil {
			life.parent.Close()
		}
		return nil, fmt.Errorf("driver plugin %s: %w", path, err)
	}
	c := &conn{path: path, cmd: cmd, lifeline: life, exited: make(chan struct{}), tail: &tailLines{}, stopHeartbeat: make(chan struct{})}

	first := make(chan string, 1)
	var streams sync.WaitGroup
	streams.Add(2)
	go func() {
		defer streams.Done()
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			first <- sc.Text()
		}
		close(first)
		for sc.Scan() {
			logger.Named("stdout").Debug(sc.Text())
		}
	}()
	go func() {
		defer streams.Done()
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			c.tail.add(sc.Text())
			logger.Named("stderr").Debug(sc.Text())
		}
	}()
	go func() {
		streams.Wait()
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()

	timeout := defaultStartTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var line string
	var printed bool
	select {
	case line, printed = <-first:
	case <-ctx.Done():
		c.kill()
		return nil, ctx.Err()
	case <-timer.C:
		c.kill()
		return nil, fmt.Errorf("driver plugin %s printed no address within %v", path, timeout.Round(time.Second))
	}
	if !printed {
		// Its stdout closed: it ended (or is ending) without serving.
		select {
		case <-c.exited:
		case <-time.After(closeGrace):
		}
		c.kill()
		return nil, fmt.Errorf("driver plugin %s ended while starting%s", path, c.exitNote())
	}
	addr := strings.TrimSpace(line)
	if !isLoopbackAddr(addr) {
		c.kill()
		return nil, fmt.Errorf("%s speaks neither machine's driver protocol nor docker-machine's: its first line on stdout was %q, not the 127.0.0.1:PORT of a docker-machine plugin", path, clip(line))
	}
	client, err := dialHTTP(ctx, addr)
	if err != nil {
		c.kill()
		return nil, fmt.Errorf("driver plugin %s: connect to %s: %w", path, addr, err)
	}
	c.client = client
	if err := c.handshake(ctx); err != nil {
		c.kill()
		return nil, err
	}
	interval := opts.HeartbeatInterval
	if interval <= 0 {
		interval = heartbeatInterval
	}
	go c.heartbeat(logger, interval, c.stopHeartbeat)
	return c, nil
}

// handshake asks the plugin's API version, under the current service name
// and then the one before docker-machine 0.5.1.
func (c *conn) handshake(ctx context.Context) error {
	var version int
	var err error
	for _, svc := range []string{serviceV1, serviceV0} {
		c.service = svc
		if err = c.call(ctx, "GetVersion", struct{}{}, &version); err == nil {
			break
		}
		if !strings.Contains(err.Error(), "can't find service") {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("driver plugin %s does not answer docker-machine's GetVersion: %w", c.path, err)
	}
	if version != apiVersion {
		return fmt.Errorf("driver plugin %s speaks docker-machine plugin API version %d; machine speaks %d", c.path, version, apiVersion)
	}
	return nil
}

// dialHTTP is rpc.DialHTTP, given up when ctx ends.
func dialHTTP(ctx context.Context, addr string) (*rpc.Client, error) {
	type result struct {
		c   *rpc.Client
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := rpc.DialHTTP("tcp", addr)
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		return r.c, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.c != nil {
				r.c.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// call runs one RPC method, giving up (not the plugin's work) when ctx
// ends. Errors are net/rpc's; see mapError.
func (c *conn) call(ctx context.Context, method string, args, reply any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	pending := c.client.Go(c.service+"."+method, args, reply, make(chan *rpc.Call, 1))
	select {
	case <-pending.Done:
		return pending.Error
	case <-ctx.Done():
		return ctx.Err()
	}
}

// heartbeat tells the plugin every interval that its host is alive, as
// docker-machine does, until Close.
func (c *conn) heartbeat(logger hclog.Logger, interval time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), interval)
			if err := c.call(ctx, "Heartbeat", struct{}{}, nil); err != nil {
				logger.Debug("heartbeat failed", "error", err)
			}
			cancel()
		}
	}
}

// close asks the plugin to end (docker-machine's Close), waits a moment for
// it, and then kills its process group, which also ends whatever it left
// running.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		close(c.stopHeartbeat)
		if c.client != nil {
			ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
			// The plugin exits while answering: no reply is expected.
			_ = c.call(ctx, "Close", struct{}{}, nil)
			cancel()
			c.client.Close()
		}
		select {
		case <-c.exited:
		case <-time.After(closeGrace):
		}
		c.kill()
	})
}

// kill ends the plugin's process group at once and waits for the plugin.
func (c *conn) kill() {
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	if c.lifeline != nil {
		c.lifeline.parent.Close()
	}
	select {
	case <-c.exited:
	case <-time.After(closeGrace):
		// Its output is held open by something outside its group; the
		// process itself is gone.
	}
}

// exitNote describes how the plugin ended, with its last line on stderr,
// for an error message; "" while it runs.
func (c *conn) exitNote() string {
	select {
	case <-c.exited:
	default:
		return ""
	}
	note := ""
	if c.waitErr != nil {
		note = " (" + c.waitErr.Error() + ")"
	} else {
		note = " (exit status 0)"
	}
	if l := c.tail.last(); l != "" {
		note += ": " + clip(l)
	}
	return note
}

// isLoopbackAddr says whether s is IP:PORT with a loopback IP, the only
// address a docker-machine plugin listens on.
func isLoopbackAddr(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || port == "" {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// clip shortens s for a one-line message.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}

// tailLines keeps the last non-empty line written.
type tailLines struct {
	mu sync.Mutex
	l  string
}

func (t *tailLines) add(line string) {
	if strings.TrimSpace(line) == "" {
		return
	}
	t.mu.Lock()
	t.l = line
	t.mu.Unlock()
}

func (t *tailLines) last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.l
}

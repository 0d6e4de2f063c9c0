package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/machine-cli/machine/drivers"
	driverpb "github.com/machine-cli/machine/drivers/plugin/proto"
)

// defaultStartTimeout bounds a plugin's start when ctx has no deadline.
const defaultStartTimeout = 30 * time.Second

// killWait is how long a failed start waits for the plugin to be gone.
const killWait = 2 * time.Second

// Client is a running plugin process for one driver. Its drivers may be used
// from several goroutines. A Client dispensed by DriverPlugin.GRPCClient
// itself (in tests, through plugin.TestPluginGRPCConn) has no process.
type Client struct {
	pc *plugin.Client // nil when not made by Launch
	cc grpc.ClientConnInterface
	// lifeline is the write end of the plugin's lifeline pipe.
	lifeline *os.File
}

// LaunchOptions say where a plugin's output goes.
type LaunchOptions struct {
	// Logger receives the plugin's logs and what it writes to stdout or
	// stderr; nil discards them.
	Logger hclog.Logger
	// Notices receives the lines the driver shows the user with Notify
	// (a sign-in code, say); nil discards them.
	Notices io.Writer
}

// Launch starts the plugin process cmd and connects to it. ctx bounds the
// start only. Nothing the plugin writes reaches this process's stdout.
func Launch(ctx context.Context, cmd *exec.Cmd, opts LaunchOptions) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	timeout := defaultStartTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	lifeline, err := attachLifeline(cmd)
	if err != nil {
		return nil, err
	}
	named := logger.Named(filepath.Base(cmd.Path))
	debugWriter := func(stream string) *hclogWriter { return &hclogWriter{l: named.Named(stream), notices: opts.Notices} }
	stderrTail := &lastLine{}
	pc := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: versionedPlugins(nil),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           exitQuiet{logger},
		StartTimeout:     timeout,
		SyncStdout:       debugWriter("stdout"),
		SyncStderr:       debugWriter("stderr"),
		Stderr:           &rawStderr{last: stderrTail, notices: opts.Notices},
	})

	type result struct {
		c   *Client
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := connect(pc)
		// The plugin has its copy of the read end now (or never will).
		lifeline.child.Close()
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			// Waited for a moment only: Kill waits for the process's
			// output to end, which a child it left behind may hold open.
			// Its last words on stderr arrive meanwhile.
			killed := make(chan struct{})
			go func() {
				// Its process group (see libmachine.Plugins): what it
				// started goes too, and with it the hold on its output.
				if cmd.Process != nil && cmd.SysProcAttr != nil && cmd.SysProcAttr.Setpgid {
					_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				}
				pc.Kill()
				lifeline.parent.Close()
				close(killed)
			}()
			select {
			case <-killed:
			case <-time.After(killWait):
			}
			return nil, startError(cmd.Path, r.err, stderrTail)
		}
		r.c.lifeline = lifeline.parent
		return r.c, nil
	case <-ctx.Done():
		// go-plugin cannot interrupt a start; clean up once it ends.
		go func() {
			<-done
			pc.Kill()
			lifeline.parent.Close()
		}()
		return nil, ctx.Err()
	}
}

func connect(pc *plugin.Client) (*Client, error) {
	proto, err := pc.Client()
	if err != nil {
		return nil, err
	}
	raw, err := proto.Dispense(PluginName)
	if err != nil {
		return nil, err
	}
	c, ok := raw.(*Client)
	if !ok {
		return nil, fmt.Errorf("driver plugin: unexpected client %T", raw)
	}
	return &Client{pc: pc, cc: c.cc}, nil
}

// Close ends the plugin process. Drivers from c fail afterwards.
func (c *Client) Close() {
	if c.pc != nil {
		c.pc.Kill()
	}
	if c.lifeline != nil {
		c.lifeline.Close()
	}
}

// Driver returns the driver of one machine, backed by the plugin, starting
// from config: the machine's stored driver JSON, or for a new machine
// {"MachineName": ..., "StorePath": ...}.
func (c *Client) Driver(config json.RawMessage) *RemoteDriver {
	return &RemoteDriver{rpc: driverpb.NewDriverClient(c.cc), config: bytes.Clone(config)}
}

// RemoteDriver is a drivers.Driver whose calls run in a plugin. After each
// call, even a failed one, it keeps the config the plugin sent back.
type RemoteDriver struct {
	rpc driverpb.DriverClient

	mu     sync.Mutex
	config json.RawMessage
}

var _ drivers.Driver = (*RemoteDriver)(nil)

// MarshalJSON returns the current driver config: what to store as the
// machine's "Driver" in config.json.
func (d *RemoteDriver) MarshalJSON() ([]byte, error) {
	cfg := d.currentConfig()
	if len(cfg) == 0 {
		return []byte("{}"), nil
	}
	return bytes.Clone(cfg), nil
}

// UnmarshalJSON replaces the driver config; d stays bound to its plugin.
func (d *RemoteDriver) UnmarshalJSON(data []byte) error {
	if !json.Valid(data) {
		return errors.New("driver config is not valid JSON")
	}
	d.setConfig(data)
	return nil
}

func (d *RemoteDriver) currentConfig() json.RawMessage {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.config
}

func (d *RemoteDriver) setConfig(cfg []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.config = bytes.Clone(cfg)
}

// request is the request of a call: d's current config.
func (d *RemoteDriver) request() *driverpb.Request {
	return &driverpb.Request{Config: d.currentConfig()}
}

// done keeps the config the plugin sent back, with its reply or with its
// error, and returns the driver's error.
func (d *RemoteDriver) done(config []byte, err error) error {
	if err != nil {
		config, err = fromStatus(err)
	}
	if len(config) > 0 && json.Valid(config) {
		d.setConfig(config)
	}
	return err
}

// DriverName implements drivers.Driver.
func (d *RemoteDriver) DriverName(ctx context.Context) (string, error) {
	r, err := d.rpc.DriverName(ctx, d.request())
	return r.GetValue(), d.done(r.GetConfig(), err)
}

// GetCreateFlags implements drivers.Driver.
func (d *RemoteDriver) GetCreateFlags(ctx context.Context) ([]drivers.Flag, error) {
	r, err := d.rpc.GetCreateFlags(ctx, d.request())
	if err := d.done(r.GetConfig(), err); err != nil {
		return nil, err
	}
	return flagsFromProto(r.GetFlags())
}

// SetConfigFromFlags implements drivers.Driver. Option values of type string,
// int, bool and []string arrive with that type.
func (d *RemoteDriver) SetConfigFromFlags(ctx context.Context, opts drivers.Options) error {
	w, err := optionsToProto(opts)
	if err != nil {
		return err
	}
	r, err := d.rpc.SetConfigFromFlags(ctx, &driverpb.SetConfigFromFlagsRequest{Config: d.currentConfig(), Options: w})
	return d.done(r.GetConfig(), err)
}

// act runs a call without a result.
func (d *RemoteDriver) act(ctx context.Context, call func(driverpb.DriverClient, context.Context, *driverpb.Request, ...grpc.CallOption) (*driverpb.Reply, error)) error {
	r, err := call(d.rpc, ctx, d.request())
	return d.done(r.GetConfig(), err)
}

// getString runs a call with a string result.
func (d *RemoteDriver) getString(ctx context.Context, call func(driverpb.DriverClient, context.Context, *driverpb.Request, ...grpc.CallOption) (*driverpb.StringReply, error)) (string, error) {
	r, err := call(d.rpc, ctx, d.request())
	if err := d.done(r.GetConfig(), err); err != nil {
		return "", err
	}
	return r.GetValue(), nil
}

// PreCreateCheck implements drivers.Driver.
func (d *RemoteDriver) PreCreateCheck(ctx context.Context) error {
	return d.act(ctx, driverpb.DriverClient.PreCreateCheck)
}

// Create implements drivers.Driver.
func (d *RemoteDriver) Create(ctx context.Context) error {
	return d.act(ctx, driverpb.DriverClient.Create)
}

// Remove implements drivers.Driver.
func (d *RemoteDriver) Remove(ctx context.Context) error {
	return d.act(ctx, driverpb.DriverClient.Remove)
}

// Start implements drivers.Driver.
func (d *RemoteDriver) Start(ctx context.Context) error {
	return d.act(ctx, driverpb.DriverClient.Start)
}

// Stop implements drivers.Driver.
func (d *RemoteDriver) Stop(ctx context.Context) error { return d.act(ctx, driverpb.DriverClient.Stop) }

// Restart implements drivers.Driver.
func (d *RemoteDriver) Restart(ctx context.Context) error {
	return d.act(ctx, driverpb.DriverClient.Restart)
}

// Kill implements drivers.Driver.
func (d *RemoteDriver) Kill(ctx context.Context) error { return d.act(ctx, driverpb.DriverClient.Kill) }

// GetState implements drivers.Driver.
func (d *RemoteDriver) GetState(ctx context.Context) (drivers.State, error) {
	r, err := d.rpc.GetState(ctx, d.request())
	if err := d.done(r.GetConfig(), err); err != nil {
		return drivers.None, err
	}
	return stateFromProto(r.GetState())
}

// GetIP implements drivers.Driver.
func (d *RemoteDriver) GetIP(ctx context.Context) (string, error) {
	return d.getString(ctx, driverpb.DriverClient.GetIP)
}

// GetPrivateIP implements drivers.Driver.
func (d *RemoteDriver) GetPrivateIP(ctx context.Context) (string, error) {
	return d.getString(ctx, driverpb.DriverClient.GetPrivateIP)
}

// GetURL implements drivers.Driver.
func (d *RemoteDriver) GetURL(ctx context.Context) (string, error) {
	return d.getString(ctx, driverpb.DriverClient.GetURL)
}

// GetSSHHostname implements drivers.Driver.
func (d *RemoteDriver) GetSSHHostname(ctx context.Context) (string, error) {
	return d.getString(ctx, driverpb.DriverClient.GetSSHHostname)
}

// GetSSHPort implements drivers.Driver.
func (d *RemoteDriver) GetSSHPort(ctx context.Context) (int, error) {
	r, err := d.rpc.GetSSHPort(ctx, d.request())
	if err := d.done(r.GetConfig(), err); err != nil {
		return 0, err
	}
	return int(r.GetValue()), nil
}

// GetSSHUsername implements drivers.Driver.
func (d *RemoteDriver) GetSSHUsername(ctx context.Context) (string, error) {
	return d.getString(ctx, driverpb.DriverClient.GetSSHUsername)
}

// GetSSHKeyPath implements drivers.Driver.
func (d *RemoteDriver) GetSSHKeyPath(ctx context.Context) (string, error) {
	return d.getString(ctx, driverpb.DriverClient.GetSSHKeyPath)
}

// GetEndpoint implements drivers.Driver.
func (d *RemoteDriver) GetEndpoint(ctx context.Context) (drivers.Endpoint, error) {
	r, err := d.rpc.GetEndpoint(ctx, d.request())
	if err := d.done(r.GetConfig(), err); err != nil {
		return drivers.Endpoint{}, err
	}
	return endpointFromProto(r.GetEndpoint()), nil
}

// FindExternal returns the path of the external driver NAME: the executable
// machine-driver-NAME on PATH. When there is none the error wraps
// drivers.ErrNotFound and names the executable expected.
func FindExternal(name string) (string, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("invalid driver name %q: %w", name, drivers.ErrInvalidConfig)
	}
	exe := ExternalPrefix + name
	path, err := exec.LookPath(exe)
	if errors.Is(err, exec.ErrNotFound) {
		return "", &wrapError{msg: fmt.Sprintf("no executable %q found on PATH", exe), err: drivers.ErrNotFound}
	}
	if err != nil {
		return "", err
	}
	return path, nil
}

// hclogWriter writes what a plugin prints, line by line, to a logger at
// Debug level, and the driver's notices (see Notify) to notices.
type hclogWriter struct {
	l       hclog.Logger
	notices io.Writer
}

func (w *hclogWriter) Write(p []byte) (int, error) {
	for line := range strings.Lines(string(p)) {
		line = strings.TrimRight(line, "\r\n")
		if msg, ok := strings.CutPrefix(line, noticePrefix); ok {
			if w.notices != nil {
				fmt.Fprintln(w.notices, msg)
			}
			continue
		}
		if line != "" {
			w.l.Debug(line)
		}
	}
	return len(p), nil
}

// rawStderr receives, line by line, what the plugin process writes to its
// stderr descriptor itself rather than through go-plugin's stdio service
// (its logs; everything, for a driver in another language without that
// service). It keeps the last line for startError and passes the driver's
// notices (see Notify) to notices.
type rawStderr struct {
	last    *lastLine
	notices io.Writer
}

func (w *rawStderr) Write(p []byte) (int, error) {
	_, _ = w.last.Write(p)
	for line := range strings.Lines(string(p)) {
		if msg, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), noticePrefix); ok && w.notices != nil {
			fmt.Fprintln(w.notices, msg)
		}
	}
	return len(p), nil
}

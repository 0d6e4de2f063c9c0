package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/machine-cli/machine/drivers"
	driverpb "github.com/machine-cli/machine/drivers/plugin/proto"
)

// Serve runs the current process as a plugin serving one driver; driver
// binaries call it from main. factory makes a fresh driver value for each
// call. Logs go to stderr, which the host reads; what the driver writes to
// stdout once Serve runs goes to the host's logger, never to its stdout.
// Nothing may be written to stdout before Serve: its first line is the
// go-plugin handshake. The process exits when the host that started it ends,
// however it ends (see lifeline.go).
func Serve(factory func() drivers.Driver) {
	// The host is gone (killed, even by SIGKILL): nothing will read this
	// driver's answers, so stop whatever it is doing.
	watchLifeline(func() {
		fmt.Fprintln(os.Stderr, "driver plugin: the machine command that started this driver has ended; exiting")
		os.Exit(2)
	})
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: versionedPlugins(factory),
		GRPCServer:       plugin.DefaultGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Level:      hclog.Debug,
			Output:     os.Stderr,
			JSONFormat: true,
		}),
	})
}

// server serves driver.proto's Driver service; it keeps no state between
// calls: each loads the request's config into a fresh driver from factory.
type server struct {
	driverpb.UnimplementedDriverServer
	factory func() drivers.Driver
}

var _ driverpb.DriverServer = (*server)(nil)

// run calls fn on a fresh driver loaded with config and returns the config
// after the call. A driver's error becomes a status with an Error detail
// (see toStatus), and so does a panic in the driver.
func (s *server) run(config []byte, fn func(drivers.Driver) error) (out []byte, err error) {
	if s.factory == nil {
		return nil, toStatus(errors.New("driver plugin has no driver factory"), nil)
	}
	d := s.factory()
	if len(config) > 0 {
		if err := json.Unmarshal(config, d); err != nil {
			return nil, toStatus(fmt.Errorf("reading driver config: %v: %w", err, drivers.ErrInvalidConfig), nil)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "driver panic: %v\n%s", r, debug.Stack())
			out, err = nil, toStatus(fmt.Errorf("driver panic: %v", r), nil)
		}
	}()
	callErr := fn(d)
	out, err = json.Marshal(d)
	if err != nil {
		return nil, toStatus(fmt.Errorf("writing driver config: %w", err), nil)
	}
	if callErr != nil {
		return nil, toStatus(callErr, out)
	}
	return out, nil
}

// act serves a Driver method without a result.
func (s *server) act(ctx context.Context, r *driverpb.Request, f func(drivers.Driver, context.Context) error) (*driverpb.Reply, error) {
	cfg, err := s.run(r.GetConfig(), func(d drivers.Driver) error { return f(d, ctx) })
	if err != nil {
		return nil, err
	}
	return &driverpb.Reply{Config: cfg}, nil
}

// get serves a Driver method with a result, converted for the wire by conv.
func get[T, W any](s *server, ctx context.Context, r *driverpb.Request, f func(drivers.Driver, context.Context) (T, error), conv func(T) (W, error)) (W, []byte, error) {
	var w W
	cfg, err := s.run(r.GetConfig(), func(d drivers.Driver) error {
		v, err := f(d, ctx)
		if err != nil {
			return err
		}
		w, err = conv(v)
		return err
	})
	return w, cfg, err
}

// same is the conversion of values that travel as they are.
func same[T any](v T) (T, error) { return v, nil }

// getString serves a Driver method with a string result.
func (s *server) getString(ctx context.Context, r *driverpb.Request, f func(drivers.Driver, context.Context) (string, error)) (*driverpb.StringReply, error) {
	v, cfg, err := get(s, ctx, r, f, same[string])
	if err != nil {
		return nil, err
	}
	return &driverpb.StringReply{Config: cfg, Value: v}, nil
}

// DriverName implements driverpb.DriverServer.
func (s *server) DriverName(ctx context.Context, r *driverpb.Request) (*driverpb.StringReply, error) {
	return s.getString(ctx, r, drivers.Driver.DriverName)
}

// GetCreateFlags implements driverpb.DriverServer.
func (s *server) GetCreateFlags(ctx context.Context, r *driverpb.Request) (*driverpb.FlagsReply, error) {
	flags, cfg, err := get(s, ctx, r, drivers.Driver.GetCreateFlags, flagsToProto)
	if err != nil {
		return nil, err
	}
	return &driverpb.FlagsReply{Config: cfg, Flags: flags}, nil
}

// SetConfigFromFlags implements driverpb.DriverServer.
func (s *server) SetConfigFromFlags(ctx context.Context, r *driverpb.SetConfigFromFlagsRequest) (*driverpb.Reply, error) {
	opts, err := optionsFromProto(r.GetOptions())
	if err != nil {
		return nil, toStatus(err, nil)
	}
	return s.act(ctx, &driverpb.Request{Config: r.GetConfig()}, func(d drivers.Driver, ctx context.Context) error {
		return d.SetConfigFromFlags(ctx, opts)
	})
}

// PreCreateCheck implements driverpb.DriverServer.
func (s *server) PreCreateCheck(ctx context.Context, r *driverpb.Request) (*driverpb.Reply, error) {
	return s.act(ctx, r, drivers.Driver.PreCreateCheck)
}

// Create implements driverpb.DriverServer.
func (s *server) Create(ctx context.Context, r *driverpb.Request) (*driverpb.Reply, error) {
	return s.act(ctx, r, drivers.Driver.Create)
}

// Remove implements driverpb.DriverServer.
func (s *server) Remove(ctx context.Context, r *driverpb.Request) (*driverpb.Reply, error) {
	return s.act(ctx, r, drivers.Driver.Remove)
}

// Start implements driverpb.DriverServer.
func (s *server) Start(ctx context.Context, r *driverpb.Request) (*driverpb.Reply, error) {
	return s.act(ctx, r, drivers.Driver.Start)
}

// Stop implements driverpb.DriverServer.
func (s *server) Stop(ctx context.Context, r *driverpb.Request) (*driverpb.Reply, error) {
	return s.act(ctx, r, drivers.Driver.Stop)
}

// Restart implements driverpb.DriverServer.
func (s *server) Restart(ctx context.Context, r *driverpb.Request) (*driverpb.Reply, error) {
	return s.act(ctx, r, drivers.Driver.Restart)
}

// Kill implements driverpb.DriverServer.
func (s *server) Kill(ctx context.Context, r *driverpb.Request) (*driverpb.Reply, error) {
	return s.act(ctx, r, drivers.Driver.Kill)
}

// GetState implements driverpb.DriverServer.
func (s *server) GetState(ctx context.Context, r *driverpb.Request) (*driverpb.StateReply, error) {
	st, cfg, err := get(s, ctx, r, drivers.Driver.GetState, func(st drivers.State) (driverpb.State, error) {
		return stateToProto(st), nil
	})
	if err != nil {
		return nil, err
	}
	return &driverpb.StateReply{Config: cfg, State: st}, nil
}

// GetIP implements driverpb.DriverServer.
func (s *server) GetIP(ctx context.Context, r *driverpb.Request) (*driverpb.StringReply, error) {
	return s.getString(ctx, r, drivers.Driver.GetIP)
}

// GetPrivateIP implements driverpb.DriverServer.
func (s *server) GetPrivateIP(ctx context.Context, r *driverpb.Request) (*driverpb.StringReply, error) {
	return s.getString(ctx, r, drivers.Driver.GetPrivateIP)
}

// GetURL implements driverpb.DriverServer.
func (s *server) GetURL(ctx context.Context, r *driverpb.Request) (*driverpb.StringReply, error) {
	return s.getString(ctx, r, drivers.Driver.GetURL)
}

// GetSSHHostname implements driverpb.DriverServer.
func (s *server) GetSSHHostname(ctx context.Context, r *driverpb.Request) (*driverpb.StringReply, error) {
	return s.getString(ctx, r, drivers.Driver.GetSSHHostname)
}

// GetSSHPort implements driverpb.DriverServer.
func (s *server) GetSSHPort(ctx context.Context, r *driverpb.Request) (*driverpb.IntReply, error) {
	port, cfg, err := get(s, ctx, r, drivers.Driver.GetSSHPort, func(p int) (int64, error) { return int64(p), nil })
	if err != nil {
		return nil, err
	}
	return &driverpb.IntReply{Config: cfg, Value: port}, nil
}

// GetSSHUsername implements driverpb.DriverServer.
func (s *server) GetSSHUsername(ctx context.Context, r *driverpb.Request) (*driverpb.StringReply, error) {
	return s.getString(ctx, r, drivers.Driver.GetSSHUsername)
}

// GetSSHKeyPath implements driverpb.DriverServer.
func (s *server) GetSSHKeyPath(ctx context.Context, r *driverpb.Request) (*driverpb.StringReply, error) {
	return s.getString(ctx, r, drivers.Driver.GetSSHKeyPath)
}

// GetEndpoint implements driverpb.DriverServer.
func (s *server) GetEndpoint(ctx context.Context, r *driverpb.Request) (*driverpb.EndpointReply, error) {
	e, cfg, err := get(s, ctx, r, drivers.Driver.GetEndpoint, func(e drivers.Endpoint) (*driverpb.Endpoint, error) {
		return endpointToProto(e), nil
	})
	if err != nil {
		return nil, err
	}
	return &driverpb.EndpointReply{Config: cfg, Endpoint: e}, nil
}

// noticePrefix marks a line of a driver's stderr meant for the user.
const noticePrefix = "machine-notice: "

// Notify shows msg, line by line, on the stderr of the command that runs
// the driver, whatever its --debug: for what the user must see or act on,
// such as a device code sign-in. Call it from a driver's methods only,
// once Serve runs.
func Notify(msg string) {
	for line := range strings.Lines(msg) {
		fmt.Fprintln(os.Stderr, noticePrefix+strings.TrimRight(line, "\r\n"))
	}
}

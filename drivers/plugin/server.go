package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/machine-cli/machine/drivers"
)

// configTrailer carries the driver config back when a call fails, so that
// what the driver recorded before failing (an instance ID, ...) is kept.
const configTrailer = "machine-config-bin"

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
		HandshakeConfig: Handshake,
		Plugins:         pluginSet(factory),
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Level:      hclog.Debug,
			Output:     os.Stderr,
			JSONFormat: true,
		}),
	})
}

// server serves the driver service; it keeps no state between calls.
type server struct {
	factory func() drivers.Driver
}

// method makes the gRPC method name from fn, which runs on a fresh driver
// loaded with the request's config.
func method[T any](name string, fn func(context.Context, drivers.Driver, *request) (T, error)) grpc.MethodDesc {
	full := "/" + serviceName + "/" + name
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
			req := new(request)
			if err := dec(req); err != nil {
				return nil, err
			}
			call := func(ctx context.Context, req any) (any, error) {
				return serve(ctx, srv.(*server), req.(*request), fn)
			}
			if icpt == nil {
				return call(ctx, req)
			}
			return icpt(ctx, req, &grpc.UnaryServerInfo{Server: srv, FullMethod: full}, call)
		},
	}
}

func serve[T any](ctx context.Context, s *server, req *request, fn func(context.Context, drivers.Driver, *request) (T, error)) (_ *reply[T], err error) {
	if s.factory == nil {
		return nil, status.Error(codes.Internal, "driver plugin has no driver factory")
	}
	d := s.factory()
	if len(req.Config) > 0 {
		if err := json.Unmarshal(req.Config, d); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "reading driver config: %v", err)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "driver panic: %v\n%s", r, debug.Stack())
			err = status.Errorf(codes.Internal, "driver panic: %v", r)
		}
	}()
	v, callErr := fn(ctx, d, req)
	config, err := json.Marshal(d)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "writing driver config: %v", err)
	}
	if callErr != nil {
		_ = grpc.SetTrailer(ctx, metadata.Pairs(configTrailer, string(config)))
		return nil, toStatus(callErr)
	}
	return &reply[T]{Config: config, Value: v}, nil
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

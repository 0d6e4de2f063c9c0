// Command machine-driver-nolib is a driver written against driver.proto and
// drivers/README.md alone, as a driver in another language is: it uses
// neither go-plugin nor package plugin, only a gRPC library, the stubs
// generated from driver.proto and the standard health service. The plugin
// package's tests launch it to check that the guide's protocol is the one
// the host speaks. Its machines are records in its config and nothing else.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	driverpb "github.com/machine-cli/machine/drivers/plugin/proto"
)

// Notice is what Create shows the user, with the guide's marker.
const Notice = "nolib: creating, hold on"

func main() {
	if os.Getenv("MACHINE_DRIVER_PLUGIN") != "6b1f0c3e9a4d27f58e0b3c1d9f7a2e64" {
		fmt.Fprintln(os.Stderr, "machine-driver-nolib is a machine driver: run it through machine create -d nolib")
		os.Exit(1)
	}
	if !slices.Contains(strings.Split(os.Getenv("PLUGIN_PROTOCOL_VERSIONS"), ","), "1") {
		fmt.Fprintln(os.Stderr, "machine-driver-nolib speaks plugin protocol 1 only")
		os.Exit(1)
	}
	// The lifeline reads end-of-file when the host has ended.
	if fd, err := strconv.Atoi(os.Getenv("MACHINE_PLUGIN_LIFELINE_FD")); err == nil {
		go func() {
			_, _ = io.Copy(io.Discard, os.NewFile(uintptr(fd), "lifeline"))
			os.Exit(2)
		}()
	}
	dir, err := os.MkdirTemp("", "nolib")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "driver.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := grpc.NewServer()
	driverpb.RegisterDriverServer(s, driver{})
	hs := health.NewServer()
	hs.SetServingStatus("plugin", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(s, hs)
	fmt.Printf("1|1|unix|%s|grpc\n", sock)
	fmt.Fprintln(os.Stderr, `{"@level":"debug","@message":"nolib: serving","@timestamp":"2026-01-01T00:00:00.000000Z"}`)
	if err := s.Serve(l); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// config is the driver's configuration, as the host stores it.
type config struct {
	MachineName string
	StorePath   string
	Size        int      `json:",omitempty"`
	Zones       []string `json:",omitempty"`
	Created     bool     `json:",omitempty"`
	StopTried   bool     `json:",omitempty"`
}

func load(raw []byte) (config, error) {
	var c config
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &c); err != nil {
			return c, fail(codes.InvalidArgument, driverpb.ErrorKind_ERROR_KIND_INVALID_CONFIG, "nolib: config: "+err.Error(), nil)
		}
	}
	return c, nil
}

func (c config) raw() []byte {
	b, _ := json.Marshal(c)
	return b
}

// fail is an error as the guide says: a status with an Error detail.
func fail(code codes.Code, kind driverpb.ErrorKind, msg string, cfg []byte) error {
	st, err := status.New(code, msg).WithDetails(&driverpb.Error{Kind: kind, Config: cfg})
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	return st.Err()
}

type driver struct {
	driverpb.UnimplementedDriverServer
}

func (driver) DriverName(context.Context, *driverpb.Request) (*driverpb.StringReply, error) {
	return &driverpb.StringReply{Value: "nolib"}, nil
}

func (driver) GetCreateFlags(_ context.Context, r *driverpb.Request) (*driverpb.FlagsReply, error) {
	return &driverpb.FlagsReply{Config: r.GetConfig(), Flags: []*driverpb.Flag{
		{Name: "nolib-size", Kind: driverpb.FlagKind_FLAG_KIND_INT, Usage: "size in GB", EnvVar: "NOLIB_SIZE", Default: &driverpb.Flag_DefaultInt{DefaultInt: 10}},
		{Name: "nolib-zone", Kind: driverpb.FlagKind_FLAG_KIND_STRING_SLICE, Usage: "zones", Default: &driverpb.Flag_DefaultStringSlice{DefaultStringSlice: &driverpb.StringList{Values: []string{"a"}}}},
	}}, nil
}

func (driver) SetConfigFromFlags(_ context.Context, r *driverpb.SetConfigFromFlagsRequest) (*driverpb.Reply, error) {
	c, err := load(r.GetConfig())
	if err != nil {
		return nil, err
	}
	c.Size = int(r.GetOptions()["nolib-size"].GetIntValue())
	c.Zones = r.GetOptions()["nolib-zone"].GetStringSliceValue().GetValues()
	if c.Size < 1 {
		return nil, fail(codes.InvalidArgument, driverpb.ErrorKind_ERROR_KIND_INVALID_CONFIG, fmt.Sprintf("nolib: --nolib-size %d is not a size", c.Size), nil)
	}
	return &driverpb.Reply{Config: c.raw()}, nil
}

// Create shows a notice; a second Create is ALREADY_EXISTS.
func (driver) Create(_ context.Context, r *driverpb.Request) (*driverpb.Reply, error) {
	c, err := load(r.GetConfig())
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(os.Stderr, "machine-notice: "+Notice)
	if c.Created {
		return nil, fail(codes.AlreadyExists, driverpb.ErrorKind_ERROR_KIND_ALREADY_EXISTS, fmt.Sprintf("nolib: machine %q exists", c.MachineName), c.raw())
	}
	c.Created = true
	return &driverpb.Reply{Config: c.raw()}, nil
}

// Stop is not supported, and records that it was tried.
func (driver) Stop(_ context.Context, r *driverpb.Request) (*driverpb.Reply, error) {
	c, err := load(r.GetConfig())
	if err != nil {
		return nil, err
	}
	c.StopTried = true
	return nil, fail(codes.Unimplemented, driverpb.ErrorKind_ERROR_KIND_NOT_SUPPORTED, "nolib driver: stop: not supported", c.raw())
}

// Kill fails with a plain status, without the Error detail.
func (driver) Kill(context.Context, *driverpb.Request) (*driverpb.Reply, error) {
	return nil, status.Error(codes.Unknown, "nolib: the power switch is stuck")
}

func (driver) GetState(_ context.Context, r *driverpb.Request) (*driverpb.StateReply, error) {
	c, err := load(r.GetConfig())
	if err != nil {
		return nil, err
	}
	if !c.Created {
		return nil, fail(codes.NotFound, driverpb.ErrorKind_ERROR_KIND_NOT_FOUND, fmt.Sprintf("nolib: machine %q: not found", c.MachineName), nil)
	}
	return &driverpb.StateReply{Config: r.GetConfig(), State: driverpb.State_STATE_RUNNING}, nil
}

func (driver) GetEndpoint(_ context.Context, r *driverpb.Request) (*driverpb.EndpointReply, error) {
	return &driverpb.EndpointReply{Config: r.GetConfig(), Endpoint: &driverpb.Endpoint{
		Ip: "192.0.2.7", PrivateIp: "10.0.0.7", Url: "tcp://192.0.2.7:2376", SshHostname: "192.0.2.7", SshPort: 2222, SshUser: "core", Static: true,
	}}, nil
}

package plugin

import (
	"context"
	"encoding/json"
	"fmt"

	"google.golang.org/grpc"

	"github.com/machine-cli/machine/drivers"
)

// serviceName is the gRPC service with one unary method per Driver method.
const serviceName = "machine.driver.v1.Driver"

// request is the message of every method: the machine's driver config and,
// for SetConfigFromFlags, the flag values.
type request struct {
	Config  json.RawMessage       `json:",omitempty"`
	Options map[string]wireOption `json:",omitempty"`
}

// reply is the answer of every method: the driver config after the call and
// the method's result (struct{} for methods without one).
type reply[T any] struct {
	Config json.RawMessage `json:",omitempty"`
	Value  T
}

// wireOption is one option value tagged with its kind, so that it arrives
// with the Go type it left with (JSON alone turns int into float64).
type wireOption struct {
	Kind  drivers.FlagKind `json:",omitempty"`
	Value json.RawMessage
}

// serviceDesc maps each gRPC method to the Driver method of the same name.
var serviceDesc = grpc.ServiceDesc{
	ServiceName: serviceName,
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		get("DriverName", drivers.Driver.DriverName),
		get("GetCreateFlags", drivers.Driver.GetCreateFlags),
		method("SetConfigFromFlags", func(ctx context.Context, d drivers.Driver, r *request) (struct{}, error) {
			opts, err := decodeOptions(r.Options)
			if err != nil {
				return struct{}{}, err
			}
			return struct{}{}, d.SetConfigFromFlags(ctx, opts)
		}),
		act("PreCreateCheck", drivers.Driver.PreCreateCheck),
		act("Create", drivers.Driver.Create),
		act("Remove", drivers.Driver.Remove),
		act("Start", drivers.Driver.Start),
		act("Stop", drivers.Driver.Stop),
		act("Restart", drivers.Driver.Restart),
		act("Kill", drivers.Driver.Kill),
		get("GetState", drivers.Driver.GetState),
		get("GetIP", drivers.Driver.GetIP),
		get("GetPrivateIP", drivers.Driver.GetPrivateIP),
		get("GetURL", drivers.Driver.GetURL),
		get("GetSSHHostname", drivers.Driver.GetSSHHostname),
		get("GetSSHPort", drivers.Driver.GetSSHPort),
		get("GetSSHUsername", drivers.Driver.GetSSHUsername),
		get("GetSSHKeyPath", drivers.Driver.GetSSHKeyPath),
		get("GetEndpoint", drivers.Driver.GetEndpoint),
	},
	Metadata: "drivers/plugin/service.go",
}

// act serves a Driver method without a result.
func act(name string, f func(drivers.Driver, context.Context) error) grpc.MethodDesc {
	return method(name, func(ctx context.Context, d drivers.Driver, _ *request) (struct{}, error) {
		return struct{}{}, f(d, ctx)
	})
}

// get serves a Driver method with a result.
func get[T any](name string, f func(drivers.Driver, context.Context) (T, error)) grpc.MethodDesc {
	return method(name, func(ctx context.Context, d drivers.Driver, _ *request) (T, error) {
		return f(d, ctx)
	})
}

func encodeOptions(opts drivers.Options) (map[string]wireOption, error) {
	if len(opts) == 0 {
		return nil, nil
	}
	out := make(map[string]wireOption, len(opts))
	for name, v := range opts {
		var kind drivers.FlagKind
		switch v.(type) {
		case nil:
			continue
		case string:
			kind = drivers.FlagString
		case bool:
			kind = drivers.FlagBool
		case []string:
			kind = drivers.FlagStringSlice
		case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
			kind = drivers.FlagInt
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("option %q: %w", name, err)
		}
		out[name] = wireOption{Kind: kind, Value: raw}
	}
	return out, nil
}

func decodeOptions(in map[string]wireOption) (drivers.Options, error) {
	opts := make(drivers.Options, len(in))
	for name, o := range in {
		var v any
		var err error
		switch o.Kind {
		case drivers.FlagString:
			v, err = decodeAs[string](o.Value)
		case drivers.FlagInt:
			v, err = decodeAs[int](o.Value)
		case drivers.FlagBool:
			v, err = decodeAs[bool](o.Value)
		case drivers.FlagStringSlice:
			v, err = decodeAs[[]string](o.Value)
		default:
			v, err = decodeAs[any](o.Value)
		}
		if err != nil {
			return nil, fmt.Errorf("option %q: %v: %w", name, err, drivers.ErrInvalidConfig)
		}
		opts[name] = v
	}
	return opts, nil
}

func decodeAs[T any](raw json.RawMessage) (T, error) {
	var v T
	err := json.Unmarshal(raw, &v)
	return v, err
}

package plugin

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"

	"github.com/machine-cli/machine/drivers"
	driverpb "github.com/machine-cli/machine/drivers/plugin/proto"
)

// This file converts between the plain Go types of package drivers and the
// messages of driver.proto, both ways.

// flagKinds pairs the Go flag kinds with the protocol's.
var flagKinds = map[drivers.FlagKind]driverpb.FlagKind{
	drivers.FlagString:      driverpb.FlagKind_FLAG_KIND_STRING,
	drivers.FlagInt:         driverpb.FlagKind_FLAG_KIND_INT,
	drivers.FlagBool:        driverpb.FlagKind_FLAG_KIND_BOOL,
	drivers.FlagStringSlice: driverpb.FlagKind_FLAG_KIND_STRING_SLICE,
}

// flagToProto converts a driver's flag for the wire. Its default becomes a
// value of the flag's kind; a default that does not parse as one, or a
// default in the field of another kind, is an error (wrapping
// drivers.ErrInvalidConfig) rather than lost on the way.
func flagToProto(f drivers.Flag) (*driverpb.Flag, error) {
	kind, ok := flagKinds[f.Kind]
	if !ok {
		return nil, fmt.Errorf("driver flag %q: unknown kind %q: %w", f.Name, f.Kind, drivers.ErrInvalidConfig)
	}
	out := &driverpb.Flag{Name: f.Name, Kind: kind, Usage: f.Usage, EnvVar: f.EnvVar}
	if f.Kind == drivers.FlagStringSlice {
		if f.Default != "" {
			return nil, fmt.Errorf("driver flag %q: a %s flag takes DefaultSlice, not Default: %w", f.Name, f.Kind, drivers.ErrInvalidConfig)
		}
		if f.DefaultSlice != nil {
			out.Default = &driverpb.Flag_DefaultStringSlice{DefaultStringSlice: &driverpb.StringList{Values: f.DefaultSlice}}
		}
		return out, nil
	}
	if f.DefaultSlice != nil {
		return nil, fmt.Errorf("driver flag %q: a %s flag takes Default, not DefaultSlice: %w", f.Name, f.Kind, drivers.ErrInvalidConfig)
	}
	if f.Default == "" {
		return out, nil
	}
	switch f.Kind {
	case drivers.FlagString:
		out.Default = &driverpb.Flag_DefaultString{DefaultString: f.Default}
	case drivers.FlagInt:
		n, err := strconv.ParseInt(f.Default, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("driver flag %q: int default %q: %w", f.Name, f.Default, drivers.ErrInvalidConfig)
		}
		out.Default = &driverpb.Flag_DefaultInt{DefaultInt: n}
	case drivers.FlagBool:
		b, err := strconv.ParseBool(f.Default)
		if err != nil {
			return nil, fmt.Errorf("driver flag %q: bool default %q: %w", f.Name, f.Default, drivers.ErrInvalidConfig)
		}
		out.Default = &driverpb.Flag_DefaultBool{DefaultBool: b}
	}
	return out, nil
}

// flagFromProto converts a flag from the wire; the inverse of flagToProto,
// with int and bool defaults written as strconv writes them.
func flagFromProto(f *driverpb.Flag) (drivers.Flag, error) {
	out := drivers.Flag{Name: f.GetName(), Usage: f.GetUsage(), EnvVar: f.GetEnvVar()}
	for k, pk := range flagKinds {
		if pk == f.GetKind() {
			out.Kind = k
		}
	}
	if out.Kind == "" {
		return drivers.Flag{}, fmt.Errorf("driver flag %q: unknown kind %v", f.GetName(), f.GetKind())
	}
	var defaultKind drivers.FlagKind
	switch d := f.GetDefault().(type) {
	case nil:
		return out, nil
	case *driverpb.Flag_DefaultString:
		defaultKind, out.Default = drivers.FlagString, d.DefaultString
	case *driverpb.Flag_DefaultInt:
		defaultKind, out.Default = drivers.FlagInt, strconv.FormatInt(d.DefaultInt, 10)
	case *driverpb.Flag_DefaultBool:
		defaultKind, out.Default = drivers.FlagBool, strconv.FormatBool(d.DefaultBool)
	case *driverpb.Flag_DefaultStringSlice:
		defaultKind, out.DefaultSlice = drivers.FlagStringSlice, append([]string{}, d.DefaultStringSlice.GetValues()...)
	}
	if defaultKind != out.Kind {
		return drivers.Flag{}, fmt.Errorf("driver flag %q: a %s default for a %s flag", f.GetName(), defaultKind, out.Kind)
	}
	return out, nil
}

// flagsToProto converts a driver's flags for the wire.
func flagsToProto(flags []drivers.Flag) ([]*driverpb.Flag, error) {
	out := make([]*driverpb.Flag, 0, len(flags))
	for _, f := range flags {
		pf, err := flagToProto(f)
		if err != nil {
			return nil, err
		}
		out = append(out, pf)
	}
	return out, nil
}

// flagsFromProto converts flags from the wire.
func flagsFromProto(flags []*driverpb.Flag) ([]drivers.Flag, error) {
	out := make([]drivers.Flag, 0, len(flags))
	for _, pf := range flags {
		f, err := flagFromProto(pf)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// optionsToProto converts flag values for the wire. Strings, integers, bools
// and string slices travel as such; any other value as JSON; nil values are
// left out.
func optionsToProto(opts drivers.Options) (map[string]*driverpb.OptionValue, error) {
	out := make(map[string]*driverpb.OptionValue, len(opts))
	for name, v := range opts {
		var ov driverpb.OptionValue
		switch v := v.(type) {
		case nil:
			continue
		case string:
			ov.Value = &driverpb.OptionValue_StringValue{StringValue: v}
		case bool:
			ov.Value = &driverpb.OptionValue_BoolValue{BoolValue: v}
		case []string:
			ov.Value = &driverpb.OptionValue_StringSliceValue{StringSliceValue: &driverpb.StringList{Values: v}}
		case int, int8, int16, int32, int64, uint8, uint16, uint32:
			ov.Value = &driverpb.OptionValue_IntValue{IntValue: reflect.ValueOf(v).Convert(reflect.TypeFor[int64]()).Int()}
		default:
			raw, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("option %q: %w", name, err)
			}
			ov.Value = &driverpb.OptionValue_JsonValue{JsonValue: raw}
		}
		out[name] = &ov
	}
	return out, nil
}

// optionsFromProto converts flag values from the wire: string, int, bool and
// []string values arrive with those Go types, others as JSON decodes them.
func optionsFromProto(in map[string]*driverpb.OptionValue) (drivers.Options, error) {
	opts := make(drivers.Options, len(in))
	for name, ov := range in {
		switch v := ov.GetValue().(type) {
		case *driverpb.OptionValue_StringValue:
			opts[name] = v.StringValue
		case *driverpb.OptionValue_IntValue:
			opts[name] = int(v.IntValue)
		case *driverpb.OptionValue_BoolValue:
			opts[name] = v.BoolValue
		case *driverpb.OptionValue_StringSliceValue:
			opts[name] = append([]string{}, v.StringSliceValue.GetValues()...)
		case *driverpb.OptionValue_JsonValue:
			var val any
			if err := json.Unmarshal(v.JsonValue, &val); err != nil {
				return nil, fmt.Errorf("option %q: %v: %w", name, err, drivers.ErrInvalidConfig)
			}
			opts[name] = val
		default:
			return nil, fmt.Errorf("option %q has no value: %w", name, drivers.ErrInvalidConfig)
		}
	}
	return opts, nil
}

// stateToProto converts a machine state for the wire; the protocol's states
// are numbered as package drivers numbers them.
func stateToProto(s drivers.State) driverpb.State { return driverpb.State(s) }

// stateFromProto converts a state from the wire; one this side does not
// know is an error.
func stateFromProto(s driverpb.State) (drivers.State, error) {
	if _, ok := driverpb.State_name[int32(s)]; !ok {
		return drivers.None, fmt.Errorf("driver plugin: unknown machine state %d", s)
	}
	return drivers.State(s), nil
}

// endpointToProto converts an endpoint for the wire.
func endpointToProto(e drivers.Endpoint) *driverpb.Endpoint {
	return &driverpb.Endpoint{
		Ip: e.IP, PrivateIp: e.PrivateIP, Url: e.URL,
		SshHostname: e.SSHHostname, SshPort: int32(e.SSHPort), SshUser: e.SSHUser, SshKeyPath: e.SSHKeyPath,
		Static: e.Static,
	}
}

// endpointFromProto converts an endpoint from the wire.
func endpointFromProto(e *driverpb.Endpoint) drivers.Endpoint {
	return drivers.Endpoint{
		IP: e.GetIp(), PrivateIP: e.GetPrivateIp(), URL: e.GetUrl(),
		SSHHostname: e.GetSshHostname(), SSHPort: int(e.GetSshPort()), SSHUser: e.GetSshUser(), SSHKeyPath: e.GetSshKeyPath(),
		Static: e.GetStatic(),
	}
}

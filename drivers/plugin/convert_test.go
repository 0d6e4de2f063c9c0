package plugin

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/machine-cli/machine/drivers"
	driverpb "github.com/machine-cli/machine/drivers/plugin/proto"
)

// wire sends m through its protobuf encoding, as the transport does.
func wire[M proto.Message](t *testing.T, m M) M {
	t.Helper()
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	out := m.ProtoReflect().New().Interface().(M)
	if err := proto.Unmarshal(data, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFlagRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		flag drivers.Flag
		// want is what arrives; the flag itself when zero.
		want drivers.Flag
		// wantDefault is the default's field on the wire (nil: none).
		wantDefault any
	}{
		{"string", drivers.Flag{Name: "x-region", Kind: drivers.FlagString, Usage: "the region", EnvVar: "X_REGION", Default: "eu-west"}, drivers.Flag{},
			&driverpb.Flag_DefaultString{DefaultString: "eu-west"}},
		{"string without default", drivers.Flag{Name: "x-token", Kind: drivers.FlagString, Usage: "a token", EnvVar: "X_TOKEN"}, drivers.Flag{}, nil},
		{"int", drivers.Flag{Name: "x-port", Kind: drivers.FlagInt, Usage: "a port", EnvVar: "X_PORT", Default: "22"}, drivers.Flag{},
			&driverpb.Flag_DefaultInt{DefaultInt: 22}},
		{"negative int", drivers.Flag{Name: "x-offset", Kind: drivers.FlagInt, Default: "-3"}, drivers.Flag{},
			&driverpb.Flag_DefaultInt{DefaultInt: -3}},
		{"int without default", drivers.Flag{Name: "x-cpus", Kind: drivers.FlagInt, Usage: "CPUs"}, drivers.Flag{}, nil},
		{"int written oddly", drivers.Flag{Name: "x-port", Kind: drivers.FlagInt, Default: "+022"},
			drivers.Flag{Name: "x-port", Kind: drivers.FlagInt, Default: "22"}, &driverpb.Flag_DefaultInt{DefaultInt: 22}},
		{"bool", drivers.Flag{Name: "x-spot", Kind: drivers.FlagBool, Usage: "spot instance", EnvVar: "X_SPOT"}, drivers.Flag{}, nil},
		{"bool defaulting to true", drivers.Flag{Name: "x-public", Kind: drivers.FlagBool, Default: "true"}, drivers.Flag{},
			&driverpb.Flag_DefaultBool{DefaultBool: true}},
		{"bool defaulting to false", drivers.Flag{Name: "x-public", Kind: drivers.FlagBool, Default: "false"}, drivers.Flag{},
			&driverpb.Flag_DefaultBool{DefaultBool: false}},
		{"string slice", drivers.Flag{Name: "x-tag", Kind: drivers.FlagStringSlice, Usage: "tags", EnvVar: "X_TAGS", DefaultSlice: []string{"a", "b"}}, drivers.Flag{},
			&driverpb.Flag_DefaultStringSlice{DefaultStringSlice: &driverpb.StringList{Values: []string{"a", "b"}}}},
		{"empty string slice default", drivers.Flag{Name: "x-tag", Kind: drivers.FlagStringSlice, DefaultSlice: []string{}}, drivers.Flag{},
			&driverpb.Flag_DefaultStringSlice{DefaultStringSlice: &driverpb.StringList{}}},
		{"string slice without default", drivers.Flag{Name: "x-tag", Kind: drivers.FlagStringSlice}, drivers.Flag{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pf, err := flagToProto(tt.flag)
			if err != nil {
				t.Fatal(err)
			}
			pf = wire(t, pf)
			if got := pf.GetDefault(); !reflect.DeepEqual(fmt.Sprint(got), fmt.Sprint(tt.wantDefault)) {
				t.Errorf("default on the wire = %v, want %v", got, tt.wantDefault)
			}
			got, err := flagFromProto(pf)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want.Name == "" {
				want = tt.flag
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip = %#v, want %#v", got, want)
			}
		})
	}
}

func TestFlagErrors(t *testing.T) {
	toProto := []struct {
		name string
		flag drivers.Flag
		want string
	}{
		{"int default not a number", drivers.Flag{Name: "x-port", Kind: drivers.FlagInt, Default: "twenty"}, `driver flag "x-port": int default "twenty"`},
		{"bool default not a bool", drivers.Flag{Name: "x-spot", Kind: drivers.FlagBool, Default: "maybe"}, `driver flag "x-spot": bool default "maybe"`},
		{"unknown kind", drivers.Flag{Name: "x-size", Kind: "float"}, `driver flag "x-size": unknown kind "float"`},
		{"slice default on a string flag", drivers.Flag{Name: "x-a", Kind: drivers.FlagString, DefaultSlice: []string{"a"}}, "takes Default, not DefaultSlice"},
		{"string default on a slice flag", drivers.Flag{Name: "x-a", Kind: drivers.FlagStringSlice, Default: "a"}, "takes DefaultSlice, not Default"},
	}
	for _, tt := range toProto {
		t.Run(tt.name, func(t *testing.T) {
			_, err := flagToProto(tt.flag)
			if !errors.Is(err, drivers.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("flagToProto = %v, want ErrInvalidConfig saying %q", err, tt.want)
			}
		})
	}
	// What a driver in another language might send.
	fromProto := []struct {
		name string
		flag *driverpb.Flag
		want string
	}{
		{"no kind", &driverpb.Flag{Name: "x-a"}, `driver flag "x-a": unknown kind`},
		{"kind from a later protocol", &driverpb.Flag{Name: "x-a", Kind: 99}, `driver flag "x-a": unknown kind`},
		{"default of another kind", &driverpb.Flag{Name: "x-a", Kind: driverpb.FlagKind_FLAG_KIND_INT, Default: &driverpb.Flag_DefaultString{DefaultString: "1"}},
			`driver flag "x-a": a string default for a int flag`},
	}
	for _, tt := range fromProto {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := flagFromProto(tt.flag); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("flagFromProto = %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

func TestOptionRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want any // nil: the option is left out
	}{
		{"string", "eu-west", "eu-west"},
		{"empty string", "", ""},
		{"int", 2048, 2048},
		{"int64", int64(-7), -7},
		{"uint16", uint16(22), 22},
		{"bool", true, true},
		{"false", false, false},
		{"string slice", []string{"a", "b"}, []string{"a", "b"}},
		{"empty string slice", []string{}, []string{}},
		{"other value, as JSON", map[string]any{"k": 1.5}, map[string]any{"k": 1.5}},
		{"float, as JSON", 2.5, 2.5},
		{"nil", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := optionsToProto(drivers.Options{"o": tt.in})
			if err != nil {
				t.Fatal(err)
			}
			msg := wire(t, &driverpb.SetConfigFromFlagsRequest{Options: w})
			got, err := optionsFromProto(msg.GetOptions())
			if err != nil {
				t.Fatal(err)
			}
			v, ok := got["o"]
			if tt.want == nil {
				if ok {
					t.Errorf("nil option arrived as %#v", v)
				}
				return
			}
			if !reflect.DeepEqual(v, tt.want) {
				t.Errorf("arrived as %#v (%T), want %#v (%T)", v, v, tt.want, tt.want)
			}
		})
	}
}

func TestOptionErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   map[string]*driverpb.OptionValue
	}{
		{"no value", map[string]*driverpb.OptionValue{"o": {}}},
		{"bad JSON", map[string]*driverpb.OptionValue{"o": {Value: &driverpb.OptionValue_JsonValue{JsonValue: []byte("{")}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := optionsFromProto(tt.in); !errors.Is(err, drivers.ErrInvalidConfig) || !strings.Contains(err.Error(), `option "o"`) {
				t.Errorf("optionsFromProto = %v, want ErrInvalidConfig naming the option", err)
			}
		})
	}
	if _, err := optionsToProto(drivers.Options{"o": make(chan int)}); err == nil || !strings.Contains(err.Error(), `option "o"`) {
		t.Errorf("optionsToProto(chan) = %v, want an error naming the option", err)
	}
}

func TestEndpointRoundTrip(t *testing.T) {
	for _, e := range []drivers.Endpoint{
		{},
		{IP: "10.0.0.5", PrivateIP: "192.168.1.5", URL: "tcp://10.0.0.5:2376", SSHHostname: "10.0.0.5", SSHPort: 22, SSHUser: "docker", SSHKeyPath: "/store/machines/m1/id_rsa", Static: true},
		{IP: "fd00::5", URL: "tcp://[fd00::5]:2376", SSHHostname: "fd00::5", SSHPort: 65535, SSHUser: "root"},
	} {
		t.Run(e.IP, func(t *testing.T) {
			if got := endpointFromProto(wire(t, endpointToProto(e))); got != e {
				t.Errorf("round trip = %+v, want %+v", got, e)
			}
		})
	}
}

func TestStates(t *testing.T) {
	for s := drivers.None; s <= drivers.Timeout; s++ {
		name := "STATE_" + strings.ToUpper(s.String())
		if s == drivers.None {
			name = "STATE_NONE"
		}
		if got := stateToProto(s); got.String() != name {
			t.Errorf("state %d (%q) is %s on the wire, want %s", s, s, got, name)
		}
		if back, err := stateFromProto(stateToProto(s)); err != nil || back != s {
			t.Errorf("state %q back = %v, %v", s, back, err)
		}
	}
	if len(driverpb.State_name) != int(drivers.Timeout)+1 {
		t.Errorf("driver.proto has %d states, package drivers %d", len(driverpb.State_name), drivers.Timeout+1)
	}
	if _, err := stateFromProto(42); err == nil {
		t.Error("an unknown state from the driver is no error")
	}
}

func TestErrorRoundTrip(t *testing.T) {
	config := []byte(`{"MachineName":"m1","InstanceID":"i-123"}`)
	tests := []struct {
		name     string
		err      error
		sentinel error // nil: a plain error
		kind     driverpb.ErrorKind
		code     codes.Code
	}{
		{"not supported", drivers.NotSupported("x", "stop"), drivers.ErrNotSupported, driverpb.ErrorKind_ERROR_KIND_NOT_SUPPORTED, codes.Unimplemented},
		{"not found", fmt.Errorf("instance %q: %w", "i-123", drivers.ErrNotFound), drivers.ErrNotFound, driverpb.ErrorKind_ERROR_KIND_NOT_FOUND, codes.NotFound},
		{"already exists", fmt.Errorf("disk: %w", drivers.ErrAlreadyExists), drivers.ErrAlreadyExists, driverpb.ErrorKind_ERROR_KIND_ALREADY_EXISTS, codes.AlreadyExists},
		{"invalid config", fmt.Errorf("--x-port: %w", drivers.ErrInvalidConfig), drivers.ErrInvalidConfig, driverpb.ErrorKind_ERROR_KIND_INVALID_CONFIG, codes.InvalidArgument},
		{"not running", fmt.Errorf("restart: %w", drivers.ErrNotRunning), drivers.ErrNotRunning, driverpb.ErrorKind_ERROR_KIND_NOT_RUNNING, codes.FailedPrecondition},
		{"canceled", fmt.Errorf("waiting for SSH: %w", context.Canceled), context.Canceled, driverpb.ErrorKind_ERROR_KIND_CANCELED, codes.Canceled},
		{"deadline", fmt.Errorf("waiting for SSH: %w", context.DeadlineExceeded), context.DeadlineExceeded, driverpb.ErrorKind_ERROR_KIND_DEADLINE_EXCEEDED, codes.DeadlineExceeded},
		{"plain", errors.New("disk on fire"), nil, driverpb.ErrorKind_ERROR_KIND_UNSPECIFIED, codes.Unknown},
		// The first sentinel in errorKinds wins when an error wraps two.
		{"joined", errors.Join(drivers.ErrNotFound, drivers.ErrNotSupported), drivers.ErrNotSupported, driverpb.ErrorKind_ERROR_KIND_NOT_SUPPORTED, codes.Unimplemented},
	}
	sentinels := []error{drivers.ErrNotSupported, drivers.ErrNotFound, drivers.ErrAlreadyExists, drivers.ErrInvalidConfig, drivers.ErrNotRunning, context.Canceled, context.DeadlineExceeded}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent := toStatus(tt.err, config)
			// On the wire: the status proto, details and all.
			st := status.FromProto(wire(t, status.Convert(sent).Proto()))
			if st.Code() != tt.code {
				t.Errorf("code %v, want %v", st.Code(), tt.code)
			}
			var detail *driverpb.Error
			for _, d := range st.Details() {
				if e, ok := d.(*driverpb.Error); ok {
					detail = e
				}
			}
			if detail == nil || detail.GetKind() != tt.kind {
				t.Errorf("detail %v, want an Error of kind %v", detail, tt.kind)
			}
			gotConfig, err := fromStatus(st.Err())
			if err.Error() != tt.err.Error() {
				t.Errorf("message %q, want the driver's %q", err, tt.err)
			}
			if string(gotConfig) != string(config) {
				t.Errorf("config %s, want %s", gotConfig, config)
			}
			for _, s := range sentinels {
				if got := errors.Is(err, s); got != (s == tt.sentinel) {
					t.Errorf("errors.Is(err, %q) = %v", s, got)
				}
			}
		})
	}
}

// TestStatusWithoutDetail: a status without the Error detail did not come
// from the driver's code, and says so, except that a canceled or timed-out
// call is the context's error and an Unknown one a plain driver error.
func TestStatusWithoutDetail(t *testing.T) {
	for _, tt := range []struct {
		name     string
		st       *status.Status
		msg      string
		sentinel error
	}{
		{"canceled", status.New(codes.Canceled, "context canceled"), "context canceled", context.Canceled},
		{"deadline", status.New(codes.DeadlineExceeded, "context deadline exceeded"), "context deadline exceeded", context.DeadlineExceeded},
		{"unknown", status.New(codes.Unknown, "disk on fire"), "disk on fire", nil},
		{"plugin gone", status.New(codes.Unavailable, "error reading from server: EOF"), "driver plugin: error reading from server: EOF", nil},
		// A sentinel's code alone does not make the sentinel: only the detail does.
		{"code without detail", status.New(codes.NotFound, "unknown service machine.driver.v1.Driver"), "driver plugin: unknown service machine.driver.v1.Driver", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			config, err := fromStatus(tt.st.Err())
			if config != nil || err.Error() != tt.msg {
				t.Errorf("fromStatus = %s, %q; want no config and %q", config, err, tt.msg)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("%v does not wrap %v", err, tt.sentinel)
			}
			if errors.Is(err, drivers.ErrNotFound) {
				t.Errorf("%v wraps ErrNotFound without a detail saying so", err)
			}
		})
	}
}

package plugin

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/machine-cli/machine/drivers"
	driverpb "github.com/machine-cli/machine/drivers/plugin/proto"
)

// errorKinds pairs the errors that keep their identity across the plugin
// boundary with their kinds in driver.proto and the status codes sent with
// them, checked in this order.
var errorKinds = []struct {
	err  error
	kind driverpb.ErrorKind
	code codes.Code
}{
	{drivers.ErrNotSupported, driverpb.ErrorKind_ERROR_KIND_NOT_SUPPORTED, codes.Unimplemented},
	{drivers.ErrNotFound, driverpb.ErrorKind_ERROR_KIND_NOT_FOUND, codes.NotFound},
	{drivers.ErrAlreadyExists, driverpb.ErrorKind_ERROR_KIND_ALREADY_EXISTS, codes.AlreadyExists},
	{drivers.ErrInvalidConfig, driverpb.ErrorKind_ERROR_KIND_INVALID_CONFIG, codes.InvalidArgument},
	{drivers.ErrNotRunning, driverpb.ErrorKind_ERROR_KIND_NOT_RUNNING, codes.FailedPrecondition},
	{context.Canceled, driverpb.ErrorKind_ERROR_KIND_CANCELED, codes.Canceled},
	{context.DeadlineExceeded, driverpb.ErrorKind_ERROR_KIND_DEADLINE_EXCEEDED, codes.DeadlineExceeded},
}

// toStatus turns a driver's error into a gRPC status error with the same
// message and an Error detail saying which sentinel it wraps and carrying
// config, the driver config after the failed call (nil: unchanged).
func toStatus(err error, config []byte) error {
	detail := &driverpb.Error{Kind: driverpb.ErrorKind_ERROR_KIND_UNSPECIFIED, Config: config}
	code := codes.Unknown
	for _, e := range errorKinds {
		if errors.Is(err, e.err) {
			detail.Kind, code = e.kind, e.code
			break
		}
	}
	st := status.New(code, err.Error())
	if withDetail, derr := st.WithDetails(detail); derr == nil {
		st = withDetail
	}
	return st.Err()
}

// fromStatus returns the driver config an error from a gRPC call carries in
// its Error detail (nil when none) and the driver's error: one with its
// message that wraps the sentinel the detail names. An error
// without that detail did not come from the driver: the call was canceled or
// timed out here, or the plugin failed (it died, it speaks another protocol).
func fromStatus(err error) ([]byte, error) {
	st, ok := status.FromError(err)
	if !ok {
		return nil, err
	}
	for _, d := range st.Details() {
		if e, ok := d.(*driverpb.Error); ok {
			return e.GetConfig(), &wrapError{msg: st.Message(), err: sentinelOf(e.GetKind())}
		}
	}
	switch st.Code() {
	case codes.Canceled:
		return nil, &wrapError{msg: st.Message(), err: context.Canceled}
	case codes.DeadlineExceeded:
		return nil, &wrapError{msg: st.Message(), err: context.DeadlineExceeded}
	case codes.Unknown:
		// A driver in another language that sent no detail: a plain error.
		return nil, &wrapError{msg: st.Message()}
	}
	return nil, &wrapError{msg: "driver plugin: " + st.Message(), err: err}
}

// sentinelOf returns the sentinel error of kind, nil for a plain error or a
// kind this side does not know.
func sentinelOf(kind driverpb.ErrorKind) error {
	for _, e := range errorKinds {
		if e.kind == kind {
			return e.err
		}
	}
	return nil
}

// wrapError is an error with a given message wrapping another error (or
// nothing) whose message it does not repeat.
type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string { return e.msg }
func (e *wrapError) Unwrap() error { return e.err }

package plugin

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/machine-cli/machine/drivers"
)

// errorCodes pairs the errors that keep their identity across the plugin
// boundary with their gRPC codes, checked in this order.
var errorCodes = []struct {
	err  error
	code codes.Code
}{
	{drivers.ErrNotSupported, codes.Unimplemented},
	{drivers.ErrNotFound, codes.NotFound},
	{drivers.ErrAlreadyExists, codes.AlreadyExists},
	{drivers.ErrInvalidConfig, codes.InvalidArgument},
	{drivers.ErrNotRunning, codes.FailedPrecondition},
	{context.Canceled, codes.Canceled},
	{context.DeadlineExceeded, codes.DeadlineExceeded},
}

// toStatus turns a driver's error into a gRPC status error with the same
// message and a code that says which sentinel it wraps.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			return status.Error(e.code, err.Error())
		}
	}
	return status.Error(codes.Unknown, err.Error())
}

// fromStatus turns an error from a gRPC call back into one with the driver's
// message that wraps the sentinel its code stands for.
func fromStatus(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	for _, e := range errorCodes {
		if st.Code() == e.code {
			return &wrapError{msg: st.Message(), err: e.err}
		}
	}
	if st.Code() == codes.Unknown {
		return &wrapError{msg: st.Message()}
	}
	// Transport trouble (the plugin died, ...): say where it came from.
	return &wrapError{msg: "driver plugin: " + st.Message(), err: err}
}

// wrapError is an error with a given message wrapping another error (or
// nothing) whose message it does not repeat.
type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string { return e.msg }
func (e *wrapError) Unwrap() error { return e.err }

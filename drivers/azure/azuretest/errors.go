package azuretest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Error is an ARM error as Azure sends it, {"error":{"code":...,
// "message":...}}, with the HTTP status it answers. A Hooks method may
// return one to choose the code a failed operation reports; any other
// error fails it as InternalExecutionError.
type Error struct {
	Status  int      `json:"-"`
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Target  string   `json:"target,omitempty"`
	Details []*Error `json:"details,omitempty"`
}

// Error gives the code and the message.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// errorf is an Error with status, code and a formatted message.
func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// asError turns what a hook returned into the Error an operation fails with.
func asError(err error) *Error {
	if e, ok := err.(*Error); ok {
		c := *e
		if c.Status == 0 {
			c.Status = http.StatusInternalServerError
		}
		return &c
	}
	return errorf(http.StatusInternalServerError, "InternalExecutionError", "An internal execution error occurred: %v", err)
}

// writeJSON answers status with v as JSON, as ARM does.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"InternalServerError","message":"the stand-in could not encode its answer"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// snapshot is v as JSON now: what a handler takes under s.mu to answer
// after letting go of it.
func snapshot(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`{"error":{"code":"InternalServerError","message":"the stand-in could not encode its answer"}}`)
	}
	return b
}

// writeError answers e in ARM's error envelope.
func writeError(w http.ResponseWriter, e *Error) {
	writeJSON(w, e.Status, struct {
		Error *Error `json:"error"`
	}{e})
}

// notFound is ARM's answer for a resource that is not there.
func notFound(typ, group, name string) *Error {
	return errorf(http.StatusNotFound, "ResourceNotFound",
		"The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
		typ, name, group)
}

// groupNotFound is ARM's answer for a request under a missing resource group.
func groupNotFound(group string) *Error {
	return errorf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", group)
}

// conflict is the network resource provider's answer to a write while an
// earlier long-running write of the resource, or of one it depends on, is
// still going.
func (s *Server) conflict(op *operation) *Error {
	return errorf(http.StatusConflict, "AnotherOperationInProgress",
		"Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: %s.", op.asyncURL)
}

// badReference is the answer for a reference to a resource that does not
// exist (or is in another region).
func badReference(ref, by string) *Error {
	return errorf(http.StatusBadRequest, "InvalidResourceReference",
		"Resource %s referenced by resource %s was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.",
		ref, by)
}

// missing is compute's answer for a required parameter left out.
func missing(param string) *Error {
	e := errorf(http.StatusBadRequest, "InvalidParameter", "Required parameter '%s' is missing (null).", param)
	e.Target = param
	return e
}

// invalidParam is compute's answer for a parameter it refuses.
func invalidParam(target, format string, args ...any) *Error {
	e := errorf(http.StatusBadRequest, "InvalidParameter", format, args...)
	e.Target = target
	return e
}

// locationNotAvailable is ARM's answer for a resource in a region the
// stand-in does not serve.
func (s *Server) locationNotAvailable(loc, typ string) *Error {
	return errorf(http.StatusBadRequest, "LocationNotAvailableForResourceType",
		"The provided location '%s' is not available for resource type '%s'. List of available regions for the resource type is '%s'.",
		loc, typ, strings.Join(s.opts.Locations, ","))
}

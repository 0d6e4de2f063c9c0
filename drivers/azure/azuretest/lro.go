package azuretest

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// Operation statuses, as the Azure-AsyncOperation endpoint spells them.
const (
	opInProgress = "InProgress"
	opSucceeded  = "Succeeded"
	opFailed     = "Failed"
)

// operation is a long-running operation: polled at asyncURL (its status)
// and locURL (its result).
type operation struct {
	id         string
	status     string
	err        *Error
	start, end time.Time
	statusID   string // ARM ID of the status resource
	asyncURL   string
	locURL     string
	result     int // status of locURL once succeeded: 200 or 204
}

// newOperation registers an operation of resource provider rp in loc;
// rp "" is an ARM-level operation (resource group deletion) with only a
// result URL; under s.mu.
func (s *Server) newOperation(sub, rp, loc, api string) *operation {
	id := newID()
	op := &operation{id: id, status: opInProgress, start: time.Now().UTC(), result: http.StatusOK}
	q := "?api-version=" + api
	if rp == "" {
		op.statusID = "/subscriptions/" + sub + "/operationresults/" + id
		op.locURL = s.url + op.statusID + q
		op.asyncURL = op.locURL
	} else {
		base := "/subscriptions/" + sub + "/providers/" + rp + "/locations/" + loc
		op.statusID = base + "/operations/" + id
		op.asyncURL = s.url + op.statusID + q
		op.locURL = s.url + base + "/operationResults/" + id + q
	}
	s.ops[key(id)] = op
	return op
}

// lroHeaders sets the polling headers of an operation's first answer:
// Azure-AsyncOperation (async) and Location (loc), with the retry delay.
func (s *Server) lroHeaders(w http.ResponseWriter, op *operation, async, loc bool) {
	h := w.Header()
	if async {
		h.Set("Azure-AsyncOperation", op.asyncURL)
	}
	if loc {
		h.Set("Location", op.locURL)
	}
	s.retryHeaders(h)
}

// retryHeaders asks a poller to wait Options.RetryAfter, in milliseconds
// and, for clients that only read Retry-After, in whole seconds.
func (s *Server) retryHeaders(h http.Header) {
	ms := s.opts.RetryAfter.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	h.Set("retry-after-ms", strconv.FormatInt(ms, 10))
	h.Set("Retry-After", strconv.FormatInt(max(1, (ms+999)/1000), 10))
}

// run finishes op in the background: after RetryAfter, work runs (outside
// s.mu; nil is no work), then done records its outcome under s.mu, and
// the operation ends Succeeded or Failed.
func (s *Server) run(op *operation, work func(context.Context) *Error, done func(*Error)) {
	s.work.Add(1)
	go func() {
		defer s.work.Done()
		var e *Error
		t := time.NewTimer(s.opts.RetryAfter)
		select {
		case <-t.C:
			if work != nil {
				e = work(s.ctx)
			}
		case <-s.ctx.Done():
			t.Stop()
			e = errorf(http.StatusInternalServerError, "InternalExecutionError", "The stand-in closed during the operation.")
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		done(e)
		op.end = time.Now().UTC()
		if e != nil {
			op.status, op.err = opFailed, e
			return
		}
		op.status = opSucceeded
	}()
}

// serveOperation answers a poll of an operation: its status document, or
// (result) 202 while it runs and then its outcome.
func (s *Server) serveOperation(w http.ResponseWriter, id string, result bool) {
	s.mu.Lock()
	op := s.ops[key(id)]
	var (
		status  string
		err     *Error
		start   time.Time
		end     time.Time
		code    int
		stateID string
	)
	if op != nil {
		status, err, start, end, code, stateID = op.status, op.err, op.start, op.end, op.result, op.statusID
	}
	s.mu.Unlock()
	if op == nil {
		writeError(w, errorf(http.StatusNotFound, "OperationNotFound", "The operation '%s' could not be found.", id))
		return
	}
	if result {
		switch status {
		case opInProgress:
			w.Header().Set("Location", op.locURL)
			s.retryHeaders(w.Header())
			w.WriteHeader(http.StatusAccepted)
		case opFailed:
			writeError(w, err)
		default:
			w.WriteHeader(code)
		}
		return
	}
	doc := map[string]any{
		"id":        stateID,
		"name":      op.id,
		"status":    status,
		"startTime": start.Format(time.RFC3339Nano),
	}
	if status == opInProgress {
		s.retryHeaders(w.Header())
	} else {
		doc["endTime"] = end.Format(time.RFC3339Nano)
	}
	if err != nil {
		doc["error"] = err
	}
	writeJSON(w, http.StatusOK, doc)
}

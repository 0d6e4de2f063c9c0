// Package provisiontest has a fake provision.Runner that records what is
// asked of the host and answers from canned responses.
package provisiontest

import (
	"context"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/machine-cli/machine/sshclient"
)

// Call is one request made of the host.
type Call struct {
	Method string // "Output", "Run" or "WriteFile"
	Cmd    string // Output and Run
	Stdin  string // Run
	Path   string // WriteFile
	Data   string // WriteFile
	Mode   os.FileMode
}

// Response is what a matching call gets. A non-zero Status is an exit
// status (Output returns it as *sshclient.ExitError); Err is a transport
// failure.
type Response struct {
	Stdout string
	Stderr string
	Status int
	Err    error
}

type rule struct {
	match string
	resp  func(Call) Response
}

// Runner is a fake provision.Runner; the zero value answers every call with
// success and no output. It is safe for concurrent use.
type Runner struct {
	mu    sync.Mutex
	calls []Call
	rules []*rule
}

// On answers calls whose command (or, for WriteFile, path) contains match
// with resp. Rules are tried in the order they were added.
func (r *Runner) On(match string, resp Response) {
	r.OnFunc(match, func(Call) Response { return resp })
}

// OnFunc answers calls matching as On does with what f returns (f may
// count calls or change its answer over time).
func (r *Runner) OnFunc(match string, f func(Call) Response) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rules = append(r.rules, &rule{match: match, resp: f})
}

// Calls returns the calls made so far, in order.
func (r *Runner) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

func (r *Runner) answer(c Call) Response {
	r.mu.Lock()
	r.calls = append(r.calls, c)
	key := c.Cmd
	if c.Method == "WriteFile" {
		key = c.Path
	}
	var f func(Call) Response
	for _, ru := range r.rules {
		if strings.Contains(key, ru.match) {
			f = ru.resp
			break
		}
	}
	r.mu.Unlock()
	if f == nil {
		return Response{}
	}
	return f(c)
}

// Output records the call and returns the matching response's stdout.
func (r *Runner) Output(ctx context.Context, cmd string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	resp := r.answer(Call{Method: "Output", Cmd: cmd})
	if resp.Err != nil {
		return nil, resp.Err
	}
	if resp.Status != 0 {
		return []byte(resp.Stdout), &sshclient.ExitError{Cmd: cmd, Status: resp.Status, Stderr: strings.TrimSpace(resp.Stderr)}
	}
	return []byte(resp.Stdout), nil
}

// Run records the call with what stdin held and writes the response.
func (r *Runner) Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	var in []byte
	if stdin != nil {
		in, _ = io.ReadAll(stdin)
	}
	resp := r.answer(Call{Method: "Run", Cmd: cmd, Stdin: string(in)})
	if resp.Err != nil {
		return -1, resp.Err
	}
	if stdout != nil {
		_, _ = io.WriteString(stdout, resp.Stdout)
	}
	if stderr != nil {
		_, _ = io.WriteString(stderr, resp.Stderr)
	}
	return resp.Status, nil
}

// WriteFile records the call; a response with Err or Status fails it.
func (r *Runner) WriteFile(ctx context.Context, path string, data []byte, mode os.FileMode) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	resp := r.answer(Call{Method: "WriteFile", Path: path, Data: string(data), Mode: mode})
	if resp.Err != nil {
		return resp.Err
	}
	if resp.Status != 0 {
		return &sshclient.ExitError{Cmd: "write " + path, Status: resp.Status, Stderr: resp.Stderr}
	}
	return nil
}

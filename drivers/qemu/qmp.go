package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// qmpTimeout bounds a QMP exchange when the caller's context has no
// deadline: QEMU's socket serves one client at a time, and a second one
// waits for the greeting until the first leaves.
const qmpTimeout = 10 * time.Second

// qmpClient speaks QEMU's machine protocol over its unix socket: one JSON
// object a line, a greeting, then commands answered by "return" or
// "error" with asynchronous "event"s in between. (github.com/digitalocean/
// go-qemu/qmp does this too, but without deadlines or contexts: its
// Connect waits for the greeting forever, which is what a second client of
// QEMU's one-client socket gets, and its Run blocks forever on a QEMU
// that does not answer. The four commands used here need no more.)
type qmpClient struct {
	conn net.Conn
	r    *bufio.Reader
}

// qmpReply is one line QEMU sends.
type qmpReply struct {
	QMP    json.RawMessage `json:"QMP"`
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
	Event string `json:"event"`
}

// dialQMP connects to the QMP socket at path and negotiates capabilities.
func dialQMP(ctx context.Context, path string) (*qmpClient, error) {
	conn, err := new(net.Dialer).DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("qmp: %w", err)
	}
	q := &qmpClient{conn: conn, r: bufio.NewReader(conn)}
	q.deadline(ctx)
	var greeting qmpReply
	if err := q.read(&greeting); err != nil || greeting.QMP == nil {
		conn.Close()
		return nil, fmt.Errorf("qmp %s: no greeting: %w", path, errors.Join(err, errors.New("not a QMP socket")))
	}
	if err := q.Execute(ctx, "qmp_capabilities", nil); err != nil {
		conn.Close()
		return nil, err
	}
	return q, nil
}

func (q *qmpClient) deadline(ctx context.Context) {
	d, ok := ctx.Deadline()
	if !ok {
		d = time.Now().Add(qmpTimeout)
	}
	_ = q.conn.SetDeadline(d)
}

func (q *qmpClient) read(v *qmpReply) error {
	line, err := q.r.ReadBytes('\n')
	if err != nil {
		return err
	}
	return json.Unmarshal(line, v)
}

// Execute runs command and decodes its "return" into out (when not nil).
func (q *qmpClient) Execute(ctx context.Context, command string, out any) error {
	q.deadline(ctx)
	req, _ := json.Marshal(map[string]string{"execute": command})
	if _, err := q.conn.Write(append(req, '\n')); err != nil {
		return fmt.Errorf("qmp %s: %w", command, err)
	}
	for {
		var r qmpReply
		if err := q.read(&r); err != nil {
			return fmt.Errorf("qmp %s: %w", command, err)
		}
		switch {
		case r.Event != "":
			continue
		case r.Error != nil:
			return fmt.Errorf("qmp %s: %s: %s", command, r.Error.Class, r.Error.Desc)
		case r.Return != nil:
			if out == nil {
				return nil
			}
			if err := json.Unmarshal(r.Return, out); err != nil {
				return fmt.Errorf("qmp %s: %w", command, err)
			}
			return nil
		}
	}
}

// Close ends the connection.
func (q *qmpClient) Close() error { return q.conn.Close() }

// quit asks QEMU to exit at once; QEMU may close the socket before its
// answer arrives, which counts as done.
func (q *qmpClient) quit(ctx context.Context) error {
	err := q.Execute(ctx, "quit", nil)
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Package sshtest runs a real SSH server on 127.0.0.1 for tests: it accepts
// one client key and runs the commands it is sent with /bin/sh -c on the
// local machine, with a PTY when the client asks for one, and serves the
// sftp subsystem (github.com/pkg/sftp's server) on the local file system.
package sshtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"github.com/creack/pty"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// Options configure a Server; the zero value is a fresh server.
type Options struct {
	// Addr to listen on; "127.0.0.1:0" when empty. Give a closed server's
	// Addr to bring up another "host" at the same address.
	Addr string
	// HostKey is the server's key; a new ed25519 key when nil.
	HostKey ssh.Signer
	// MoreHostKeys are further host keys (of other types) to offer.
	MoreHostKeys []ssh.Signer
	// ClientKey is the only key the server accepts; a new ed25519 key when
	// nil, written to Server.ClientKeyPath.
	ClientKey ssh.PublicKey
	// Env is added to the environment of the commands run.
	Env []string
}

// Server is a running test server. It stops when the test ends.
type Server struct {
	Addr string // 127.0.0.1:port
	Host string // 127.0.0.1
	Port int
	// HostKey is the server's public key.
	HostKey ssh.PublicKey
	// ClientKeyPath is a private key file the server accepts (empty when
	// Options.ClientKey was given).
	ClientKeyPath string

	// Resized receives each window size (cols, rows) sent by the client.
	Resized chan [2]int

	env  []string
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	cmds []string
	ptys []PTY
	conn map[net.Conn]bool
	done bool
}

// PTY is a terminal request the server received.
type PTY struct {
	Term       string
	Cols, Rows int
}

// NewHostKey returns a new ed25519 signer for Options.HostKey.
func NewHostKey(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// NewClientKey writes a new ed25519 private key (OpenSSH format) into a
// temporary directory and returns its path and public key.
func NewClientKey(t testing.TB) (string, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return path, sshPub
}

// NewServer starts a server; it is closed when the test ends.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.HostKey == nil {
		opts.HostKey = NewHostKey(t)
	}
	s := &Server{HostKey: opts.HostKey.PublicKey(), env: opts.Env, Resized: make(chan [2]int, 16), conn: map[net.Conn]bool{}}
	if opts.ClientKey == nil {
		s.ClientKeyPath, opts.ClientKey = NewClientKey(t)
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	s.Addr = ln.Addr().String()
	host, port, _ := net.SplitHostPort(s.Addr)
	s.Host = host
	s.Port, _ = strconv.Atoi(port)

	want := opts.ClientKey.Marshal()
	config := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) == string(want) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	config.AddHostKey(opts.HostKey)
	for _, k := range opts.MoreHostKeys {
		config.AddHostKey(k)
	}

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			if s.done {
				s.mu.Unlock()
				_ = c.Close()
				return
			}
			s.conn[c] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serveConn(c, config)
				s.mu.Lock()
				delete(s.conn, c)
				s.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server and drops its connections.
func (s *Server) Close() {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		return
	}
	s.done = true
	_ = s.ln.Close()
	for c := range s.conn {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Commands returns the commands run so far, in order.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cmds...)
}

// PTYs returns the terminal requests received so far.
func (s *Server) PTYs() []PTY {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]PTY(nil), s.ptys...)
}

func (s *Server) serveConn(c net.Conn, config *ssh.ServerConfig) {
	defer c.Close()
	sc, chans, reqs, err := ssh.NewServerConn(c, config)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	defer wg.Wait()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveSession(ch, creqs)
		}()
	}
}

type session struct {
	ch   ssh.Channel
	env  []string
	pty  *PTY
	ptmx *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
}

func (s *Server) serveSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	ss := &session{ch: ch, env: append(os.Environ(), s.env...)}
	exited := make(chan int, 1)
	for {
		select {
		case status := <-exited:
			_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(status)}))
			return
		case req, ok := <-reqs:
			if !ok {
				ss.kill()
				return
			}
			s.handle(ss, req, exited)
		}
	}
}

func (s *Server) handle(ss *session, req *ssh.Request, exited chan<- int) {
	reply := func(ok bool) {
		if req.WantReply {
			_ = req.Reply(ok, nil)
		}
	}
	switch req.Type {
	case "env":
		var kv struct{ Name, Value string }
		if ssh.Unmarshal(req.Payload, &kv) != nil {
			reply(false)
			return
		}
		ss.env = append(ss.env, kv.Name+"="+kv.Value)
		reply(true)
	case "pty-req":
		var p struct {
			Term                 string
			Cols, Rows, PxW, PxH uint32
			Modes                string
		}
		if ssh.Unmarshal(req.Payload, &p) != nil {
			reply(false)
			return
		}
		ss.pty = &PTY{Term: p.Term, Cols: int(p.Cols), Rows: int(p.Rows)}
		s.mu.Lock()
		s.ptys = append(s.ptys, *ss.pty)
		s.mu.Unlock()
		reply(true)
	case "window-change":
		var w struct{ Cols, Rows, PxW, PxH uint32 }
		if ssh.Unmarshal(req.Payload, &w) == nil {
			ss.mu.Lock()
			if ss.ptmx != nil {
				_ = pty.Setsize(ss.ptmx, &pty.Winsize{Cols: uint16(w.Cols), Rows: uint16(w.Rows)})
			}
			ss.mu.Unlock()
			select {
			case s.Resized <- [2]int{int(w.Cols), int(w.Rows)}:
			default:
			}
		}
		reply(true)
	case "signal":
		var sig struct{ Name string }
		_ = ssh.Unmarshal(req.Payload, &sig)
		ss.signal(sig.Name)
		reply(true)
	case "exec", "shell":
		var cmdline string
		if req.Type == "exec" {
			var e struct{ Command string }
			if ssh.Unmarshal(req.Payload, &e) != nil {
				reply(false)
				return
			}
			cmdline = e.Command
		}
		s.mu.Lock()
		s.cmds = append(s.cmds, cmdline)
		s.mu.Unlock()
		if err := ss.start(cmdline, exited); err != nil {
			reply(false)
			return
		}
		reply(true)
	case "subsystem":
		var sub struct{ Name string }
		if ssh.Unmarshal(req.Payload, &sub) != nil || sub.Name != "sftp" {
			reply(false)
			return
		}
		srv, err := sftp.NewServer(ss.ch)
		if err != nil {
			reply(false)
			return
		}
		s.mu.Lock()
		s.cmds = append(s.cmds, "subsystem sftp")
		s.mu.Unlock()
		reply(true)
		go func() {
			status := 0
			if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
				status = 1
			}
			exited <- status
		}()
	default:
		reply(false)
	}
}

// start runs cmdline (a login shell when empty) and reports its status on
// exited once its output has been sent.
func (ss *session) start(cmdline string, exited chan<- int) error {
	var cmd *exec.Cmd
	if cmdline == "" {
		cmd = exec.Command("/bin/sh", "-i")
	} else {
		cmd = exec.Command("/bin/sh", "-c", cmdline)
	}
	cmd.Env = ss.env
	var outputs sync.WaitGroup
	if ss.pty != nil {
		cmd.Env = append(cmd.Env, "TERM="+ss.pty.Term)
		ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(ss.pty.Cols), Rows: uint16(ss.pty.Rows)})
		if err != nil {
			return err
		}
		ss.mu.Lock()
		ss.ptmx, ss.cmd = ptmx, cmd
		ss.mu.Unlock()
		go func() { _, _ = io.Copy(ptmx, ss.ch) }()
		outputs.Add(1)
		go func() {
			defer outputs.Done()
			_, _ = io.Copy(ss.ch, ptmx) // ends with EIO once the child is gone
		}()
	} else {
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return err
		}
		cmd.Stdout = ss.ch
		cmd.Stderr = ss.ch.Stderr()
		if err := cmd.Start(); err != nil {
			return err
		}
		ss.mu.Lock()
		ss.cmd = cmd
		ss.mu.Unlock()
		go func() {
			_, _ = io.Copy(stdin, ss.ch)
			_ = stdin.Close()
		}()
	}
	go func() {
		err := cmd.Wait()
		outputs.Wait()
		if ss.ptmx != nil {
			_ = ss.ptmx.Close()
		}
		status := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			status = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				status = 128 + int(ws.Signal())
			}
		} else if err != nil {
			status = 255
		}
		exited <- status
	}()
	return nil
}

func (ss *session) signal(name string) {
	sigs := map[string]syscall.Signal{"TERM": syscall.SIGTERM, "KILL": syscall.SIGKILL, "INT": syscall.SIGINT, "HUP": syscall.SIGHUP}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if sig, ok := sigs[name]; ok && ss.cmd != nil && ss.cmd.Process != nil {
		_ = ss.cmd.Process.Signal(sig)
	}
}

// kill ends the command of a session the client closed.
func (ss *session) kill() { ss.signal("KILL") }

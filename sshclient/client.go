// Package sshclient is machine's SSH client: one connection to a machine,
// reused for many commands, with a host-key policy that docker-machine never
// had (trust on first use, or a key the user pinned, then verify every time).
package sshclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// DefaultDialTimeout bounds the TCP connect, and separately the SSH
// handshake, when Config.DialTimeout is zero.
const DefaultDialTimeout = 5 * time.Second

// ErrPermissionDenied is wrapped by Dial's error when the server refused
// every key offered.
var ErrPermissionDenied = errors.New("ssh: permission denied")

// Config says where and how to connect.
type Config struct {
	Host string
	Port int // 22 when zero
	User string
	// KeyPath is a private key file (ed25519, RSA or ECDSA, OpenSSH or PEM
	// format). When empty, the keys of the agent at SSH_AUTH_SOCK are used.
	KeyPath string
	// KnownHostsPath is the machine's own known_hosts file (OpenSSH format;
	// required). When it does not exist (or holds no key), the key the host
	// presents is trusted and recorded there (0600, atomically); otherwise
	// the host must present a key the file holds. A key the file holds for
	// another address is accepted and recorded for the new one (a VM whose
	// address changed).
	KnownHostsPath string
	// HostKey optionally pins the host's key ("ssh-ed25519 AAAA..."): the
	// host must present exactly this key, which is then recorded instead of
	// trusting the first key seen.
	HostKey string
	// DialTimeout bounds the TCP connect and, separately, the handshake
	// (DefaultDialTimeout when zero).
	DialTimeout time.Duration
}

// Client is an open SSH connection. It is safe for concurrent use: each
// command runs in its own session on the one connection.
type Client struct {
	c    *ssh.Client
	addr string
}

// Dial connects, verifies the host key and authenticates. Cancelling ctx
// aborts the connect and the handshake. Errors name the address; a refused
// host key is *HostKeyChangedError or wraps ErrHostKeyMismatch, a refused
// login wraps ErrPermissionDenied.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Host == "" || cfg.User == "" {
		return nil, errors.New("ssh: host and user are required")
	}
	if cfg.Port == 0 {
		cfg.Port = 22
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))

	policy, err := newHostKeyPolicy(cfg.KnownHostsPath, cfg.HostKey, addr)
	if err != nil {
		return nil, err
	}
	auth, authDesc, closeAuth, err := authMethods(cfg.KeyPath)
	if err != nil {
		return nil, err
	}
	defer closeAuth()

	d := net.Dialer{Timeout: cfg.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ssh: connect to %s: %w", addr, context.Cause(ctx))
		}
		return nil, fmt.Errorf("ssh: cannot reach %s: %w", addr, dialReason(err))
	}

	config := &ssh.ClientConfig{
		User:              cfg.User,
		Auth:              auth,
		HostKeyCallback:   policy.check,
		HostKeyAlgorithms: policy.algorithms(conn.RemoteAddr()),
	}
	_ = conn.SetDeadline(time.Now().Add(cfg.DialTimeout))
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, config)
	if !stop() || err != nil {
		_ = conn.Close()
		if sc != nil {
			_ = sc.Close()
		}
		return nil, handshakeError(ctx, err, addr, cfg.User, authDesc, cfg.DialTimeout)
	}
	_ = conn.SetDeadline(time.Time{})
	if err := policy.commit(); err != nil {
		_ = sc.Close()
		return nil, err
	}
	return &Client{c: ssh.NewClient(sc, chans, reqs), addr: addr}, nil
}

// Addr is the host:port the client is connected to.
func (c *Client) Addr() string { return c.addr }

// Close closes the connection and every session on it.
func (c *Client) Close() error { return c.c.Close() }

// authMethods returns the ways to authenticate, a description of them for
// errors ("key /x/id_rsa") and a func that releases what they hold.
func authMethods(keyPath string) ([]ssh.AuthMethod, string, func(), error) {
	noop := func() {}
	if keyPath != "" {
		data, err := os.ReadFile(keyPath)
		if err != nil {
			return nil, "", noop, fmt.Errorf("ssh: read key: %w", err)
		}
		signer, err := ssh.ParsePrivateKey(data)
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			// An encrypted key: its agent may hold it unlocked.
			m, closeAgent, aerr := agentAuth()
			if aerr != nil {
				return nil, "", noop, fmt.Errorf("ssh: key %s is protected by a passphrase: add it to ssh-agent (SSH_AUTH_SOCK) and try again", keyPath)
			}
			return []ssh.AuthMethod{m}, "key " + keyPath + " (from ssh-agent)", closeAgent, nil
		}
		if err != nil {
			return nil, "", noop, fmt.Errorf("ssh: parse key %s: %w", keyPath, err)
		}
		return []ssh.AuthMethod{ssh.PublicKeys(signer)}, "key " + keyPath, noop, nil
	}
	// No key given: as OpenSSH does, ssh-agent's keys and then the user's
	// default keys (those without a passphrase).
	var (
		methods []ssh.AuthMethod
		descs   []string
	)
	m, closeAgent, agentErr := agentAuth()
	if agentErr == nil {
		methods, descs = append(methods, m), append(descs, "the keys of ssh-agent")
	} else {
		closeAgent = noop
	}
	var signers []ssh.Signer
	for _, path := range defaultKeyPaths() {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if signer, err := ssh.ParsePrivateKey(data); err == nil {
			signers = append(signers, signer)
			descs = append(descs, "key "+path)
		}
	}
	if len(signers) > 0 {
		methods = append(methods, ssh.PublicKeys(signers...))
	}
	if len(methods) == 0 {
		return nil, "", noop, fmt.Errorf("ssh: no key given, %v, and no default key (~/.ssh/id_ed25519, id_ecdsa, id_rsa) without a passphrase; pass a key (--generic-ssh-key)", agentErr)
	}
	return methods, strings.Join(descs, ", "), closeAgent, nil
}

// defaultKeyPaths are the private keys OpenSSH tries when none is given.
func defaultKeyPaths() []string {
	home, err := os.UserHomeDir()
	if err != nil {
		return nil
	}
	var out []string
	for _, f := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
		out = append(out, filepath.Join(home, ".ssh", f))
	}
	return out
}

func agentAuth() (ssh.AuthMethod, func(), error) {
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, nil, errors.New("SSH_AUTH_SOCK is not set")
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach ssh-agent: %w", err)
	}
	return ssh.PublicKeysCallback(agent.NewClient(conn).Signers), func() { _ = conn.Close() }, nil
}

// dialReason strips net.OpError's repetition of the address ("dial tcp
// 127.0.0.1:22: connect: connection refused" -> "connection refused") while
// keeping the cause in the chain.
func dialReason(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		var sys *os.SyscallError
		if errors.As(op.Err, &sys) {
			return sys.Err
		}
		return op.Err
	}
	return err
}

func handshakeError(ctx context.Context, err error, addr, user, authDesc string, timeout time.Duration) error {
	if ctx.Err() != nil {
		return fmt.Errorf("ssh: connect to %s: %w", addr, context.Cause(ctx))
	}
	var changed *HostKeyChangedError
	if errors.As(err, &changed) || errors.Is(err, ErrHostKeyMismatch) {
		return unwrapHandshake(err)
	}
	if strings.Contains(err.Error(), "unable to authenticate") {
		return fmt.Errorf("%w for %s@%s with %s", ErrPermissionDenied, user, addr, authDesc)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("ssh: no SSH handshake with %s within %s (is an SSH server listening there?): %w", addr, timeout, err)
	}
	return fmt.Errorf("ssh: handshake with %s: %w", addr, unwrapHandshake(err))
}

// unwrapHandshake drops x/crypto's "ssh: handshake failed: " prefix, whose
// wrapping (%w) keeps the cause.
func unwrapHandshake(err error) error {
	if u := errors.Unwrap(err); u != nil && strings.HasPrefix(err.Error(), "ssh: handshake failed: ") {
		return u
	}
	return err
}

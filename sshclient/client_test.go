package sshclient_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/machine-cli/machine/sshclient"
	"github.com/machine-cli/machine/sshclient/sshtest"
)

func config(t *testing.T, srv *sshtest.Server, knownHosts string) sshclient.Config {
	t.Helper()
	return sshclient.Config{
		Host: srv.Host, Port: srv.Port, User: "root",
		KeyPath: srv.ClientKeyPath, KnownHostsPath: knownHosts,
	}
}

func dial(t *testing.T, cfg sshclient.Config) *sshclient.Client {
	t.Helper()
	c, err := sshclient.Dial(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func authorized(k ssh.PublicKey) string { return string(ssh.MarshalAuthorizedKey(k)) }

func TestTrustOnFirstUse(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	kh := filepath.Join(t.TempDir(), "machines", "m1", "known_hosts")
	c := dial(t, config(t, srv, kh))
	_ = c.Close()

	data, err := os.ReadFile(kh)
	if err != nil {
		t.Fatalf("known_hosts not written: %v", err)
	}
	want := knownhosts.Line([]string{knownhosts.Normalize(srv.Addr)}, srv.HostKey) + "\n"
	if string(data) != want {
		t.Errorf("known_hosts = %q, want %q", data, want)
	}
	if fi, _ := os.Stat(kh); fi.Mode().Perm() != 0o600 {
		t.Errorf("known_hosts mode = %v, want 0600", fi.Mode().Perm())
	}

	// The same host again: verified against the file, which is unchanged.
	dial(t, config(t, srv, kh))
	if again, _ := os.ReadFile(kh); string(again) != want {
		t.Errorf("known_hosts rewritten: %q", again)
	}
}

func TestHostKeyChanged(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	kh := filepath.Join(t.TempDir(), "known_hosts")
	dial(t, config(t, srv, kh)).Close()
	srv.Close()

	// Another host (new host key) at the same address, same client key.
	_, clientPub := keyPair(t, srv.ClientKeyPath)
	srv2 := sshtest.NewServer(t, sshtest.Options{Addr: srv.Addr, ClientKey: clientPub})
	cfg := config(t, srv2, kh)
	cfg.KeyPath = srv.ClientKeyPath
	_, err := sshclient.Dial(t.Context(), cfg)
	var changed *sshclient.HostKeyChangedError
	if !errors.As(fmt.Errorf("wrapped: %w", err), &changed) {
		t.Fatalf("Dial error = %v, want *HostKeyChangedError", err)
	}
	if changed.Host != srv.Addr || changed.Path != kh ||
		changed.Got != ssh.FingerprintSHA256(srv2.HostKey) || changed.Want != ssh.FingerprintSHA256(srv.HostKey) {
		t.Errorf("error fields = %+v", changed)
	}
	msg := err.Error()
	for _, want := range []string{srv.Addr, kh, "remove " + kh, changed.Got, changed.Want, "attack"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("message is not one line: %q", msg)
	}
}

func TestKnownKeyAtNewAddress(t *testing.T) {
	hostKey := sshtest.NewHostKey(t)
	srv := sshtest.NewServer(t, sshtest.Options{HostKey: hostKey})
	kh := filepath.Join(t.TempDir(), "known_hosts")
	dial(t, config(t, srv, kh)).Close()

	// The machine came back on another port (a VM's new address): same key.
	_, clientPub := keyPair(t, srv.ClientKeyPath)
	srv2 := sshtest.NewServer(t, sshtest.Options{HostKey: hostKey, ClientKey: clientPub})
	cfg := config(t, srv2, kh)
	cfg.KeyPath = srv.ClientKeyPath
	dial(t, cfg)
	data, _ := os.ReadFile(kh)
	if n := strings.Count(string(data), "\n"); n != 2 {
		t.Errorf("known_hosts has %d lines, want 2:\n%s", n, data)
	}

	// A different key at a new address is refused.
	srv3 := sshtest.NewServer(t, sshtest.Options{ClientKey: clientPub})
	cfg = config(t, srv3, kh)
	cfg.KeyPath = srv.ClientKeyPath
	_, err := sshclient.Dial(t.Context(), cfg)
	var changed *sshclient.HostKeyChangedError
	if !errors.As(err, &changed) {
		t.Fatalf("Dial error = %v, want *HostKeyChangedError", err)
	}
}

func TestPinnedHostKey(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	t.Run("match is recorded", func(t *testing.T) {
		kh := filepath.Join(t.TempDir(), "known_hosts")
		cfg := config(t, srv, kh)
		cfg.HostKey = authorized(srv.HostKey)
		dial(t, cfg)
		data, _ := os.ReadFile(kh)
		if !strings.Contains(string(data), strings.TrimSpace(authorized(srv.HostKey))) {
			t.Errorf("known_hosts = %q, want the pinned key", data)
		}
	})
	t.Run("mismatch is refused", func(t *testing.T) {
		kh := filepath.Join(t.TempDir(), "known_hosts")
		cfg := config(t, srv, kh)
		cfg.HostKey = authorized(sshtest.NewHostKey(t).PublicKey())
		_, err := sshclient.Dial(t.Context(), cfg)
		if !errors.Is(err, sshclient.ErrHostKeyMismatch) {
			t.Fatalf("Dial error = %v, want ErrHostKeyMismatch", err)
		}
		if !strings.Contains(err.Error(), ssh.FingerprintSHA256(srv.HostKey)) {
			t.Errorf("message %q lacks the presented fingerprint", err)
		}
		if _, err := os.Stat(kh); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("known_hosts written after a refused key: %v", err)
		}
	})
	t.Run("bad key text", func(t *testing.T) {
		cfg := config(t, srv, filepath.Join(t.TempDir(), "known_hosts"))
		cfg.HostKey = "ssh-ed25519 notbase64"
		if _, err := sshclient.Dial(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "parse host key") {
			t.Fatalf("Dial error = %v, want a parse error", err)
		}
	})
}

func TestPermissionDenied(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	kh := filepath.Join(t.TempDir(), "known_hosts")
	cfg := config(t, srv, kh)
	cfg.KeyPath, _ = sshtest.NewClientKey(t)
	_, err := sshclient.Dial(t.Context(), cfg)
	if !errors.Is(err, sshclient.ErrPermissionDenied) {
		t.Fatalf("Dial error = %v, want ErrPermissionDenied", err)
	}
	want := "ssh: permission denied for root@" + srv.Addr + " with key " + cfg.KeyPath
	if err.Error() != want {
		t.Errorf("message = %q, want %q", err, want)
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	_ = ln.Close()
	keyPath, _ := sshtest.NewClientKey(t)
	start := time.Now()
	_, err = sshclient.Dial(t.Context(), sshclient.Config{
		Host: "127.0.0.1", Port: addr.Port, User: "root", KeyPath: keyPath,
		KnownHostsPath: filepath.Join(t.TempDir(), "known_hosts"),
	})
	if err == nil {
		t.Fatal("Dial to a closed port succeeded")
	}
	if !strings.Contains(err.Error(), "127.0.0.1:"+strconv.Itoa(addr.Port)) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("message %q should name the address and the reason", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestHandshakeTimeoutAndCancel(t *testing.T) {
	// A listener that accepts and never speaks SSH.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	keyPath, _ := sshtest.NewClientKey(t)
	cfg := sshclient.Config{
		Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, User: "root", KeyPath: keyPath,
		KnownHostsPath: filepath.Join(t.TempDir(), "known_hosts"),
	}

	t.Run("timeout", func(t *testing.T) {
		cfg := cfg
		cfg.DialTimeout = 200 * time.Millisecond
		start := time.Now()
		_, err := sshclient.Dial(t.Context(), cfg)
		if err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
			t.Fatalf("Dial error = %v, want one naming the address", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := sshclient.Dial(ctx, cfg)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Dial error = %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
	})
}

func TestOutputAndRun(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	c := dial(t, config(t, srv, filepath.Join(t.TempDir(), "known_hosts")))
	ctx := t.Context()

	out, err := c.Output(ctx, "echo hello; echo noise >&2")
	if err != nil || string(out) != "hello\n" {
		t.Fatalf("Output = %q, %v", out, err)
	}

	_, err = c.Output(ctx, "echo partial; for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line$i >&2; done; exit 3")
	var exit *sshclient.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("Output error = %v, want *ExitError", err)
	}
	if exit.Status != 3 || !strings.HasSuffix(exit.Stderr, "line12") {
		t.Errorf("ExitError = %+v", exit)
	}
	msg := err.Error()
	if !strings.Contains(msg, "status 3") || !strings.Contains(msg, "line12") || strings.Contains(msg, "line2\n") {
		t.Errorf("message %q should hold the status and the last stderr lines", msg)
	}

	var stdout, stderr bytes.Buffer
	status, err := c.Run(ctx, "cat; echo err >&2; exit 7", strings.NewReader("from stdin"), &stdout, &stderr)
	if err != nil || status != 7 || stdout.String() != "from stdin" || stderr.String() != "err\n" {
		t.Errorf("Run = %d, %v; stdout %q stderr %q", status, err, stdout.String(), stderr.String())
	}
	status, err = c.Run(ctx, "true", nil, nil, nil)
	if err != nil || status != 0 {
		t.Errorf("Run(true) = %d, %v", status, err)
	}
	// Many sessions over the one connection.
	for i := range 20 {
		out, err := c.Output(ctx, "echo "+strconv.Itoa(i))
		if err != nil || strings.TrimSpace(string(out)) != strconv.Itoa(i) {
			t.Fatalf("Output #%d = %q, %v", i, out, err)
		}
	}
}

func TestRunCancel(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	c := dial(t, config(t, srv, filepath.Join(t.TempDir(), "known_hosts")))
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Run(ctx, "sleep 30", nil, nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run error = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	// The connection still works.
	if out, err := c.Output(t.Context(), "echo ok"); err != nil || string(out) != "ok\n" {
		t.Errorf("Output after cancel = %q, %v", out, err)
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	sudoEnv, sudoBin := fakeNonRoot(t)
	for _, tc := range []struct {
		name string
		env  []string
	}{
		{name: "root"},
		{name: "sudo", env: sudoEnv},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := sshtest.NewServer(t, sshtest.Options{Env: tc.env})
			c := dial(t, config(t, srv, filepath.Join(t.TempDir(), "known_hosts")))
			target := filepath.Join(dir, tc.name, "sub dir", "it's.pem")
			data := []byte("secret\nwith 'quotes' and $HOME\n")
			if err := c.WriteFile(t.Context(), target, data, 0o600); err != nil {
				t.Fatalf("WriteFile: %v", err)
			}
			got, err := os.ReadFile(target)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("content = %q, %v", got, err)
			}
			if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o600 {
				t.Errorf("mode = %v", fi.Mode().Perm())
			}
			// Overwrite with another mode; no temp file is left behind.
			if err := c.WriteFile(t.Context(), target, []byte("v2"), 0o644); err != nil {
				t.Fatal(err)
			}
			if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o644 {
				t.Errorf("mode = %v", fi.Mode().Perm())
			}
			entries, _ := os.ReadDir(filepath.Dir(target))
			if len(entries) != 1 {
				t.Errorf("directory holds %d entries, want 1", len(entries))
			}
			if tc.env != nil {
				log, _ := os.ReadFile(filepath.Join(sudoBin, "sudo.log"))
				if !strings.HasPrefix(string(log), "-n sh -c") {
					t.Errorf("sudo not used: log %q", log)
				}
			}
		})
	}
	t.Run("sudo refused", func(t *testing.T) {
		env, binDir := fakeNonRoot(t)
		if err := os.WriteFile(filepath.Join(binDir, "sudo"), []byte("#!/bin/sh\necho 'sudo: a password is required' >&2\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		srv := sshtest.NewServer(t, sshtest.Options{Env: env})
		c := dial(t, config(t, srv, filepath.Join(t.TempDir(), "known_hosts")))
		err := c.WriteFile(t.Context(), filepath.Join(dir, "nope"), []byte("x"), 0o644)
		var exit *sshclient.ExitError
		if !errors.As(err, &exit) || !strings.Contains(err.Error(), "a password is required") {
			t.Fatalf("WriteFile error = %v", err)
		}
	})
}

// fakeNonRoot returns an environment in which `id -u` says 1000 and `sudo`
// logs its arguments to BIN/sudo.log and runs the command after -n. It
// returns the environment and BIN.
func fakeNonRoot(t *testing.T) ([]string, string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, script string) {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("id", "#!/bin/sh\necho 1000\n")
	write("sudo", "#!/bin/sh\necho \"$*\" | head -c 8 > "+filepath.Join(bin, "sudo.log")+"\n[ \"$1\" = -n ] || exit 1\nshift\nexec \"$@\"\n")
	return []string{"PATH=" + bin + ":" + os.Getenv("PATH")}, bin
}

// keyPair reads the public half of a private key file.
func keyPair(t *testing.T, path string) (ssh.Signer, ssh.PublicKey) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.ParsePrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	return s, s.PublicKey()
}

func TestRecordedKeyTypePreferred(t *testing.T) {
	ecdsaKey := ecdsaSigner(t)
	srv := sshtest.NewServer(t, sshtest.Options{HostKey: ecdsaKey})
	kh := filepath.Join(t.TempDir(), "known_hosts")
	dial(t, config(t, srv, kh)).Close()
	srv.Close()

	// The same host now also offers an ed25519 key, preferred on first use:
	// the recorded ECDSA key must still be the one checked.
	_, clientPub := keyPair(t, srv.ClientKeyPath)
	srv2 := sshtest.NewServer(t, sshtest.Options{Addr: srv.Addr, HostKey: sshtest.NewHostKey(t), MoreHostKeys: []ssh.Signer{ecdsaKey}, ClientKey: clientPub})
	cfg := config(t, srv2, kh)
	cfg.KeyPath = srv.ClientKeyPath
	dial(t, cfg)

	// A host with only a key of another type is reported as changed.
	srv2.Close()
	srv3 := sshtest.NewServer(t, sshtest.Options{Addr: srv.Addr, ClientKey: clientPub})
	_, err := sshclient.Dial(t.Context(), cfg)
	var changed *sshclient.HostKeyChangedError
	if !errors.As(err, &changed) || changed.Got != ssh.FingerprintSHA256(srv3.HostKey) {
		t.Fatalf("Dial error = %v, want *HostKeyChangedError", err)
	}
}

func TestFirstUsePrefersEd25519(t *testing.T) {
	edKey := sshtest.NewHostKey(t)
	srv := sshtest.NewServer(t, sshtest.Options{HostKey: rsaSigner(t), MoreHostKeys: []ssh.Signer{ecdsaSigner(t), edKey}})
	kh := filepath.Join(t.TempDir(), "known_hosts")
	dial(t, config(t, srv, kh))
	data, _ := os.ReadFile(kh)
	if !strings.Contains(string(data), strings.TrimSpace(authorized(edKey.PublicKey()))) {
		t.Errorf("known_hosts = %q, want the ed25519 key", data)
	}
}

func TestRSAKeys(t *testing.T) {
	rsaHost := rsaSigner(t)
	clientPath, clientPub := writeRSAClientKey(t)
	srv := sshtest.NewServer(t, sshtest.Options{HostKey: rsaHost, ClientKey: clientPub})
	kh := filepath.Join(t.TempDir(), "known_hosts")
	cfg := config(t, srv, kh)
	cfg.KeyPath = clientPath
	dial(t, cfg).Close()
	c := dial(t, cfg) // verified against the recorded RSA key
	if out, err := c.Output(t.Context(), "echo rsa"); err != nil || string(out) != "rsa\n" {
		t.Errorf("Output = %q, %v", out, err)
	}
}

func ecdsaSigner(t *testing.T) ssh.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func rsaSigner(t *testing.T) ssh.Signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeRSAClientKey writes an RSA key in the old PEM (PKCS#1) format.
func writeRSAClientKey(t *testing.T) (string, ssh.PublicKey) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "id_rsa")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return path, pub
}

// startAgent serves an ssh-agent holding key on a socket and points
// SSH_AUTH_SOCK at it.
func startAgent(t *testing.T, key any) {
	t.Helper()
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = agent.ServeAgent(keyring, c)
			}()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
}

func TestAgentAuth(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	pub, _ := ssh.NewPublicKey(priv.Public())
	srv := sshtest.NewServer(t, sshtest.Options{ClientKey: pub})
	kh := filepath.Join(t.TempDir(), "known_hosts")

	t.Run("no agent", func(t *testing.T) {
		t.Setenv("SSH_AUTH_SOCK", "")
		cfg := config(t, srv, kh)
		_, err := sshclient.Dial(t.Context(), cfg)
		if err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK") {
			t.Fatalf("Dial error = %v", err)
		}
	})
	t.Run("agent key", func(t *testing.T) {
		startAgent(t, priv)
		dial(t, config(t, srv, kh))
	})
	t.Run("encrypted key file, unlocked in the agent", func(t *testing.T) {
		startAgent(t, priv)
		block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("secret"))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "id_ed25519")
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := config(t, srv, kh)
		cfg.KeyPath = path
		dial(t, cfg)

		t.Setenv("SSH_AUTH_SOCK", "")
		_, err = sshclient.Dial(t.Context(), cfg)
		if err == nil || !strings.Contains(err.Error(), "protected by a passphrase") {
			t.Fatalf("Dial error = %v", err)
		}
	})
	t.Run("agent without the key", func(t *testing.T) {
		_, other, _ := ed25519.GenerateKey(rand.Reader)
		startAgent(t, other)
		_, err := sshclient.Dial(t.Context(), config(t, srv, kh))
		if !errors.Is(err, sshclient.ErrPermissionDenied) || !strings.Contains(err.Error(), "root@"+srv.Addr+" with the keys of ssh-agent") {
			t.Fatalf("Dial error = %v", err)
		}
	})
}

// TestDefaultKeys: with no key given and no agent, the user's default keys
// (~/.ssh/id_ed25519, id_ecdsa, id_rsa) are tried, as OpenSSH does.
func TestDefaultKeys(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	t.Setenv("SSH_AUTH_SOCK", "")
	tests := []struct {
		name    string
		key     string // file under ~/.ssh holding the server's client key, "" for none
		wantErr string
	}{
		{"id_ed25519", "id_ed25519", ""},
		{"id_rsa", "id_rsa", ""},
		{"no key at all", "", "no key given"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			t.Setenv("HOME", home)
			if tc.key != "" {
				data, err := os.ReadFile(srv.ClientKeyPath)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(home, ".ssh", tc.key), data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfg := config(t, srv, filepath.Join(t.TempDir(), "known_hosts"))
			cfg.KeyPath = ""
			c, err := sshclient.Dial(t.Context(), cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Dial = %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Dial with the default key: %v", err)
			}
			c.Close()
		})
	}
}

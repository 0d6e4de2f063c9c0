package sshclient

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/machine-cli/machine/internal/fsutil"
)

// ErrHostKeyMismatch is wrapped by Dial's error when the host presents a key
// other than Config.HostKey.
var ErrHostKeyMismatch = errors.New("ssh: host key does not match the given key")

// HostKeyChangedError means the host presented a key that the machine's
// known_hosts file does not hold: the host was rebuilt, or someone is
// intercepting the connection.
type HostKeyChangedError struct {
	Host string // host:port dialed
	Path string // the known_hosts file
	Want string // fingerprint(s) recorded, "SHA256:..." (", "-separated)
	Got  string // fingerprint presented, "SHA256:..."
}

// Error says what changed, that it may be an attack, and how to accept the
// new key deliberately, on one line.
func (e *HostKeyChangedError) Error() string {
	return fmt.Sprintf("ssh: host key of %s changed (got %s, recorded %s): this may be an attack (someone intercepting the connection); if the host was rebuilt on purpose, remove %s and connect again",
		e.Host, e.Got, e.Want, e.Path)
}

// hostKeyPolicy checks the key a host presents and, after a successful
// handshake, records what must be recorded.
type hostKeyPolicy struct {
	path     string
	addr     string
	pinned   ssh.PublicKey
	existing []byte              // the file's content; nil when it has no key
	fileKeys []ssh.PublicKey     // every plain host key in the file
	known    ssh.HostKeyCallback // knownhosts over the file
	record   ssh.PublicKey       // to append to the file on commit
}

func newHostKeyPolicy(path, pinned, addr string) (*hostKeyPolicy, error) {
	if path == "" {
		return nil, errors.New("ssh: a known_hosts path is required")
	}
	p := &hostKeyPolicy{path: path, addr: addr}
	if pinned != "" {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(pinned))
		if err != nil {
			return nil, fmt.Errorf("ssh: parse host key %q: %w", pinned, err)
		}
		p.pinned = k
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ssh: read known hosts: %w", err)
	}
	p.fileKeys = plainKeys(data)
	if len(p.fileKeys) == 0 {
		return p, nil // nothing recorded yet: as if the file did not exist
	}
	p.known, err = knownhosts.New(path)
	if err != nil {
		return nil, fmt.Errorf("ssh: read known hosts: %w", err)
	}
	p.existing = data
	return p, nil
}

// plainKeys lists the host keys of a known_hosts file, skipping markers
// (@revoked, @cert-authority) and lines that do not parse.
func plainKeys(data []byte) []ssh.PublicKey {
	var keys []ssh.PublicKey
	for line := range bytes.Lines(data) {
		marker, _, key, _, _, err := ssh.ParseKnownHosts(line)
		if err == nil && marker == "" {
			keys = append(keys, key)
		}
	}
	return keys
}

// algorithms lists the host key algorithms to offer: those of the keys we
// expect first, so that the server presents a key of a recorded type when it
// has one (otherwise an ECDSA record would look "changed" when the server
// prefers to show its ed25519 key). Other plain key types stay allowed, so a
// host that really changed its key type is reported as changed rather than
// as a failed negotiation. Host certificates are not offered: the policy
// records and compares plain keys.
func (p *hostKeyPolicy) algorithms(remote net.Addr) []string {
	var expect []ssh.PublicKey
	switch {
	case p.pinned != nil:
		expect = []ssh.PublicKey{p.pinned}
	case p.known != nil:
		// Ask knownhosts which keys it holds for this address by showing
		// it a key it cannot know.
		_, probe, _ := ed25519.GenerateKey(rand.Reader)
		probeKey, _ := ssh.NewPublicKey(probe.Public())
		var ke *knownhosts.KeyError
		if err := p.known(p.addr, remote, probeKey); errors.As(err, &ke) {
			for _, k := range ke.Want {
				expect = append(expect, k.Key)
			}
		}
		if len(expect) == 0 {
			expect = p.fileKeys
		}
	}
	var algos []string
	add := func(a string) {
		if !slices.Contains(algos, a) && !strings.Contains(a, "-cert-") {
			algos = append(algos, a)
		}
	}
	for _, k := range expect {
		if k.Type() == ssh.KeyAlgoRSA {
			add(ssh.KeyAlgoRSASHA512)
			add(ssh.KeyAlgoRSASHA256)
		} else {
			add(k.Type())
		}
	}
	for _, a := range preferredHostKeyAlgos {
		add(a)
	}
	for _, a := range ssh.SupportedAlgorithms().HostKeys {
		add(a)
	}
	return algos
}

// preferredHostKeyAlgos is the order in which a host's key types are
// preferred on first use, as OpenSSH does: ed25519, ECDSA, then RSA.
var preferredHostKeyAlgos = []string{
	ssh.KeyAlgoED25519,
	ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
}

func (p *hostKeyPolicy) check(hostname string, remote net.Addr, key ssh.PublicKey) error {
	got := ssh.FingerprintSHA256(key)
	if p.pinned != nil && !sameKey(key, p.pinned) {
		return fmt.Errorf("%w: %s presented %s, expected %s", ErrHostKeyMismatch, p.addr, got, ssh.FingerprintSHA256(p.pinned))
	}
	if p.known == nil {
		p.record = key // first use (or the pinned key): record it
		return nil
	}
	err := p.known(hostname, remote, key)
	if err == nil {
		return nil
	}
	var ke *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	switch {
	case errors.As(err, &revoked):
		return fmt.Errorf("ssh: host key %s of %s is revoked in %s", got, p.addr, p.path)
	case errors.As(err, &ke) && len(ke.Want) > 0:
		want := make([]ssh.PublicKey, len(ke.Want))
		for i, k := range ke.Want {
			want[i] = k.Key
		}
		return p.changed(want, got)
	case errors.As(err, &ke):
		// No line for this address. The file is this machine's own, so a
		// key it holds for another address is the machine's key at a new
		// address (a VM's DHCP lease changed): accept and record it.
		if slices.ContainsFunc(p.fileKeys, func(k ssh.PublicKey) bool { return sameKey(k, key) }) {
			p.record = key
			return nil
		}
		return p.changed(p.fileKeys, got)
	default:
		return fmt.Errorf("ssh: check host key of %s: %w", p.addr, err)
	}
}

func (p *hostKeyPolicy) changed(want []ssh.PublicKey, got string) error {
	var fps []string
	for _, k := range want {
		if fp := ssh.FingerprintSHA256(k); !slices.Contains(fps, fp) {
			fps = append(fps, fp)
		}
	}
	return &HostKeyChangedError{Host: p.addr, Path: p.path, Want: strings.Join(fps, ", "), Got: got}
}

// commit records the key to record, if any, appending to the file's content
// and replacing the file atomically.
func (p *hostKeyPolicy) commit() error {
	if p.record == nil {
		return nil
	}
	data := slices.Clone(p.existing)
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(data, '\n')
	}
	data = append(data, knownhosts.Line([]string{knownhosts.Normalize(p.addr)}, p.record)+"\n"...)
	if err := os.MkdirAll(filepath.Dir(p.path), 0o700); err != nil {
		return fmt.Errorf("ssh: record host key: %w", err)
	}
	if err := fsutil.WriteFileAtomic(p.path, data, 0o600); err != nil {
		return fmt.Errorf("ssh: record host key: %w", err)
	}
	return nil
}

func sameKey(a, b ssh.PublicKey) bool { return bytes.Equal(a.Marshal(), b.Marshal()) }

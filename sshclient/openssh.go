package sshclient

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/machine-cli/machine/internal/fsutil"
)

// OpenSSH is what the system's OpenSSH client (ssh, and ssh under rsync or
// sshfs) needs to reach a machine as machine's own client does: the address,
// user and key, and a known_hosts file (see WriteOpenSSHKnownHosts) holding
// the machine's recorded host keys under an alias, checked strictly. The
// user's ~/.ssh/config still applies to everything these options leave
// open, since on OpenSSH's command line the first value given wins.
type OpenSSH struct {
	Host string
	Port int // 22 when zero
	User string
	// KeyPath is the private key; empty lets OpenSSH choose (ssh-agent,
	// ~/.ssh/config, its default keys).
	KeyPath string
	// KnownHostsPath is the file WriteOpenSSHKnownHosts wrote for Alias.
	KnownHostsPath string
	// Alias is the name the host's keys are recorded under in
	// KnownHostsPath (OpenSSH's HostKeyAlias).
	Alias string
}

// Options returns ssh's -p option and the -o options, as "-o", "Name=value"
// pairs, that make OpenSSH connect as the machine's client does: its port
// and key, and only the recorded host keys, with StrictHostKeyChecking=yes
// (a changed key is refused, an unknown one never added). sshfs takes the
// same options. The user goes into the destination (see Remote), or -l.
func (o OpenSSH) Options() []string {
	port := o.Port
	if port == 0 {
		port = 22
	}
	opts := []string{
		"HostKeyAlias=" + o.Alias,
		"UserKnownHostsFile=" + configQuote(o.KnownHostsPath),
		"GlobalKnownHostsFile=/dev/null",
		"StrictHostKeyChecking=yes",
		"CheckHostIP=no",
		"UpdateHostKeys=no",
	}
	if o.KeyPath != "" {
		opts = append(opts, "IdentityFile="+configQuote(o.KeyPath), "IdentitiesOnly=yes")
	}
	out := make([]string, 0, 2+2*len(opts))
	out = append(out, "-p", strconv.Itoa(port))
	for _, opt := range opts {
		out = append(out, "-o", opt)
	}
	return out
}

// Remote returns "user@host:path" for scp-like tools (rsync, sshfs), with
// an IPv6 address in brackets.
func (o OpenSSH) Remote(path string) string {
	host := o.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return o.User + "@" + host + ":" + path
}

// configQuote quotes a value for an OpenSSH option given with -o: paths
// with spaces are put in double quotes (OpenSSH splits some values, such as
// UserKnownHostsFile, on white space).
func configQuote(s string) string {
	if !strings.ContainsAny(s, " \t\"'\\") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// WriteOpenSSHKnownHosts writes dst, a known_hosts file for OpenSSH that
// records, under alias, the host keys machine's own client accepts for
// addr ("host:port") from the machine's known_hosts file src: the keys
// recorded for addr, or when none is, every key the file holds (the
// machine's keys at an address it had before). It returns how many keys it
// wrote; with none (src missing or empty) it writes nothing, and the caller
// should connect once with Dial to record the host's key first.
func WriteOpenSSHKnownHosts(src, dst, addr, alias string) (int, error) {
	data, err := os.ReadFile(src)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("ssh: read known hosts: %w", err)
	}
	keys := keysFor(data, addr)
	if len(keys) == 0 {
		return 0, nil
	}
	var out bytes.Buffer
	for _, k := range keys {
		out.WriteString(knownhosts.Line([]string{alias}, k) + "\n")
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return 0, fmt.Errorf("ssh: write known hosts for OpenSSH: %w", err)
	}
	if err := fsutil.WriteFileAtomic(dst, out.Bytes(), 0o600); err != nil {
		return 0, fmt.Errorf("ssh: write known hosts for OpenSSH: %w", err)
	}
	return len(keys), nil
}

// keysFor returns the plain keys of a known_hosts file recorded for addr,
// or every plain key when none is recorded for it.
func keysFor(data []byte, addr string) []ssh.PublicKey {
	want := knownhosts.Normalize(addr)
	var forAddr, all []ssh.PublicKey
	add := func(list []ssh.PublicKey, k ssh.PublicKey) []ssh.PublicKey {
		if slices.ContainsFunc(list, func(x ssh.PublicKey) bool { return sameKey(x, k) }) {
			return list
		}
		return append(list, k)
	}
	for line := range bytes.Lines(data) {
		marker, hosts, key, _, _, err := ssh.ParseKnownHosts(line)
		if err != nil || marker != "" {
			continue
		}
		all = add(all, key)
		for _, h := range hosts {
			if knownhosts.Normalize(h) == want {
				forAddr = add(forAddr, key)
			}
		}
	}
	if len(forAddr) > 0 {
		return forAddr
	}
	return all
}

// JoinHostPort is net.JoinHostPort with OpenSSH's default port for zero.
func JoinHostPort(host string, port int) string {
	if port == 0 {
		port = 22
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

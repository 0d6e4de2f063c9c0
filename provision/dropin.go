package provision

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/machine-cli/machine/libmachine/host"
)

// Paths machine writes on the host.
const (
	RemoteCACertPath     = "/etc/docker/ca.pem"
	RemoteServerCertPath = "/etc/docker/server.pem"
	RemoteServerKeyPath  = "/etc/docker/server-key.pem"
	DropInPath           = "/etc/systemd/system/docker.service.d/10-machine.conf"
)

// containerdSocket is where the containerd of Debian's containerd package
// and of Docker's containerd.io listens.
const containerdSocket = "/run/containerd/containerd.sock"

// daemon is what provision found out about the host's dockerd.
type daemon struct {
	// Path is dockerd's path (Debian: /usr/sbin/dockerd).
	Path string
	// SocketActivated: a docker.socket unit exists, so dockerd takes the
	// local socket from systemd (-H fd://). Otherwise it makes its own
	// (-H unix:///var/run/docker.sock).
	SocketActivated bool
	// Containerd is the system containerd's socket for --containerd; empty
	// when there is no containerd.service and dockerd runs its own.
	Containerd string
}

// RenderDropIn renders the systemd drop-in (DropInPath) that makes
// docker.service run dockerdPath with machine's TLS listener and engine
// options. It renders the layout of Debian's docker.io and Docker's
// docker-ce packages, which both have a docker.socket unit and a system
// containerd: the local socket is -H fd:// and dockerd uses that containerd
// (--containerd), each with its unit dependency. Provision adapts the
// drop-in to hosts that lack either unit.
//
// Why -H fd:// rather than docker-machine's -H unix:///var/run/docker.sock:
// both packages' docker.service has Requires=docker.socket, and
// docker.socket listens on /run/docker.sock (= /var/run/docker.sock). A
// dockerd told to listen there itself unlinks systemd's socket and binds
// its own, so it starts, but docker.socket stays "active" on a deleted
// socket: once dockerd stops, nothing listens at the path and socket
// activation is broken. Masking docker.socket is no way out: docker.service
// requires it and would fail to start. Taking the socket from systemd keeps
// the packages' design, the socket's ownership (root:docker 0660) and
// restarts intact.
func RenderDropIn(opts Options, dockerdPath string) (string, error) {
	return renderDropIn(opts, daemon{Path: dockerdPath, SocketActivated: true, Containerd: containerdSocket})
}

func renderDropIn(opts Options, d daemon) (string, error) {
	if d.Path == "" || !strings.HasPrefix(d.Path, "/") {
		return "", fmt.Errorf("dockerd path %q is not absolute", d.Path)
	}
	e := opts.Engine
	if e == nil {
		e = &host.EngineOptions{}
	}
	port := enginePort(opts)

	args := []string{d.Path, "-H", "tcp://0.0.0.0:" + strconv.Itoa(port)}
	if d.SocketActivated {
		args = append(args, "-H", "fd://")
	} else {
		args = append(args, "-H", "unix:///var/run/docker.sock")
	}
	if d.Containerd != "" {
		args = append(args, "--containerd="+d.Containerd)
	}
	args = append(args, "--tlsverify",
		"--tlscacert", RemoteCACertPath,
		"--tlscert", RemoteServerCertPath,
		"--tlskey", RemoteServerKeyPath)
	if opts.DriverName != "" {
		args = append(args, "--label", "provider="+opts.DriverName)
	}
	for _, l := range e.Labels {
		args = append(args, "--label", l)
	}
	if e.StorageDriver != "" {
		args = append(args, "--storage-driver", e.StorageDriver)
	}
	for _, r := range e.InsecureRegistry {
		args = append(args, "--insecure-registry", r)
	}
	for _, m := range e.RegistryMirror {
		args = append(args, "--registry-mirror", m)
	}
	for _, dns := range e.Dns {
		args = append(args, "--dns", dns)
	}
	if e.GraphDir != "" {
		args = append(args, "--data-root", e.GraphDir)
	}
	if e.LogLevel != "" {
		args = append(args, "--log-level", e.LogLevel)
	}
	if e.Ipv6 {
		args = append(args, "--ipv6")
	}
	if e.SelinuxEnabled {
		args = append(args, "--selinux-enabled")
	}
	for _, f := range e.ArbitraryFlags {
		// docker-machine renders "--"+opt; leading dashes the user typed
		// are not doubled.
		f = strings.TrimLeft(f, "-")
		if f == "" {
			return "", fmt.Errorf("an engine option (--engine-opt) is empty")
		}
		args = append(args, "--"+f)
	}

	var b strings.Builder
	b.WriteString("# Written by machine; it rewrites this file when it provisions the host.\n")
	// The flags' prerequisites, in case docker.service does not name them
	// itself (Debian's and Docker's units do).
	switch {
	case d.SocketActivated && d.Containerd != "":
		b.WriteString("[Unit]\nRequires=docker.socket\nWants=containerd.service\nAfter=docker.socket containerd.service\n\n")
	case d.SocketActivated:
		b.WriteString("[Unit]\nRequires=docker.socket\nAfter=docker.socket\n\n")
	case d.Containerd != "":
		b.WriteString("[Unit]\nWants=containerd.service\nAfter=containerd.service\n\n")
	}
	b.WriteString("[Service]\nExecStart=\nExecStart=")
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(systemdQuote(a, true))
	}
	b.WriteByte('\n')
	if len(e.Env) > 0 {
		b.WriteString("Environment=")
		for i, kv := range e.Env {
			k, _, ok := strings.Cut(kv, "=")
			if !ok || !validKey(k) {
				return "", fmt.Errorf("engine env %q: want KEY=VALUE", kv)
			}
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(systemdQuote(kv, false))
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// enginePort is Options.EnginePort, else the Engine's TlsPort, else
// DefaultEnginePort.
func enginePort(opts Options) int {
	switch {
	case opts.EnginePort != 0:
		return opts.EnginePort
	case opts.Engine != nil && opts.Engine.TlsPort != 0:
		return opts.Engine.TlsPort
	}
	return DefaultEnginePort
}

// systemdQuote renders s as one word of a unit file's ExecStart= (dollar:
// $ is expanded there, so it is doubled) or Environment= line: % is
// doubled (specifiers), and a word with blanks, quotes, backslashes or
// control characters is double-quoted with C-style escapes.
func systemdQuote(s string, dollar bool) string {
	s = strings.ReplaceAll(s, "%", "%%")
	if dollar {
		s = strings.ReplaceAll(s, "$", "$$")
	}
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r == 0x7f || strings.ContainsRune(`"'\;`, r)
	}) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < ' ' || r == 0x7f {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

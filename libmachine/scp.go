package libmachine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"runtime"
	"strings"

	"github.com/machine-cli/machine/libmachine/transfer"
	"github.com/machine-cli/machine/sshclient"
)

// Location is one side of a copy: a local path, or a path on a machine.
type Location struct {
	// Machine is the machine's name; empty for a local path.
	Machine string
	// User logs in instead of the machine's SSH user ("user@machine:path").
	User string
	// Path is the path; on a machine, relative to the login directory, and
	// empty for that directory.
	Path string
}

// String gives the location as it is written on the command line.
func (l Location) String() string {
	switch {
	case l.Machine == "":
		return l.Path
	case l.User != "":
		return l.User + "@" + l.Machine + ":" + l.Path
	}
	return l.Machine + ":" + l.Path
}

// ParseLocation reads scp's "[[user@]machine:]path". As in OpenSSH's scp,
// a colon after a slash is part of a local path ("./a:b", "/tmp/a:b") and
// so is a leading colon; the first colon otherwise ends the machine's name,
// and later ones belong to the path ("n1:/tmp/a:b"). As in docker-machine,
// "localhost:path" is local. On Windows, a drive letter ("C:\x", "C:/x") is
// a local path; elsewhere "c:/x" is path /x on a machine called c.
func ParseLocation(arg string) Location {
	return parseLocation(arg, runtime.GOOS == "windows")
}

func parseLocation(arg string, windows bool) Location {
	colon := strings.IndexByte(arg, ':')
	slashes := "/"
	if windows {
		slashes = `/\`
	}
	switch {
	case colon <= 0:
		return Location{Path: arg}
	case strings.ContainsAny(arg[:colon], slashes):
		return Location{Path: arg}
	case windows && colon == 1 && isLetter(arg[0]):
		return Location{Path: arg}
	}
	name, path := arg[:colon], arg[colon+1:]
	user := ""
	if at := strings.LastIndexByte(name, '@'); at >= 0 {
		user, name = name[:at], name[at+1:]
	}
	if name == "localhost" {
		return Location{Path: path}
	}
	return Location{Machine: name, User: user, Path: path}
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

// ErrNoRsync is wrapped by Copy's error when --delta needs rsync where it
// is not installed.
var ErrNoRsync = errors.New("rsync is not installed")

// CopyOptions are scp's flags.
type CopyOptions struct {
	// Recursive copies directories (-r).
	Recursive bool
	// Delta copies with rsync over the machine's SSH (-d), sending only
	// the differences with what the destination holds.
	Delta bool
	// Quiet leaves out rsync's progress and messages (-q).
	Quiet bool
	// Progress is called as each file's content is copied over SFTP.
	Progress func(transfer.Progress)
	// Output receives rsync's progress lines (the command's stderr).
	Output io.Writer
}

// Copy copies from one location to another as scp does (see
// transfer.Copy): between this computer and a machine, between two
// machines (streamed through this process, one SFTP session on each), or
// locally. A machine's side is reached over SFTP as its SSH user, or the
// location's user, with the machine's key and recorded host key. With
// Delta, rsync copies over the system's ssh instead, and must be installed
// here and on the machine; it cannot copy between two machines.
func (c *Client) Copy(ctx context.Context, from, to Location, opts CopyOptions) error {
	if opts.Delta && from.Machine != "" && to.Machine != "" {
		return fmt.Errorf("scp --delta: rsync cannot copy from one machine to another (%s to %s): drop -d to stream the copy through this computer", from, to)
	}
	if from.Path == "" && from.Machine == "" || to.Path == "" && to.Machine == "" {
		return errors.New("scp: a local path is empty")
	}
	if opts.Delta {
		if _, err := exec.LookPath("rsync"); err != nil {
			return fmt.Errorf("scp --delta: %w on this computer: install rsync, or drop -d to copy over SFTP", ErrNoRsync)
		}
	}
	src, err := c.side(ctx, from, nil)
	if err != nil {
		return err
	}
	defer src.close()
	dst, err := c.side(ctx, to, src)
	if err != nil {
		return err
	}
	defer dst.close()
	if !opts.Delta {
		if err := transfer.Copy(ctx, src.fs, src.path, dst.fs, dst.path, transfer.Options{Recursive: opts.Recursive, Progress: opts.Progress}); err != nil {
			return fmt.Errorf("scp: %w", err)
		}
		return nil
	}
	return c.rsync(ctx, src, dst, opts)
}

// copySide is one side of a copy, opened.
type copySide struct {
	loc  Location
	path string // loc.Path, "." for a machine's login directory
	fs   transfer.FS
	// ssh is the connection to the machine (nil when local).
	ssh *sshclient.Client
	// close ends what side opened (nothing when it shares the other
	// side's connection).
	close func()
}

// side opens loc: the local file system, or an SFTP session on the
// machine, reusing other's connection when it is the same machine and user.
func (c *Client) side(ctx context.Context, loc Location, other *copySide) (*copySide, error) {
	s := &copySide{loc: loc, path: loc.Path, fs: transfer.Local{}, close: func() {}}
	if loc.Machine == "" {
		return s, nil
	}
	if s.path == "" {
		s.path = "."
	}
	if other != nil && other.loc.Machine == loc.Machine && other.loc.User == loc.User {
		s.fs, s.ssh = other.fs, other.ssh
		return s, nil
	}
	_, ep, err := c.Endpoint(ctx, loc.Machine)
	if err != nil {
		return nil, fmt.Errorf("scp: %w", err)
	}
	user := loc.User
	if user == "" {
		user = ep.SSHUser
	}
	client, err := c.dialSSHAs(ctx, loc.Machine, ep, "", user)
	if err != nil {
		return nil, fmt.Errorf("scp %s: %w", loc.Machine, err)
	}
	sc, err := client.SFTP()
	if err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("scp %s: %w", loc.Machine, err)
	}
	s.ssh, s.fs = client, transfer.SFTP{Client: sc, Label: loc.Machine}
	s.close = func() {
		_ = sc.Close()
		_ = client.Close()
	}
	return s, nil
}

// rsync copies with the system's rsync over ssh, after the same checks as
// an SFTP copy, so that a directory given without -r fails the same way and
// a directory lands where scp would put it.
func (c *Client) rsync(ctx context.Context, src, dst *copySide, opts CopyOptions) error {
	remote := src
	if dst.ssh != nil {
		remote = dst
	}
	var o *sshclient.OpenSSH
	if remote.ssh != nil {
		out, err := remote.ssh.Output(ctx, "command -v rsync")
		if err != nil || len(strings.TrimSpace(string(out))) == 0 {
			return fmt.Errorf("scp --delta: %w on %s: install rsync there, or drop -d to copy over SFTP", ErrNoRsync, remote.loc.Machine)
		}
		_, ep, err := c.Endpoint(ctx, remote.loc.Machine)
		if err != nil {
			return fmt.Errorf("scp: %w", err)
		}
		oo, err := c.openSSH(ctx, remote.loc.Machine, ep, remote.loc.User)
		if err != nil {
			return fmt.Errorf("scp %s: %w", remote.loc.Machine, err)
		}
		o = &oo
	}
	info, err := src.fs.Stat(src.path)
	if err != nil {
		return fmt.Errorf("scp: %s: %w", src.fs.Describe(src.path), err)
	}
	if info.IsDir() && !opts.Recursive {
		return fmt.Errorf("scp: %s %w", src.fs.Describe(src.path), transfer.ErrIsDirectory)
	}
	srcArg := strings.TrimRight(src.path, "/")
	if srcArg == "" {
		srcArg = "/"
	}
	if info.IsDir() {
		// rsync puts "dir" into an existing destination and "dir/"'s
		// content into a new one, which is where scp puts "dir" in each
		// case.
		if st, err := dst.fs.Stat(dst.path); errors.Is(err, fs.ErrNotExist) {
			srcArg += "/"
		} else if err == nil && !st.IsDir() {
			return fmt.Errorf("scp: %s is not a directory: cannot copy directory %s onto it", dst.fs.Describe(dst.path), src.fs.Describe(src.path))
		}
	}
	var sshPath string
	if o != nil {
		if sshPath, err = exec.LookPath("ssh"); err != nil {
			return fmt.Errorf("scp --delta: %w: install it, or drop -d to copy over SFTP", ErrNoSSHClient)
		}
	}
	from, to := srcArg, dst.path
	if src.ssh != nil {
		from = o.Remote(srcArg)
	}
	if dst.ssh != nil {
		to = o.Remote(dst.loc.Path)
	}
	args := RsyncArgs(sshPath, o, from, to, opts.Recursive, opts.Quiet)
	c.debugf("scp: rsync %s", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, "rsync", args...)
	var stderr sshclient.TailBuffer
	cmd.Stderr = &stderr
	if !opts.Quiet && opts.Output != nil {
		cmd.Stdout = opts.Output
	}
	if err := cmd.Run(); err != nil {
		msg := strings.Join(strings.Fields(strings.ReplaceAll(stderr.String(), "\n", " ; ")), " ")
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("scp --delta: rsync from %s to %s failed: %s", src.loc, dst.loc, msg)
	}
	return nil
}

// RsyncArgs returns rsync's arguments for a copy from one path to another,
// one of them remote ("user@host:path") through o over the system's ssh at
// sshPath, or both local when o is nil. Permissions and modification times
// are kept, so that a later copy skips the files that did not change.
func RsyncArgs(sshPath string, o *sshclient.OpenSSH, from, to string, recursive, quiet bool) []string {
	args := []string{"--perms", "--times"}
	if recursive {
		args = append(args, "--recursive")
	}
	if quiet {
		args = append(args, "--quiet")
	} else {
		args = append(args, "--progress")
	}
	if o != nil {
		shell := []string{rsyncQuote(sshPath)}
		for _, a := range o.Options() {
			shell = append(shell, rsyncQuote(a))
		}
		args = append(args, "-e", strings.Join(shell, " "))
	}
	return append(args, "--", from, to)
}

// rsyncQuote quotes one word of rsync's -e command, which rsync splits on
// spaces itself: inside single quotes a doubled quote is a quote.
func rsyncQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t'\"") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// Package transfer copies files and directory trees from one file system to
// another, each the local one or a machine's over SFTP, streaming contents
// from one side to the other without a temporary copy in between.
package transfer

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/pkg/sftp"
)

// FS is one side of a copy: the local file system (Local) or a machine's
// over SFTP (SFTP).
type FS interface {
	// Describe names a path for messages ("n1:/tmp/x" for a machine's).
	Describe(name string) string
	// Stat follows symbolic links, as scp does.
	Stat(name string) (fs.FileInfo, error)
	// ReadDir lists a directory; entries that are symbolic links are
	// described as links (Stat resolves them).
	ReadDir(name string) ([]fs.FileInfo, error)
	Open(name string) (io.ReadCloser, error)
	// CreateTemp creates a new file that only its owner can read, in the
	// directory of target, to become target on Commit.
	CreateTemp(target string) (TempFile, error)
	Mkdir(name string, perm fs.FileMode) error
	Chmod(name string, perm fs.FileMode) error
	// Abs makes name absolute (and clean).
	Abs(name string) (string, error)
	Join(elem ...string) string
	Base(name string) string
}

// TempFile is a file being written, to replace its target once complete.
type TempFile interface {
	io.Writer
	// Commit closes the file, gives it perm and renames it to its target,
	// replacing what was there.
	Commit(perm fs.FileMode) error
	// Discard closes and removes the file, unless committed.
	Discard()
}

// tempName is the name CreateTemp gives what it makes for base.
func tempName(base string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "." + base + ".machine-" + hex.EncodeToString(b)
}

// Local is the local file system.
type Local struct{}

// Describe returns name.
func (Local) Describe(name string) string { return name }

// Stat is os.Stat.
func (Local) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

// ReadDir lists name with each entry's Lstat information.
func (Local) ReadDir(name string) ([]fs.FileInfo, error) {
	entries, err := os.ReadDir(name)
	if err != nil {
		return nil, err
	}
	infos := make([]fs.FileInfo, 0, len(entries))
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		infos = append(infos, info)
	}
	return infos, nil
}

// Open is os.Open.
func (Local) Open(name string) (io.ReadCloser, error) { return os.Open(name) }

// CreateTemp creates a hidden file (0600) next to target.
func (Local) CreateTemp(target string) (TempFile, error) {
	name := filepath.Join(filepath.Dir(target), tempName(filepath.Base(target)))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	return &localTemp{File: f, target: target}, nil
}

type localTemp struct {
	*os.File
	target string
	done   bool
}

func (t *localTemp) Commit(perm fs.FileMode) error {
	t.done = true
	err := t.File.Close()
	if err == nil {
		err = os.Chmod(t.Name(), perm)
	}
	if err == nil {
		err = os.Rename(t.Name(), t.target)
	}
	if err != nil {
		_ = os.Remove(t.Name())
	}
	return err
}

func (t *localTemp) Discard() {
	if !t.done {
		t.done = true
		_ = t.File.Close()
		_ = os.Remove(t.Name())
	}
}

// Mkdir is os.Mkdir.
func (Local) Mkdir(name string, perm fs.FileMode) error { return os.Mkdir(name, perm) }

// Chmod is os.Chmod.
func (Local) Chmod(name string, perm fs.FileMode) error { return os.Chmod(name, perm) }

// Abs is filepath.Abs.
func (Local) Abs(name string) (string, error) { return filepath.Abs(name) }

// Join is filepath.Join.
func (Local) Join(elem ...string) string { return filepath.Join(elem...) }

// Base is filepath.Base.
func (Local) Base(name string) string { return filepath.Base(name) }

// SFTP is a machine's file system over an SFTP session.
type SFTP struct {
	Client *sftp.Client
	// Label prefixes paths in messages ("n1" gives "n1:/tmp/x").
	Label string
}

// Describe returns "label:name".
func (s SFTP) Describe(name string) string { return s.Label + ":" + name }

// Stat follows symbolic links.
func (s SFTP) Stat(name string) (fs.FileInfo, error) { return s.Client.Stat(name) }

// ReadDir lists name.
func (s SFTP) ReadDir(name string) ([]fs.FileInfo, error) { return s.Client.ReadDir(name) }

// Open opens name for reading.
func (s SFTP) Open(name string) (io.ReadCloser, error) { return s.Client.Open(name) }

// CreateTemp creates the file in a hidden directory of its own (0700)
// next to target: SFTP creates files with the server's umask, which would
// let others open the file before its mode is set; nobody else can enter
// the directory. The file is an *sftp.File, whose ReadFromWithConcurrency
// Copy uses.
func (s SFTP) CreateTemp(target string) (TempFile, error) {
	dir := path.Join(path.Dir(target), tempName(path.Base(target)))
	if err := s.Client.Mkdir(dir); err != nil {
		return nil, err
	}
	if err := s.Client.Chmod(dir, 0o700); err != nil {
		_ = s.Client.RemoveDirectory(dir)
		return nil, err
	}
	name := path.Join(dir, "file")
	f, err := s.Client.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		_ = s.Client.RemoveDirectory(dir)
		return nil, err
	}
	return &sftpTemp{File: f, c: s.Client, dir: dir, target: target}, nil
}

type sftpTemp struct {
	*sftp.File
	c           *sftp.Client
	dir, target string
	done        bool
}

func (t *sftpTemp) Commit(perm fs.FileMode) error {
	t.done = true
	err := t.File.Close()
	if err == nil {
		err = t.c.Chmod(t.Name(), perm)
	}
	if err == nil {
		err = t.rename()
	}
	if err != nil {
		_ = t.c.Remove(t.Name())
	}
	_ = t.c.RemoveDirectory(t.dir)
	return err
}

// rename replaces the target with OpenSSH's posix-rename extension, or by
// removing the target first on servers without it.
func (t *sftpTemp) rename() error {
	if _, ok := t.c.HasExtension("posix-rename@openssh.com"); ok {
		return t.c.PosixRename(t.Name(), t.target)
	}
	if err := t.c.Remove(t.target); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return t.c.Rename(t.Name(), t.target)
}

func (t *sftpTemp) Discard() {
	if !t.done {
		t.done = true
		_ = t.File.Close()
		_ = t.c.Remove(t.Name())
		_ = t.c.RemoveDirectory(t.dir)
	}
}

// Mkdir makes a directory and sets its permissions.
func (s SFTP) Mkdir(name string, perm fs.FileMode) error {
	if err := s.Client.Mkdir(name); err != nil {
		return err
	}
	return s.Client.Chmod(name, perm)
}

// Chmod sets permissions.
func (s SFTP) Chmod(name string, perm fs.FileMode) error { return s.Client.Chmod(name, perm) }

// Abs resolves name on the server (relative to the login directory).
func (s SFTP) Abs(name string) (string, error) {
	if name == "" {
		name = "."
	}
	return s.Client.RealPath(name)
}

// Join is path.Join.
func (SFTP) Join(elem ...string) string { return path.Join(elem...) }

// Base is path.Base.
func (SFTP) Base(name string) string { return path.Base(name) }

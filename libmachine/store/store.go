// Package store is the on-disk machine store, in docker-machine's layout so
// that a store written by docker-machine 0.16 or rancher/machine is read
// as is and ours reads back there:
//
//	<root>/                 default ~/.docker/machine
//	    certs/              the CA and client certificates (package certs names them)
//	    machines/<name>/    one directory per machine
//	        config.json     the host.Host, ConfigVersion 3
//	        id_rsa          the machine's SSH key (or id_ed25519)
//	        known_hosts     the machine's SSH host key
//	        ca.pem cert.pem key.pem server.pem server-key.pem
//
// The store only reads and writes files: it neither locks nor prints, and it
// computes no machine state.
package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/machine-cli/machine/internal/fsutil"
	"github.com/machine-cli/machine/internal/retry"
	"github.com/machine-cli/machine/libmachine/host"
)

// Names of the directories and files of a store.
const (
	// MachinesDir is the directory under the root holding one directory per
	// machine.
	MachinesDir = "machines"
	// CertsDir is the directory under the root holding the CA and the client
	// certificates shared by all machines.
	CertsDir = "certs"
	// ConfigFile is a machine's config.json, a host.Host.
	ConfigFile = "config.json"
	// KnownHostsFile is a machine's SSH known_hosts file.
	KnownHostsFile = "known_hosts"
	// OpenSSHKnownHostsFile is a machine's known_hosts file for the system's
	// OpenSSH client: KnownHostsFile's keys for the machine's address,
	// recorded under the machine's name (see sshclient.OpenSSH).
	OpenSSHKnownHostsFile = "known_hosts.openssh"
	// SSHKeyFile is a machine's RSA SSH private key (the public key is
	// SSHKeyFile + ".pub").
	SSHKeyFile = "id_rsa"
	// SSHKeyEd25519File is a machine's ed25519 SSH private key (the public key
	// is SSHKeyEd25519File + ".pub").
	SSHKeyEd25519File = "id_ed25519"
	// LockFile is a machine's lock file (see Store.Lock).
	LockFile = ".lock"
	// ProvisioningFile marks a machine whose create is provisioning its
	// host; it outlives a create that was killed, telling rm to put the
	// host's configuration back.
	ProvisioningFile = ".provisioning"
)

// EnvStoragePath is the environment variable naming the store root, as in
// docker-machine.
const EnvStoragePath = "MACHINE_STORAGE_PATH"

// defaultRootDir is the root under the home directory.
var defaultRootDir = filepath.Join(".docker", "machine")

// DefaultRoot returns the default store root, $HOME/.docker/machine.
func DefaultRoot() (string, error) {
	home, err := homeDir(os.Getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(home, defaultRootDir), nil
}

// ResolveRoot picks the store root: flagValue when it is not empty, else
// $MACHINE_STORAGE_PATH, else $HOME/.docker/machine. A leading "~" or "~/"
// is replaced by the home directory ("~user" is not expanded), and the result
// is made absolute, since config.json files record absolute paths. getenv is
// usually os.Getenv; nil means os.Getenv.
func ResolveRoot(flagValue string, getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	root := flagValue
	if root == "" {
		root = getenv(EnvStoragePath)
	}
	if root == "" {
		home, err := homeDir(getenv)
		if err != nil {
			return "", err
		}
		return filepath.Join(home, defaultRootDir), nil
	}
	if root == "~" || strings.HasPrefix(root, "~/") || strings.HasPrefix(root, `~`+string(filepath.Separator)) {
		home, err := homeDir(getenv)
		if err != nil {
			return "", err
		}
		root = filepath.Join(home, root[1:])
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("store root %q: %w", root, err)
	}
	return abs, nil
}

// homeDir returns $HOME, or the system's idea of the home directory when
// HOME is unset.
func homeDir(getenv func(string) string) (string, error) {
	if h := getenv("HOME"); h != "" {
		return h, nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the home directory for the store: %w", err)
	}
	return h, nil
}

// Store is a machine store rooted at a directory.
type Store struct {
	// Root is the store's root directory, e.g. /home/me/.docker/machine.
	Root string
}

// New returns the store rooted at root. It touches nothing on disk.
func New(root string) *Store {
	return &Store{Root: root}
}

// CertsDir returns the directory of the shared CA and client certificates.
func (s *Store) CertsDir() string {
	return filepath.Join(s.Root, CertsDir)
}

// MachinesDir returns the directory holding the machine directories.
func (s *Store) MachinesDir() string {
	return filepath.Join(s.Root, MachinesDir)
}

// MachineDir returns the directory of machine name. It does not check the
// name; the methods that touch the disk do.
func (s *Store) MachineDir(name string) string {
	return filepath.Join(s.Root, MachinesDir, name)
}

// MachinePath returns the path of file in machine name's directory, e.g.
// MachinePath("n1", KnownHostsFile).
func (s *Store) MachinePath(name, file string) string {
	return filepath.Join(s.Root, MachinesDir, name, file)
}

// List returns the names of the machine directories, sorted. Entries that are
// not directories (or symlinks to directories) and names starting with "."
// are skipped, as docker-machine does. A missing machines directory is an
// empty store. A directory whose config.json is missing or broken is still
// listed: Load reports what is wrong with it.
func (s *Store) List() ([]string, error) {
	dir := s.MachinesDir()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list machines: %w", err)
	}
	names := []string{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			if fi, err := os.Stat(filepath.Join(dir, name)); err == nil {
				isDir = fi.IsDir()
			}
		}
		if isDir {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// Exists reports whether machine name's directory exists.
func (s *Store) Exists(name string) (bool, error) {
	if err := checkName(name); err != nil {
		return false, err
	}
	ok, err := fsutil.Exists(s.MachineDir(name))
	if err != nil {
		return false, fmt.Errorf("machine %q: %w", name, err)
	}
	return ok, nil
}

// Found returns nil when machine name exists, else the error Load gives
// (matching ErrNotExist for a missing machine), so that a command can
// refuse an unknown name before it says it is working on it.
func (s *Store) Found(name string) error {
	ok, err := s.Exists(name)
	switch {
	case err != nil:
		return err
	case !ok:
		return &notExistError{name: name}
	}
	return nil
}

// CreateMachineDir makes machine name's directory (0700, and the machines
// directory when needed), reserving the name: when the directory exists
// already it returns an error wrapping ErrExists. The name must pass
// host.ValidateNewName.
func (s *Store) CreateMachineDir(name string) error {
	if err := host.ValidateNewName(name); err != nil {
		return err
	}
	if err := os.MkdirAll(s.MachinesDir(), 0o700); err != nil {
		return fmt.Errorf("create the machines directory: %w", err)
	}
	err := os.Mkdir(s.MachineDir(name), 0o700)
	if errors.Is(err, fs.ErrExist) {
		return &existsError{name: name}
	}
	if err != nil {
		return fmt.Errorf("machine %q: %w", name, err)
	}
	return nil
}

// Remove deletes machine name's directory and everything in it. A missing
// directory is not an error.
func (s *Store) Remove(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := os.RemoveAll(s.MachineDir(name)); err != nil {
		return fmt.Errorf("remove machine %q from the store: %w", name, err)
	}
	return nil
}

// Lock serializes the commands that change machine name: it blocks until
// it holds the machine's lock file and returns the function that releases
// it. A machine without a directory has nothing to lock: the release is a
// no-op and the caller's Load reports the machine missing.
func (s *Store) Lock(name string) (func(), error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	l, err := fsutil.LockFile(s.MachinePath(name, LockFile))
	if errors.Is(err, fs.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("machine %q: %w", name, err)
	}
	return func() { _ = l.Unlock() }, nil
}

// WaitUnlocked waits until no command holds machine name's lock (a create
// still running, an rm), calling waiting once when it has to wait. It
// returns ctx's error, with the lock still held by the other command, when
// ctx ends first. A machine without a directory holds no lock.
func (s *Store) WaitUnlocked(ctx context.Context, name string, waiting func()) error {
	if err := checkName(name); err != nil {
		return err
	}
	path := s.MachinePath(name, LockFile)
	said := false
	return retry.Poll(ctx, 100*time.Millisecond, time.Second, func(context.Context) error {
		l, err := fsutil.TryLockFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return retry.Stop(fmt.Errorf("machine %q: %w", name, err))
		}
		if l == nil {
			if !said {
				waiting()
				said = true
			}
			return fmt.Errorf("machine %q is locked by another command", name)
		}
		return l.Unlock()
	})
}

// checkName refuses a name that is not a single path element, so that no
// store method reaches outside the machines directory. It is looser than
// host.ValidateName so that a directory List returns can always be loaded
// and removed.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return fmt.Errorf("%w %q: not a machine directory name", host.ErrInvalidName, name)
	}
	return nil
}

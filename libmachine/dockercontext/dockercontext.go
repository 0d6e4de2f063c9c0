// Package dockercontext reads and writes the docker CLI's contexts and its
// current context, in the CLI's own on-disk format, so that `docker
// --context NAME` and `docker context use` see what machine registered.
//
// The layout, as docker/cli's context store writes it (docker 19.03 on,
// unchanged since), under the CLI's configuration directory ($DOCKER_CONFIG,
// else ~/.docker):
//
//	contexts/meta/<sha256 of name>/meta.json                 0755 dir, 0644 file
//	contexts/tls/<sha256 of name>/docker/{ca,cert,key}.pem   0700 dirs, 0600 files
//	config.json  "currentContext": the current context; absent means "default"
//
// A context machine made carries OwnerField in its metadata: the machine
// store it belongs to. It survives `docker context update`, which keeps
// metadata fields it does not know.
package dockercontext

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"

	"github.com/machine-cli/machine/internal/fsutil"
)

// File and directory names of the docker CLI's configuration directory.
const (
	// EnvConfigDir names the docker CLI's configuration directory.
	EnvConfigDir = "DOCKER_CONFIG"
	// ConfigFile is the CLI's configuration file in that directory.
	ConfigFile = "config.json"
	// DefaultName is the context docker uses when none is current: the
	// environment's DOCKER_HOST, or the local socket. It cannot be stored.
	DefaultName = "default"
	// EndpointName is the endpoint of a context that the docker CLI uses.
	EndpointName = "docker"
	// CAFile, CertFile and KeyFile are the TLS files of an endpoint, named
	// as `docker context create --docker ca=,cert=,key=` names them.
	CAFile   = "ca.pem"
	CertFile = "cert.pem"
	KeyFile  = "key.pem"
	// OwnerField is the metadata field that marks a context as machine's:
	// its value is the absolute path of the machine store it belongs to.
	OwnerField = "MachineStore"

	contextsDir = "contexts"
	metaDir     = "meta"
	tlsDir      = "tls"
	metaFile    = "meta.json"
)

// ErrNotExist is wrapped by the error Get returns for a context that does
// not exist. Test with errors.Is.
var ErrNotExist = errors.New("docker context does not exist")

// ConfigDir returns the docker CLI's configuration directory as the CLI
// finds it: $DOCKER_CONFIG when set (made absolute; docker reads a relative
// one from its working directory), else ~/.docker, the home directory being
// $HOME or, without it, the user's entry in the system's database. getenv
// is usually os.Getenv.
func ConfigDir(getenv func(string) string) (string, error) {
	if dir := getenv(EnvConfigDir); dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvConfigDir, dir, err)
		}
		return abs, nil
	}
	home := getenv("HOME")
	if home == "" {
		u, err := user.Current()
		if err != nil || u.HomeDir == "" {
			return "", fmt.Errorf("find the docker configuration directory: set %s or HOME", EnvConfigDir)
		}
		home = u.HomeDir
	}
	return filepath.Join(home, ".docker"), nil
}

// ValidateName checks name against the docker CLI's rule for context
// names: at least two characters of letters, digits, '_', '.', '+' and '-',
// starting with a letter or a digit, and not "default".
func ValidateName(name string) error {
	if name == DefaultName {
		return fmt.Errorf("%q is the docker CLI's own context and cannot be stored", name)
	}
	if len(name) < 2 {
		return fmt.Errorf("docker context names have at least 2 characters, %q has %d", name, len(name))
	}
	for i := 0; i < len(name); i++ {
		ch := name[i]
		alnum := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9'
		if !alnum && (i == 0 || ch != '_' && ch != '.' && ch != '+' && ch != '-') {
			return fmt.Errorf("%q is not a docker context name: use letters, digits, '_', '.', '+' and '-', starting with a letter or digit", name)
		}
	}
	return nil
}

// Context is one docker context with a docker endpoint.
type Context struct {
	Name        string
	Description string
	// Host is the endpoint's address, e.g. tcp://10.0.0.5:2376.
	Host          string
	SkipTLSVerify bool
	// Owner is the machine store that made the context (OwnerField);
	// empty for a context made otherwise.
	Owner string
	// TLS is the endpoint's TLS material. Get leaves it empty.
	TLS TLS
}

// TLS is an endpoint's TLS material, PEM encoded.
type TLS struct {
	CA, Cert, Key []byte
}

// OwnedBy reports whether the context was made by machine for the store
// rooted at storeRoot.
func (c *Context) OwnedBy(storeRoot string) bool {
	if c.Owner == "" || storeRoot == "" {
		return false
	}
	if filepath.Clean(c.Owner) == filepath.Clean(storeRoot) {
		return true
	}
	a, err1 := filepath.EvalSymlinks(c.Owner)
	b, err2 := filepath.EvalSymlinks(storeRoot)
	return err1 == nil && err2 == nil && a == b
}

// Store is the docker CLI's configuration directory: its contexts and its
// config.json.
type Store struct {
	// Dir is the configuration directory ($DOCKER_CONFIG or ~/.docker).
	Dir string
}

// New returns the store of configuration directory dir. It touches nothing
// on disk.
func New(dir string) *Store { return &Store{Dir: dir} }

// id is the directory name of context name: the hex SHA-256 of the name.
func id(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

// MetaDir is the directory of context name's meta.json.
func (s *Store) MetaDir(name string) string {
	return filepath.Join(s.Dir, contextsDir, metaDir, id(name))
}

// TLSDir is the directory of context name's TLS material (one directory
// per endpoint below it).
func (s *Store) TLSDir(name string) string {
	return filepath.Join(s.Dir, contextsDir, tlsDir, id(name))
}

// ConfigPath is the path of the CLI's config.json.
func (s *Store) ConfigPath() string { return filepath.Join(s.Dir, ConfigFile) }

// meta is meta.json.
type meta struct {
	Name      string
	Metadata  metadata
	Endpoints map[string]endpoint
}

// metadata is a context's metadata as machine writes it.
type metadata struct {
	Description  string `json:",omitempty"`
	MachineStore string `json:",omitempty"`
}

// endpoint is the docker endpoint's metadata.
type endpoint struct {
	Host          string
	SkipTLSVerify bool
}

// renderMeta returns the meta.json of c, compact as the docker CLI writes it.
func renderMeta(c Context) ([]byte, error) {
	b, err := json.Marshal(meta{
		Name:      c.Name,
		Metadata:  metadata{Description: c.Description, MachineStore: c.Owner},
		Endpoints: map[string]endpoint{EndpointName: {Host: c.Host, SkipTLSVerify: c.SkipTLSVerify}},
	})
	if err != nil {
		return nil, fmt.Errorf("docker context %q: %w", c.Name, err)
	}
	return b, nil
}

// CorruptError is returned by Get for a context whose meta.json cannot be
// read or parsed.
type CorruptError struct {
	Name, Path string
	Err        error
}

// Error names the context, the file and what is wrong with it.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("docker context %q is broken: %s: %v", e.Name, e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *CorruptError) Unwrap() error { return e.Err }

// Get reads context name's metadata (not its TLS material). A missing
// context is an error wrapping ErrNotExist; an unreadable or invalid
// meta.json a *CorruptError.
func (s *Store) Get(name string) (*Context, error) {
	path := filepath.Join(s.MetaDir(name), metaFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("docker context %q: %w", name, ErrNotExist)
	}
	if err != nil {
		return nil, &CorruptError{Name: name, Path: path, Err: err}
	}
	// Metadata and endpoints are read loosely, as the docker CLI reads
	// them: a context made by another tool may hold other fields.
	var raw struct {
		Name      string
		Metadata  map[string]any
		Endpoints map[string]json.RawMessage
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, &CorruptError{Name: name, Path: path, Err: fmt.Errorf("invalid JSON: %w", err)}
	}
	c := &Context{Name: raw.Name}
	c.Description, _ = raw.Metadata["Description"].(string)
	c.Owner, _ = raw.Metadata[OwnerField].(string)
	if ep, ok := raw.Endpoints[EndpointName]; ok {
		var e endpoint
		if err := json.Unmarshal(ep, &e); err != nil {
			return nil, &CorruptError{Name: name, Path: path, Err: fmt.Errorf("the docker endpoint: %w", err)}
		}
		c.Host, c.SkipTLSVerify = e.Host, e.SkipTLSVerify
	}
	return c, nil
}

// Write creates or replaces context c: its TLS material first, then its
// meta.json, each file replaced atomically, so that the context appears
// whole. Empty TLS material removes the context's TLS directory.
func (s *Store) Write(c Context) error {
	if err := ValidateName(c.Name); err != nil {
		return err
	}
	data, err := renderMeta(c)
	if err != nil {
		return err
	}
	if err := s.writeTLS(c.Name, c.TLS); err != nil {
		return fmt.Errorf("docker context %q: %w", c.Name, err)
	}
	dir := s.MetaDir(c.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("docker context %q: %w", c.Name, err)
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(dir, metaFile), data, 0o644); err != nil {
		return fmt.Errorf("docker context %q: %w", c.Name, err)
	}
	return nil
}

// writeTLS replaces the docker endpoint's TLS files of context name.
func (s *Store) writeTLS(name string, t TLS) error {
	dir := filepath.Join(s.TLSDir(name), EndpointName)
	if len(t.CA) == 0 && len(t.Cert) == 0 && len(t.Key) == 0 {
		return os.RemoveAll(s.TLSDir(name))
	}
	// The tls tree holds private keys: 0700 from its root down, as the
	// docker CLI makes it.
	if err := os.MkdirAll(filepath.Join(s.Dir, contextsDir), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{CAFile, t.CA}, {CertFile, t.Cert}, {KeyFile, t.Key}} {
		path := filepath.Join(dir, f.name)
		if len(f.data) == 0 {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			continue
		}
		if err := fsutil.WriteFileAtomic(path, f.data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// Remove deletes context name: its meta.json directory first (the context
// is gone for the docker CLI), then its TLS material. A missing context is
// not an error.
func (s *Store) Remove(name string) error {
	if err := os.RemoveAll(s.MetaDir(name)); err != nil {
		return fmt.Errorf("remove docker context %q: %w", name, err)
	}
	if err := os.RemoveAll(s.TLSDir(name)); err != nil {
		return fmt.Errorf("remove docker context %q: %w", name, err)
	}
	return nil
}

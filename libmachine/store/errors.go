package store

import (
	"errors"
	"fmt"

	"github.com/machine-cli/machine/libmachine/host"
)

// ErrNotExist is wrapped by the error Load returns when a machine's directory
// does not exist. Test with errors.Is.
var ErrNotExist = errors.New("machine does not exist")

// ErrExists is wrapped by the error CreateMachineDir returns when the
// machine's directory exists already. Test with errors.Is.
var ErrExists = errors.New("machine already exists")

// notExistError names the missing machine and matches ErrNotExist.
type notExistError struct{ name string }

// Error names the machine and says how to list the existing ones.
func (e *notExistError) Error() string {
	return fmt.Sprintf("machine %q does not exist; run `machine ls` to list the machines", e.name)
}

// Is makes errors.Is(err, ErrNotExist) true.
func (e *notExistError) Is(target error) bool { return target == ErrNotExist }

// existsError names the existing machine and matches ErrExists.
type existsError struct{ name string }

// Error names the machine.
func (e *existsError) Error() string { return fmt.Sprintf("machine %q already exists", e.name) }

// Is makes errors.Is(err, ErrExists) true.
func (e *existsError) Is(target error) bool { return target == ErrExists }

// CorruptError is returned by Load when a machine's directory exists but its
// config.json is missing, unreadable or invalid. Test with errors.As; Err is
// the cause and is what Unwrap returns.
type CorruptError struct {
	// Name is the machine's name.
	Name string
	// Path is the config.json that is wrong.
	Path string
	// Err says what is wrong.
	Err error
}

// Error says which file is wrong, why, and how to remove the machine.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("machine %q is broken: %s: %v; `machine rm -f %s` removes it", e.Name, e.Path, e.Err, e.Name)
}

// Unwrap returns the cause.
func (e *CorruptError) Unwrap() error { return e.Err }

// VersionError is returned by Load for a config.json whose ConfigVersion is
// not host.ConfigVersion: older ones come from docker-machine before 0.5
// (2015) and are not migrated; newer ones come from a newer tool. Test with
// errors.As.
type VersionError struct {
	// Name is the machine's name.
	Name string
	// Path is the config.json.
	Path string
	// Version is the file's ConfigVersion (0 when the field is missing).
	Version int
}

// Error says whether the file is too old or too new and what to do.
func (e *VersionError) Error() string {
	if e.Newer() {
		return fmt.Sprintf("machine %q: %s has config version %d, newer than %d: it was written by a newer tool; upgrade machine to use it",
			e.Name, e.Path, e.Version, host.ConfigVersion)
	}
	return fmt.Sprintf("machine %q: %s has config version %d, older than %d (docker-machine before 0.5), which is not supported; re-create the machine (`machine rm -f %s` removes it)",
		e.Name, e.Path, e.Version, host.ConfigVersion, e.Name)
}

// Newer reports whether the file was written by a newer tool, as opposed to
// an old docker-machine.
func (e *VersionError) Newer() bool { return e.Version > host.ConfigVersion }

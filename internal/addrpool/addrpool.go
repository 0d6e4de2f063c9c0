// Package addrpool gives the machines of a store static addresses on a
// network that only they use (the qemu driver's mesh, VirtualBox's
// host-only network): each machine records its address in a file of its
// directory, and an allocation takes, under a store-wide lock, the first
// candidate that no machine's file records. A removed machine's file goes
// with its directory, so its address is free again.
package addrpool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/machine-cli/machine/internal/fsutil"
)

// ErrExhausted: every candidate is taken.
var ErrExhausted = errors.New("every address is taken by the store's machines")

// Pool is one kind of address in one store.
type Pool struct {
	// Store is the store's root.
	Store string
	// LockFile, in Store, serialises the allocations.
	LockFile string
	// File is the name of the file, in each machine's directory
	// (Store/machines/NAME), that records its address.
	File string
}

// Allocate records for machine the first of candidates that no machine of
// the store records, and returns it. A machine that records one already
// keeps it when it is a candidate.
func (p Pool) Allocate(machine string, candidates []string) (string, error) {
	lock, err := fsutil.LockFile(filepath.Join(p.Store, p.LockFile))
	if err != nil {
		return "", fmt.Errorf("address: %w", err)
	}
	defer func() { _ = lock.Unlock() }()
	taken, err := p.taken(machine)
	if err != nil {
		return "", err
	}
	own := p.path(machine)
	if b, err := os.ReadFile(own); err == nil {
		mine := strings.TrimSpace(string(b))
		for _, c := range candidates {
			if c == mine && !taken[mine] {
				return mine, nil
			}
		}
	}
	for _, c := range candidates {
		if taken[c] {
			continue
		}
		if err := fsutil.WriteFileAtomic(own, []byte(c+"\n"), 0o644); err != nil {
			return "", fmt.Errorf("address: %w", err)
		}
		return c, nil
	}
	return "", ErrExhausted
}

// Others returns the addresses the store's other machines record.
func (p Pool) Others(machine string) ([]string, error) {
	lock, err := fsutil.LockFile(filepath.Join(p.Store, p.LockFile))
	if err != nil {
		return nil, fmt.Errorf("address: %w", err)
	}
	defer func() { _ = lock.Unlock() }()
	taken, err := p.taken(machine)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(taken))
	for a := range taken {
		out = append(out, a)
	}
	return out, nil
}

// Release forgets machine's address.
func (p Pool) Release(machine string) error {
	if err := os.Remove(p.path(machine)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("address: %w", err)
	}
	return nil
}

func (p Pool) path(machine string) string {
	return filepath.Join(p.Store, "machines", machine, p.File)
}

// taken reads the addresses of every machine but machine.
func (p Pool) taken(machine string) (map[string]bool, error) {
	files, err := filepath.Glob(filepath.Join(p.Store, "machines", "*", p.File))
	if err != nil {
		return nil, fmt.Errorf("address: %w", err)
	}
	own := p.path(machine)
	taken := map[string]bool{}
	for _, f := range files {
		if f == own {
			continue
		}
		if b, err := os.ReadFile(f); err == nil {
			if a := strings.TrimSpace(string(b)); a != "" {
				taken[a] = true
			}
		}
	}
	return taken, nil
}

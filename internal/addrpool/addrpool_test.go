package addrpool

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

func newPool(t *testing.T, machines ...string) Pool {
	t.Helper()
	p := Pool{Store: t.TempDir(), LockFile: "test.lock", File: "address"}
	for _, m := range machines {
		if err := os.MkdirAll(filepath.Join(p.Store, "machines", m), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// TestAllocate: machines allocating at once get distinct addresses, the
// lowest first; a machine keeps its own; a released address is given
// again; the pool runs out with ErrExhausted.
func TestAllocate(t *testing.T) {
	names := []string{"a", "b", "c", "d"}
	p := newPool(t, append(names, "e", "f")...)
	cands := []string{"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"}
	got := make([]string, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := p.Allocate(n, cands)
			if err != nil {
				t.Error(err)
			}
			got[i] = a
		}()
	}
	wg.Wait()
	sorted := slices.Sorted(slices.Values(got))
	if !slices.Equal(sorted, cands[:4]) {
		t.Fatalf("addresses = %v, want %v", sorted, cands[:4])
	}
	if again, err := p.Allocate("a", cands); err != nil || again != got[0] {
		t.Errorf("a again: %q, %v; want its own %q", again, err, got[0])
	}
	others, err := p.Others("a")
	if err != nil || len(others) != 3 || slices.Contains(others, got[0]) {
		t.Errorf("others of a = %v, %v", others, err)
	}
	if err := p.Release("a"); err != nil {
		t.Fatal(err)
	}
	if err := p.Release("a"); err != nil {
		t.Errorf("second release: %v", err)
	}
	if e, err := p.Allocate("e", cands); err != nil || e != got[0] {
		t.Errorf("after a's release e got %q, %v; want %q", e, err, got[0])
	}
	if f, err := p.Allocate("f", cands); err != nil || f != "10.0.0.6" {
		t.Errorf("f got %q, %v", f, err)
	}
	if _, err := p.Allocate("a", cands); !errors.Is(err, ErrExhausted) {
		t.Errorf("a on a full pool: %v, want ErrExhausted", err)
	}
}

// TestAllocateNotCandidate: a recorded address that is not a candidate
// (another network) is replaced.
func TestAllocateNotCandidate(t *testing.T) {
	p := newPool(t, "a")
	if _, err := p.Allocate("a", []string{"10.0.0.2"}); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Allocate("a", []string{"10.1.0.2"}); err != nil || got != "10.1.0.2" {
		t.Errorf("got %q, %v; want 10.1.0.2", got, err)
	}
}

package libmachine

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/machine-cli/machine/libmachine/store"
)

// TestRemoveWaitsForTheMachineLock: rm of a machine that another command
// holds (a create still running, a swarm change) waits for it.
func TestRemoveWaitsForTheMachineLock(t *testing.T) {
	st := store.New(t.TempDir())
	if err := st.CreateMachineDir("n1"); err != nil {
		t.Fatal(err)
	}
	// A corrupt config: Remove with force needs no driver for it.
	if err := os.WriteFile(st.MachinePath("n1", store.ConfigFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &Client{Store: st, Plugins: &Plugins{}}
	unlock, err := st.Lock("n1")
	if err != nil {
		t.Fatal(err)
	}
	var removed atomic.Bool
	done := make(chan error, 1)
	go func() {
		err := c.Remove(t.Context(), "n1", true)
		removed.Store(true)
		done <- err
	}()
	time.Sleep(150 * time.Millisecond)
	if removed.Load() {
		t.Fatal("Remove went ahead while another command held the machine's lock")
	}
	if _, err := os.Stat(filepath.Join(st.Root, "machines", "n1")); err != nil {
		t.Fatalf("machine removed under the lock: %v", err)
	}
	unlock()
	if err := <-done; err != nil {
		t.Fatalf("Remove after the lock was released: %v", err)
	}
	if _, err := os.Stat(filepath.Join(st.Root, "machines", "n1")); !os.IsNotExist(err) {
		t.Errorf("machine still there: %v", err)
	}
}

func TestLockOfMissingMachine(t *testing.T) {
	st := store.New(t.TempDir())
	unlock, err := st.Lock("ghost")
	if err != nil {
		t.Fatalf("Lock of a missing machine: %v", err)
	}
	unlock()
	if _, err := os.Stat(st.MachineDir("ghost")); !os.IsNotExist(err) {
		t.Errorf("Lock made the machine's directory: %v", err)
	}
}

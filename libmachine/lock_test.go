package libmachine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
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

// TestProvisionAndUpgradeWaitForTheMachineLock: provision and upgrade of a
// machine that another command holds wait for it before they read its
// config.
func TestProvisionAndUpgradeWaitForTheMachineLock(t *testing.T) {
	for name, op := range map[string]func(c *Client) error{
		"provision": func(c *Client) error { return c.Provision(t.Context(), "n1") },
		"upgrade": func(c *Client) error {
			_, err := c.Upgrade(t.Context(), "n1")
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			st := store.New(t.TempDir())
			if err := st.CreateMachineDir("n1"); err != nil {
				t.Fatal(err)
			}
			// A corrupt config: the command fails once it reads it.
			if err := os.WriteFile(st.MachinePath("n1", store.ConfigFile), []byte("{"), 0o600); err != nil {
				t.Fatal(err)
			}
			unlock, err := st.Lock("n1")
			if err != nil {
				t.Fatal(err)
			}
			var finished atomic.Bool
			done := make(chan error, 1)
			go func() {
				err := op(&Client{Store: st, Plugins: &Plugins{}})
				finished.Store(true)
				done <- err
			}()
			time.Sleep(150 * time.Millisecond)
			if finished.Load() {
				t.Fatal("went ahead while another command held the machine's lock")
			}
			unlock()
			var corrupt *store.CorruptError
			if err := <-done; !errors.As(err, &corrupt) || !strings.HasPrefix(err.Error(), name+" n1: ") {
				t.Fatalf("after the lock was released: %v, want %s n1: and the corrupt config", err, name)
			}
		})
	}
}

package azuretest

import (
	"context"
	"fmt"
	"sync"
)

// Hooks make the stand-in's VMs real: integration tests implement them
// with real test hosts. The stand-in calls them from its long-running
// operations, never under its lock, with a context that ends at Close.
// Returning an *Error chooses the code the failed operation reports.
type Hooks interface {
	// CreateVM brings up the host for vm and returns its addresses; an
	// empty privateIP keeps the one the NIC got from its subnet.
	CreateVM(ctx context.Context, vm VM) (publicIP, privateIP string, err error)
	// DeleteVM tears the host down.
	DeleteVM(ctx context.Context, vm VM) error
	// PowerVM stops (on false: powerOff, deallocate) or starts (on true)
	// the host; restart is off then on.
	PowerVM(ctx context.Context, vm VM, on bool) error
}

// VM is what a hook learns of a virtual machine.
type VM struct {
	ID            string
	Name          string
	ResourceGroup string
	Location      string
	Size          string
	ComputerName  string
	AdminUsername string
	// SSHPublicKeys are the keyData of osProfile.linuxConfiguration.ssh.
	SSHPublicKeys []string
	// CustomData is osProfile.customData, base64-decoded.
	CustomData []byte
	Image      Image
	Tags       map[string]string
}

// Image is a VM's storageProfile.imageReference.
type Image struct {
	Publisher, Offer, SKU, Version string
	// ID is set for a custom or gallery image instead of the four above.
	ID string
}

// StaticHooks is a Hooks for unit tests that runs nothing: each VM gets a
// public address 203.0.113.N (TEST-NET-3, never dialed) and keeps the
// private address its NIC got from its subnet (10.x in the usual
// networks). It records the calls it gets. The zero value is ready.
type StaticHooks struct {
	// CreateErr, when set, fails every CreateVM with it.
	CreateErr error

	mu    sync.Mutex
	next  int
	calls []string
}

// CreateVM hands out the next address.
func (h *StaticHooks) CreateVM(_ context.Context, vm VM) (string, string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, "create "+vm.Name)
	if h.CreateErr != nil {
		return "", "", h.CreateErr
	}
	h.next++
	return fmt.Sprintf("203.0.113.%d", (h.next-1)%254+1), "", nil
}

// DeleteVM records the call.
func (h *StaticHooks) DeleteVM(_ context.Context, vm VM) error {
	h.record("delete " + vm.Name)
	return nil
}

// PowerVM records the call.
func (h *StaticHooks) PowerVM(_ context.Context, vm VM, on bool) error {
	if on {
		h.record("on " + vm.Name)
	} else {
		h.record("off " + vm.Name)
	}
	return nil
}

// Calls lists the calls so far, as "create NAME", "delete NAME", "on
// NAME" and "off NAME".
func (h *StaticHooks) Calls() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.calls...)
}

// record appends call to the calls.
func (h *StaticHooks) record(call string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, call)
}

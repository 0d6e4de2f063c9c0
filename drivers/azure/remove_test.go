package azure

import (
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

// ownIDs are the IDs of machine name's own resources.
func ownIDs(name string) []string {
	return []string{vmIDOf(name), diskIDOf(name), nicIDOf(name), ipIDOf(name), nsgIDOf(name + "-firewall")}
}

func TestRemove(t *testing.T) {
	storage := resourceID(defaultResourceGroup, "Microsoft.Storage/storageAccounts", "userdata")
	for _, tc := range []struct {
		name string
		// setup creates machines on f and returns the driver to remove.
		setup func(t *testing.T, f *fakeARM) *Driver
		// gone and kept are resource IDs after Remove; groupKept says
		// whether the resource group stays.
		gone, kept []string
		groupKept  bool
		noDelete   []string // paths that must not see a DELETE
	}{
		{
			name:  "the only machine of a group machine made",
			setup: func(t *testing.T, f *fakeARM) *Driver { return mustCreate(t, f, "m1", nil) },
			gone:  append(ownIDs("m1"), vnetID, avsetID),
		},
		{
			name: "the whole group deleted in the portal",
			setup: func(t *testing.T, f *fakeARM) *Driver {
				d := mustCreate(t, f, "m1", nil)
				f.mu.Lock()
				delete(f.groups, defaultResourceGroup)
				f.res = map[string]any{}
				f.mu.Unlock()
				return d
			},
		},
		{
			name: "the VM and NIC deleted in the portal",
			setup: func(t *testing.T, f *fakeARM) *Driver {
				d := mustCreate(t, f, "m1", nil)
				f.mu.Lock()
				nic := lookup[armnetwork.Interface](f, nicIDOf("m1"))
				nic.Properties.VirtualMachine = nil
				f.detachNIC(nic)
				lookup[armcompute.AvailabilitySet](f, avsetID).Properties.VirtualMachines = nil
				delete(f.res, key(vmIDOf("m1")))
				delete(f.res, key(diskIDOf("m1")))
				delete(f.res, key(nicIDOf("m1")))
				f.mu.Unlock()
				return d
			},
			gone: append(ownIDs("m1"), vnetID, avsetID),
		},
		{
			name: "deletes that answer 404",
			setup: func(t *testing.T, f *fakeARM) *Driver {
				d := mustCreate(t, f, "m1", nil)
				f.fail(http.MethodDelete, "/disks/m1-osdisk", 404, "ResourceNotFound", "gone", 0)
				f.fail(http.MethodDelete, "/publicipaddresses/m1-ip", 404, "ResourceNotFound", "gone", 1)
				return d
			},
			// The IP answered 404 but the group's list still shows it, as
			// Azure's lists lag: it counts as gone, and goes with the group.
			gone: append(ownIDs("m1"), vnetID, avsetID),
		},
		{
			name: "another machine uses the shared resources",
			setup: func(t *testing.T, f *fakeARM) *Driver {
				d := mustCreate(t, f, "m1", nil)
				mustCreate(t, f, "m2", nil)
				return d
			},
			gone:      ownIDs("m1"),
			kept:      append(ownIDs("m2"), vnetID, avsetID),
			groupKept: true,
			noDelete:  []string{"/subnets/docker-machine", "/virtualnetworks/docker-machine-vnet", "/availabilitysets/docker-machine", "/resourcegroups/docker-machine"},
		},
		{
			name: "the last machine takes along what another machine made",
			setup: func(t *testing.T, f *fakeARM) *Driver {
				m1 := mustCreate(t, f, "m1", nil)
				m2 := mustCreate(t, f, "m2", nil)
				if m2.Made.ResourceGroup || m2.Made.VirtualNetwork || m2.Made.AvailabilitySet {
					t.Fatalf("m2 claims shared resources m1 made: %+v", m2.Made)
				}
				if err := m1.Remove(t.Context()); err != nil {
					t.Fatal(err)
				}
				return m2
			},
			gone: append(append(ownIDs("m1"), ownIDs("m2")...), vnetID, avsetID),
		},
		{
			name: "the group holds the user's resource",
			setup: func(t *testing.T, f *fakeARM) *Driver {
				d := mustCreate(t, f, "m1", nil)
				f.put(storage, &struct{}{})
				return d
			},
			gone:      append(ownIDs("m1"), vnetID, avsetID),
			kept:      []string{storage},
			groupKept: true,
		},
		{
			name: "the user's group and network, a subnet machine made",
			setup: func(t *testing.T, f *fakeARM) *Driver {
				f.addGroup(defaultResourceGroup, nil)
				f.put(vnetID, &armnetwork.VirtualNetwork{ID: to.Ptr(vnetID), Name: to.Ptr(defaultVNet), Properties: &armnetwork.VirtualNetworkPropertiesFormat{
					AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr("192.168.0.0/16")}},
				}})
				d := mustCreate(t, f, "m1", nil)
				if !d.Made.Subnet || d.Made.VirtualNetwork || d.Made.ResourceGroup {
					t.Fatalf("Made = %+v, want the subnet only", d.Made)
				}
				return d
			},
			gone:      append(ownIDs("m1"), subnetID, avsetID),
			kept:      []string{vnetID},
			groupKept: true,
			noDelete:  []string{"/virtualnetworks/docker-machine-vnet", "/resourcegroups/docker-machine"},
		},
		{
			name: "a named NSG the user made",
			setup: func(t *testing.T, f *fakeARM) *Driver {
				f.addGroup(defaultResourceGroup, nil)
				f.put(nsgIDOf("corp"), &armnetwork.SecurityGroup{ID: to.Ptr(nsgIDOf("corp")), Name: to.Ptr("corp"), Properties: &armnetwork.SecurityGroupPropertiesFormat{}})
				return mustCreate(t, f, "m1", map[string]any{flNSG: "corp"})
			},
			gone:      []string{vmIDOf("m1"), nicIDOf("m1"), ipIDOf("m1"), vnetID},
			kept:      []string{nsgIDOf("corp")},
			groupKept: true,
			noDelete:  []string{"/networksecuritygroups/corp"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeARM()
			d := tc.setup(t, f)
			if err := reload(t, f, d).Remove(t.Context()); err != nil {
				t.Fatalf("Remove: %v", err)
			}
			for _, id := range tc.gone {
				if f.has(id) {
					t.Errorf("%s is still there", id)
				}
			}
			for _, id := range tc.kept {
				if !f.has(id) {
					t.Errorf("%s was deleted", id)
				}
			}
			if f.hasGroup(defaultResourceGroup) != tc.groupKept {
				t.Errorf("resource group kept %v, want %v", f.hasGroup(defaultResourceGroup), tc.groupKept)
			}
			for _, p := range tc.noDelete {
				if f.called(http.MethodDelete, p) {
					t.Errorf("DELETE %s", p)
				}
			}
			// A second rm has nothing left to do and does not fail.
			if err := reload(t, f, d).Remove(t.Context()); err != nil {
				t.Errorf("second Remove: %v", err)
			}
		})
	}
}

func TestRemoveNeverCreatedMakesNoCall(t *testing.T) {
	f := newFakeARM()
	d := testDriver(t, f, "m1", nil)
	d.connect = nil // the real sign-in would fail here: it must not run
	if err := d.Remove(t.Context()); err != nil {
		t.Errorf("Remove = %v", err)
	}
	if f.callCount() != 0 {
		t.Errorf("%d calls", f.callCount())
	}
}

// TestRemoveFails: a delete Azure refuses is reported on one line, naming
// the resource and what to do, and Made keeps what is left for the next rm.
func TestRemoveFails(t *testing.T) {
	f := newFakeARM()
	d := mustCreate(t, f, "m1", nil)
	f.fail(http.MethodDelete, "/networkinterfaces/m1-nic", 500, "InternalServerError", "An internal error occurred.", 0)
	err := d.Remove(t.Context())
	if err == nil {
		t.Fatal("Remove succeeded")
	}
	for _, w := range []string{`remove machine "m1"`, `delete network interface "m1-nic"`, "internal error", "machine rm m1"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans lines: %q", err)
	}
	if d.Made.VM != "" || d.Made.OSDisk != "" || d.Made.NIC == "" || d.Made.PublicIP == "" || !d.Made.ResourceGroup {
		t.Errorf("Made = %+v, want the VM and disk gone, the rest left", d.Made)
	}
	if f.called(http.MethodDelete, "/publicipaddresses/m1-ip") {
		t.Error("the public IP was deleted while its NIC failed to go")
	}
	f.mu.Lock()
	f.rules = nil
	f.mu.Unlock()
	if err := d.Remove(t.Context()); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
	if !d.Made.empty() || f.hasGroup(defaultResourceGroup) {
		t.Errorf("after the second Remove: Made %+v, group left %v", d.Made, f.hasGroup(defaultResourceGroup))
	}
}

// TestRemoveRetriesConflicts: a delete that conflicts with another
// operation (another rm deleting the same shared subnet or network at the
// same time) is tried again, not reported as a failure.
func TestRemoveRetriesConflicts(t *testing.T) {
	f := newFakeARM()
	d := mustCreate(t, f, "m1", nil)
	for _, p := range []string{"/subnets/" + defaultSubnet, "/virtualnetworks/" + defaultVNet, "/networkinterfaces/m1-nic"} {
		f.fail(http.MethodDelete, p, http.StatusConflict, "AnotherOperationInProgress", "Another operation on this or dependent resource is in progress.", 2)
	}
	if err := d.Remove(t.Context()); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if !d.Made.empty() || f.hasGroup(defaultResourceGroup) {
		t.Errorf("after Remove: Made %+v, group left %v", d.Made, f.hasGroup(defaultResourceGroup))
	}
	if f.conflicts != 6 {
		t.Errorf("%d conflicts served, want each delete refused twice", f.conflicts)
	}
}

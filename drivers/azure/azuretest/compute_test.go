package azuretest

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

// TestStandInHookFailure fails CreateVM: the VM's operation ends Failed
// with the hook's code, the VM shows it, and it can still be deleted.
func TestStandInHookFailure(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  error
		code string
	}{
		{"ARM error", &Error{Code: "AllocationFailed", Message: "no test host left"}, "AllocationFailed"},
		{"plain error", errors.New("test host did not boot"), "InternalExecutionError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(o *Options) { o.Hooks = &StaticHooks{CreateErr: tc.err} })
			e.network(t, "rg")
			e.publicIP(t, "rg", "ip", armnetwork.IPAllocationMethodDynamic, "")
			e.nic(t, "rg", "nic", "ip")
			_, err := e.createVM(t, "rg", "vm", e.vmParams("rg", "nic", size))
			wantCode(t, err, tc.code, http.StatusOK) // the failed status document is a 200
			if err == nil || !strings.Contains(err.Error(), tc.err.Error()[strings.Index(tc.err.Error(), " ")+1:]) {
				t.Errorf("error %v does not tell the hook's message", err)
			}
			power, prov := e.power(t, "rg", "vm")
			if prov != "ProvisioningState/failed/"+tc.code || power != "PowerState/deallocated" {
				t.Errorf("instance view %s, %s", prov, power)
			}
			vms := e.cf.NewVirtualMachinesClient()
			vm, err := vms.Get(ctx(t), "rg", "vm", nil)
			if err != nil || str(vm.Properties.ProvisioningState) != "Failed" {
				t.Errorf("GET: provisioningState %q, %v; want Failed", str(vm.Properties.ProvisioningState), err)
			}
			wantCode(t, wait(vms.BeginStart(ctx(t), "rg", "vm", nil)), "OperationNotAllowed", http.StatusConflict)
			if err := wait(vms.BeginDelete(ctx(t), "rg", "vm", nil)); err != nil {
				t.Errorf("delete of the failed VM: %v", err)
			}
			if calls := e.s.opts.Hooks.(*StaticHooks).Calls(); !slices.Equal(calls, []string{"create vm"}) {
				t.Errorf("hook calls %q, want only the failed create (no host to delete)", calls)
			}
		})
	}
}

// TestStandInDeleteBehindBack deletes resources as someone in the portal
// would, with Server.Delete: the driver then finds them gone.
func TestStandInDeleteBehindBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := ctx(t)
	e.network(t, "rg")
	e.publicIP(t, "rg", "ip", armnetwork.IPAllocationMethodDynamic, "")
	e.nic(t, "rg", "nic", "ip")
	vm, err := e.createVM(t, "rg", "vm", e.vmParams("rg", "nic", size))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.Delete(strings.ToUpper(str(vm.ID))); err != nil {
		t.Fatal(err)
	}
	_, err = e.cf.NewVirtualMachinesClient().Get(c, "rg", "vm", nil)
	wantCode(t, err, "ResourceNotFound", http.StatusNotFound)
	if calls := e.hooks.Calls(); calls[len(calls)-1] != "delete vm" {
		t.Errorf("hook calls %q, want the host deleted", calls)
	}
	disk, err := e.cf.NewDisksClient().Get(c, "rg", str(vm.Properties.StorageProfile.OSDisk.Name), nil)
	if err != nil || disk.ManagedBy != nil || *disk.Properties.DiskState != armcompute.DiskStateUnattached {
		t.Errorf("OS disk after its VM went: %v, managedBy %v", err, disk.ManagedBy)
	}
	pip, err := e.nf.NewPublicIPAddressesClient().Get(c, "rg", "ip", nil)
	if err != nil || pip.Properties.IPAddress != nil {
		t.Errorf("dynamic public IP after its VM went: %v, address %v", err, pip.Properties.IPAddress)
	}
	if err := e.s.Delete(idOf("rg", "Microsoft.Compute/virtualMachines", "vm")); err == nil {
		t.Error("Delete of a resource that is gone succeeded")
	}
	if err := e.s.Delete("/subscriptions/" + subID + "/resourceGroups/RG"); err != nil {
		t.Fatal(err)
	}
	if left := e.s.Resources(); len(left) != 0 {
		t.Errorf("left after deleting the group: %q", left)
	}
}

// TestStandInSizes lists VM sizes and resource SKUs with the SDK.
func TestStandInSizes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := ctx(t)
	cases := []struct {
		location string
		want     []string
		code     string
	}{
		{location, []string{size, "Standard_D2s_v5"}, ""},
		{"North Europe", []string{size, "Standard_D2s_v5"}, ""},
		{"marsnorth", nil, "NoRegisteredProviderFound"},
	}
	for _, tc := range cases {
		t.Run(tc.location, func(t *testing.T) {
			var got []string
			pager := e.cf.NewVirtualMachineSizesClient().NewListPager(tc.location, nil)
			for pager.More() {
				page, err := pager.NextPage(c)
				if tc.code != "" {
					wantCode(t, err, tc.code, http.StatusBadRequest)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range page.Value {
					got = append(got, str(v.Name))
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("vmSizes = %q, want %q", got, tc.want)
			}
			got = nil
			skus := e.cf.NewResourceSKUsClient().NewListPager(&armcompute.ResourceSKUsClientListOptions{
				Filter: ptr("location eq '" + tc.location + "'")})
			for skus.More() {
				page, err := skus.NextPage(c)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range page.Value {
					if str(v.ResourceType) != "virtualMachines" || str(v.Locations[0]) != normLocation(tc.location) {
						t.Errorf("SKU %s: type %s, locations %q", str(v.Name), str(v.ResourceType), str(v.Locations[0]))
					}
					got = append(got, str(v.Name))
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("skus = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestStandInAvailabilitySet puts VMs in availability sets: a VM with
// managed disks needs an Aligned set, and a set with VMs stays.
func TestStandInAvailabilitySet(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := ctx(t)
	e.network(t, "rg")
	sets := e.cf.NewAvailabilitySetsClient()
	cases := []struct {
		sku  string
		code string
	}{
		{"Classic", "OperationNotAllowed"},
		{"Aligned", ""},
	}
	for _, tc := range cases {
		t.Run(tc.sku, func(t *testing.T) {
			name := "set-" + strings.ToLower(tc.sku)
			set, err := sets.CreateOrUpdate(c, "rg", name, armcompute.AvailabilitySet{
				Location: ptr(location), SKU: &armcompute.SKU{Name: ptr(tc.sku)},
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			e.nic(t, "rg", "nic-"+name, "")
			params := e.vmParams("rg", "nic-"+name, size)
			params.Properties.AvailabilitySet = &armcompute.SubResource{ID: set.ID}
			_, err = e.createVM(t, "rg", "vm-"+name, params)
			if tc.code != "" {
				wantCode(t, err, tc.code, http.StatusConflict)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := sets.Get(c, "rg", name, nil)
			if err != nil || len(got.Properties.VirtualMachines) != 1 {
				t.Fatalf("set: %v, %+v", err, got.Properties)
			}
			_, err = sets.Delete(c, "rg", name, nil)
			wantCode(t, err, "OperationNotAllowed", http.StatusConflict)
			if err := wait(e.cf.NewVirtualMachinesClient().BeginDelete(c, "rg", "vm-"+name, nil)); err != nil {
				t.Fatal(err)
			}
			if _, err := sets.Delete(c, "rg", name, nil); err != nil {
				t.Errorf("delete of the emptied set: %v", err)
			}
		})
	}
}

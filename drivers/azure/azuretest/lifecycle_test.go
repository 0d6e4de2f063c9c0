package azuretest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

// recordingHooks is StaticHooks that also keeps the VMs it created.
type recordingHooks struct {
	StaticHooks
	vms chan VM
}

// CreateVM records vm and hands out an address.
func (h *recordingHooks) CreateVM(c context.Context, vm VM) (string, string, error) {
	h.vms <- vm
	pub, _, err := h.StaticHooks.CreateVM(c, vm)
	return pub, "10.0.0.99", err
}

// TestStandInLifecycle drives a whole docker-machine VM through the
// stand-in with the real SDK: network, public IP, NIC, VM, power cycle,
// and a deletion that leaves nothing behind.
func TestStandInLifecycle(t *testing.T) {
	t.Parallel()
	hooks := &recordingHooks{vms: make(chan VM, 1)}
	e := newEnv(t, func(o *Options) { o.Hooks = hooks })
	c := ctx(t)
	const g = "machine-rg"
	e.network(t, g)

	nsgs := e.nf.NewSecurityGroupsClient()
	p, err := nsgs.BeginCreateOrUpdate(c, g, "host1-nsg", armnetwork.SecurityGroup{
		Location: ptr(location),
		Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{{
			Name: ptr("DockerPort"),
			Properties: &armnetwork.SecurityRulePropertiesFormat{
				Priority: ptr[int32](300), Protocol: ptr(armnetwork.SecurityRuleProtocolTCP),
				Access: ptr(armnetwork.SecurityRuleAccessAllow), Direction: ptr(armnetwork.SecurityRuleDirectionInbound),
				SourceAddressPrefix: ptr("*"), SourcePortRange: ptr("*"),
				DestinationAddressPrefix: ptr("*"), DestinationPortRange: ptr("2376"),
			},
		}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	nsg, err := p.PollUntilDone(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := str(nsg.Properties.SecurityRules[0].ID); !strings.HasSuffix(got, "/networkSecurityGroups/host1-nsg/securityRules/DockerPort") {
		t.Errorf("security rule ID = %q", got)
	}

	e.publicIP(t, g, "host1-ip", armnetwork.IPAllocationMethodDynamic, "host1-label")
	pips := e.nf.NewPublicIPAddressesClient()
	pip, err := pips.Get(c, g, "host1-ip", nil)
	if err != nil {
		t.Fatal(err)
	}
	if pip.Properties.IPAddress != nil {
		t.Errorf("dynamic public IP has address %s before any VM runs", *pip.Properties.IPAddress)
	}
	if got, want := str(pip.Properties.DNSSettings.Fqdn), "host1-label."+location+".cloudapp.azure.com"; got != want {
		t.Errorf("fqdn = %q, want %q", got, want)
	}

	nicRes := e.nic(t, g, "host1-nic", "host1-ip")
	if got := str(nicRes.Properties.IPConfigurations[0].Properties.PrivateIPAddress); got != "10.0.0.4" {
		t.Errorf("NIC private IP = %q, want the subnet's first free address 10.0.0.4", got)
	}
	// Attach the NSG to the NIC by updating it.
	nicRes.Properties.NetworkSecurityGroup = &armnetwork.SecurityGroup{ID: nsg.ID}
	np, err := e.nf.NewInterfacesClient().BeginCreateOrUpdate(c, g, "host1-nic", nicRes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := np.PollUntilDone(c, nil); err != nil {
		t.Fatal(err)
	}

	vm, err := e.createVM(t, g, "host1", e.vmParams(g, "host1-nic", size))
	if err != nil {
		t.Fatal(err)
	}
	if str(vm.Properties.ProvisioningState) != "Succeeded" {
		t.Errorf("VM provisioningState = %q", str(vm.Properties.ProvisioningState))
	}
	if vm.Properties.OSProfile.CustomData != nil {
		t.Error("VM shows its customData; Azure never returns it")
	}
	got := <-hooks.vms
	want := VM{
		ID: idOf(g, "Microsoft.Compute/virtualMachines", "host1"), Name: "host1", ResourceGroup: g, Location: location,
		Size: size, ComputerName: "host1", AdminUsername: "docker-user", SSHPublicKeys: []string{e.key},
		CustomData: []byte("#cloud-config\n"),
		Image:      Image{Publisher: "Canonical", Offer: "ubuntu-24_04-lts", SKU: "server", Version: "latest"},
		Tags:       map[string]string{"docker-machine": "yes"},
	}
	if !vmEqual(got, want) {
		t.Errorf("CreateVM got\n%+v\nwant\n%+v", got, want)
	}

	steps := []struct {
		name      string
		do        func() error
		power     string
		address   string // public IP address after the step
		hookCalls []string
	}{
		{"created", func() error { return nil }, "PowerState/running", "203.0.113.1", []string{"create host1"}},
		{"deallocate", func() error {
			p, err := e.cf.NewVirtualMachinesClient().BeginDeallocate(c, g, "host1", nil)
			if err == nil {
				_, err = p.PollUntilDone(c, nil)
			}
			return err
		}, "PowerState/deallocated", "", []string{"off host1"}},
		{"start", func() error {
			p, err := e.cf.NewVirtualMachinesClient().BeginStart(c, g, "host1", nil)
			if err == nil {
				_, err = p.PollUntilDone(c, nil)
			}
			return err
		}, "PowerState/running", "203.0.113.1", []string{"on host1"}},
		{"powerOff", func() error {
			p, err := e.cf.NewVirtualMachinesClient().BeginPowerOff(c, g, "host1", nil)
			if err == nil {
				_, err = p.PollUntilDone(c, nil)
			}
			return err
		}, "PowerState/stopped", "203.0.113.1", []string{"off host1"}},
		{"start again", func() error {
			p, err := e.cf.NewVirtualMachinesClient().BeginStart(c, g, "host1", nil)
			if err == nil {
				_, err = p.PollUntilDone(c, nil)
			}
			return err
		}, "PowerState/running", "203.0.113.1", []string{"on host1"}},
		{"restart", func() error {
			p, err := e.cf.NewVirtualMachinesClient().BeginRestart(c, g, "host1", nil)
			if err == nil {
				_, err = p.PollUntilDone(c, nil)
			}
			return err
		}, "PowerState/running", "203.0.113.1", []string{"off host1", "on host1"}},
	}
	seen := 0
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		power, prov := e.power(t, g, "host1")
		if power != st.power || prov != "ProvisioningState/succeeded" {
			t.Errorf("%s: instance view %s, %s; want %s, ProvisioningState/succeeded", st.name, power, prov, st.power)
		}
		pip, err := pips.Get(c, g, "host1-ip", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := str(pip.Properties.IPAddress); got != st.address {
			t.Errorf("%s: public IP address %q, want %q", st.name, got, st.address)
		}
		calls := hooks.Calls()
		if !slices.Equal(calls[seen:], st.hookCalls) {
			t.Errorf("%s: hook calls %q, want %q", st.name, calls[seen:], st.hookCalls)
		}
		seen = len(calls)
	}

	nic, err := e.nf.NewInterfacesClient().Get(c, g, "host1-nic", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := str(nic.Properties.IPConfigurations[0].Properties.PrivateIPAddress); got != "10.0.0.99" {
		t.Errorf("NIC private IP = %q, want the hook's 10.0.0.99", got)
	}
	if got := str(nic.Properties.VirtualMachine.ID); !strings.EqualFold(got, str(vm.ID)) {
		t.Errorf("NIC virtualMachine = %q, want %q", got, str(vm.ID))
	}

	// Tear down in the order a driver would, checking each step.
	osDisk := str(vm.Properties.StorageProfile.OSDisk.Name)
	teardown := []struct {
		name string
		do   func() error
	}{
		{"vm", func() error {
			p, err := e.cf.NewVirtualMachinesClient().BeginDelete(c, g, "host1", nil)
			if err == nil {
				_, err = p.PollUntilDone(c, nil)
			}
			return err
		}},
		{"os disk", func() error {
			p, err := e.cf.NewDisksClient().BeginDelete(c, g, osDisk, nil)
			if err == nil {
				_, err = p.PollUntilDone(c, nil)
			}
			return err
		}},
		{"nic", func() error {
			p, err := e.nf.NewInterfacesClient().BeginDelete(c, g, "host1-nic", nil)
			if err == nil {
				_, err = p.PollUntilDone(c, nil)
			}
			return err
		}},
		{"public ip", func() error {
			p, err := pips.BeginDelete(c, g, "host1-ip", nil)
			if err == nil {
				_, err = p.PollUntilDone(c, nil)
			}
			return err
		}},
		{"nsg", func() error {
			p, err := nsgs.BeginDelete(c, g, "host1-nsg", nil)
			if err == nil {
				_, err = p.PollUntilDone(c, nil)
			}
			return err
		}},
		{"subnet", func() error {
			p, err := e.nf.NewSubnetsClient().BeginDelete(c, g, "vnet", "default", nil)
			if err == nil {
				_, err = p.PollUntilDone(c, nil)
			}
			return err
		}},
		{"vnet", func() error {
			p, err := e.nf.NewVirtualNetworksClient().BeginDelete(c, g, "vnet", nil)
			if err == nil {
				_, err = p.PollUntilDone(c, nil)
			}
			return err
		}},
		{"group", func() error {
			p, err := e.rf.NewResourceGroupsClient().BeginDelete(c, g, nil)
			if err == nil {
				_, err = p.PollUntilDone(c, nil)
			}
			return err
		}},
	}
	before := len(e.s.Resources())
	for _, st := range teardown {
		if err := st.do(); err != nil {
			t.Fatalf("delete %s: %v", st.name, err)
		}
		if now := len(e.s.Resources()); now != before-1 {
			t.Errorf("delete %s: %d resources, want %d: %q", st.name, now, before-1, e.s.Resources())
		}
		before--
	}
	if left := e.s.Resources(); len(left) != 0 {
		t.Errorf("left behind: %q", left)
	}
	if calls := hooks.Calls(); calls[len(calls)-1] != "delete host1" {
		t.Errorf("last hook call %q, want delete host1", calls[len(calls)-1])
	}
}

// vmEqual compares what hooks learn of two VMs.
func vmEqual(a, b VM) bool {
	return a.ID == b.ID && a.Name == b.Name && a.ResourceGroup == b.ResourceGroup && a.Location == b.Location &&
		a.Size == b.Size && a.ComputerName == b.ComputerName && a.AdminUsername == b.AdminUsername &&
		slices.Equal(a.SSHPublicKeys, b.SSHPublicKeys) && string(a.CustomData) == string(b.CustomData) &&
		a.Image == b.Image && len(a.Tags) == len(b.Tags) && a.Tags["docker-machine"] == b.Tags["docker-machine"]
}

// TestStandInGroupDeletion deletes a whole resource group with a running
// VM in it: the host goes through DeleteVM and nothing is left.
func TestStandInGroupDeletion(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := ctx(t)
	for _, g := range []string{"doomed", "kept"} {
		e.network(t, g)
		e.publicIP(t, g, "ip", armnetwork.IPAllocationMethodStatic, g+"-label")
		e.nic(t, g, "nic", "ip")
		if _, err := e.createVM(t, g, "vm", e.vmParams(g, "nic", size)); err != nil {
			t.Fatal(err)
		}
	}
	p, err := e.rf.NewResourceGroupsClient().BeginDelete(c, "doomed", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PollUntilDone(c, nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range e.s.Resources() {
		if strings.Contains(strings.ToLower(id), "/resourcegroups/doomed") {
			t.Errorf("%s survived its group's deletion", id)
		}
	}
	if n := len(e.s.Resources()); n != 7 {
		t.Errorf("%d resources left, want the other group's 7 (group, vnet, subnet, ip, nic, vm, disk): %q", n, e.s.Resources())
	}
	if calls := e.hooks.Calls(); !slices.Contains(calls, "delete vm") {
		t.Errorf("hook calls %q lack the doomed VM's deletion", calls)
	}
	_, err = e.rf.NewResourceGroupsClient().Get(c, "doomed", nil)
	wantCode(t, err, "ResourceGroupNotFound", 404)
	ex, err := e.rf.NewResourceGroupsClient().CheckExistence(c, "doomed", nil)
	if err != nil || ex.Success {
		t.Errorf("CheckExistence(doomed) = %v, %v; want false", ex.Success, err)
	}
	ex, err = e.rf.NewResourceGroupsClient().CheckExistence(c, "KEPT", nil)
	if err != nil || !ex.Success {
		t.Errorf("CheckExistence(KEPT) = %v, %v; want true (names are case-insensitive)", ex.Success, err)
	}
	// The static address stays with its IP resource.
	pip, err := e.nf.NewPublicIPAddressesClient().Get(c, "kept", "ip", nil)
	if err != nil {
		t.Fatal(err)
	}
	if pip.Properties.IPAddress == nil {
		t.Error("static public IP of the kept VM has no address")
	}
	if _, err := e.cf.NewVirtualMachinesClient().Get(c, "Kept", "VM", nil); err != nil {
		t.Errorf("GET with other casing: %v", err)
	}
}

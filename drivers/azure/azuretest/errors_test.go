package azuretest

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"
)

// wait drives a poller, or passes on the error that kept it from
// starting.
func wait[T any](p *runtime.Poller[T], err error) error {
	if err != nil {
		return err
	}
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = p.PollUntilDone(c, nil)
	return err
}

// TestStandInErrors checks ARM's refusals, through the SDK, against a
// group with a running VM: each answers Azure's code and status, and none
// changes what the stand-in holds.
func TestStandInErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const g = "rg"
	e.network(t, g)
	e.publicIP(t, g, "ip", armnetwork.IPAllocationMethodDynamic, "taken-label")
	e.nic(t, g, "nic", "ip")
	vm, err := e.createVM(t, g, "vm", e.vmParams(g, "nic", size))
	if err != nil {
		t.Fatal(err)
	}
	c := ctx(t)
	vnets, subnets, nics := e.nf.NewVirtualNetworksClient(), e.nf.NewSubnetsClient(), e.nf.NewInterfacesClient()
	pips, nsgs, vms := e.nf.NewPublicIPAddressesClient(), e.nf.NewSecurityGroupsClient(), e.cf.NewVirtualMachinesClient()
	groups := e.rf.NewResourceGroupsClient()
	subnetID := idOf(g, "Microsoft.Network/virtualNetworks", "vnet") + "/subnets/default"

	// An NSG on the spare NIC, for the in-use refusal.
	if err := wait(nsgs.BeginCreateOrUpdate(c, g, "nsg", armnetwork.SecurityGroup{Location: ptr(location)}, nil)); err != nil {
		t.Fatal(err)
	}
	spare := e.nic(t, g, "spare", "")
	spare.Properties.NetworkSecurityGroup = &armnetwork.SecurityGroup{ID: ptr(idOf(g, "Microsoft.Network/networkSecurityGroups", "nsg"))}
	if err := wait(nics.BeginCreateOrUpdate(c, g, "spare", spare, nil)); err != nil {
		t.Fatal(err)
	}

	otherSub, err := armnetwork.NewClientFactory("00000000-0000-4000-8000-0000000000ff", e.cred,
		&arm.ClientOptions{ClientOptions: policy.ClientOptions{Cloud: e.s.Cloud(), Transport: e.s.Transport()}})
	if err != nil {
		t.Fatal(err)
	}

	vnet := func(prefix string, subnets ...[2]string) armnetwork.VirtualNetwork {
		v := armnetwork.VirtualNetwork{Location: ptr(location), Properties: &armnetwork.VirtualNetworkPropertiesFormat{
			AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{ptr(prefix)}},
		}}
		for _, s := range subnets {
			v.Properties.Subnets = append(v.Properties.Subnets, &armnetwork.Subnet{Name: ptr(s[0]),
				Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: ptr(s[1])}})
		}
		return v
	}
	nicOn := func(subnet, pip string) armnetwork.Interface {
		p := &armnetwork.InterfaceIPConfigurationPropertiesFormat{Subnet: &armnetwork.Subnet{ID: ptr(subnet)}}
		if pip != "" {
			p.PublicIPAddress = &armnetwork.PublicIPAddress{ID: ptr(pip)}
		}
		return armnetwork.Interface{Location: ptr(location), Properties: &armnetwork.InterfacePropertiesFormat{
			IPConfigurations: []*armnetwork.InterfaceIPConfiguration{{Name: ptr("ipconfig1"), Properties: p}},
		}}
	}
	vmWith := func(change func(*armcompute.VirtualMachine)) armcompute.VirtualMachine {
		v := e.vmParams(g, "spare", size)
		change(&v)
		return v
	}
	pip := func(sku armnetwork.PublicIPAddressSKUName, alloc armnetwork.IPAllocationMethod, label string) armnetwork.PublicIPAddress {
		p := armnetwork.PublicIPAddress{Location: ptr(location), SKU: &armnetwork.PublicIPAddressSKU{Name: &sku},
			Properties: &armnetwork.PublicIPAddressPropertiesFormat{PublicIPAllocationMethod: &alloc}}
		if label != "" {
			p.Properties.DNSSettings = &armnetwork.PublicIPAddressDNSSettings{DomainNameLabel: ptr(label)}
		}
		return p
	}

	cases := []struct {
		name   string
		do     func() error
		code   string
		status int
	}{
		{"missing vnet", func() error { _, err := vnets.Get(c, g, "nope", nil); return err }, "ResourceNotFound", 404},
		{"missing subnet", func() error { _, err := subnets.Get(c, g, "vnet", "nope", nil); return err }, "NotFound", 404},
		{"missing group", func() error { _, err := vms.Get(c, "nope", "vm", nil); return err }, "ResourceGroupNotFound", 404},
		{"unknown subscription", func() error { _, err := otherSub.NewVirtualNetworksClient().Get(c, g, "vnet", nil); return err }, "SubscriptionNotFound", 404},
		{"group in unknown location", func() error {
			_, err := groups.CreateOrUpdate(c, "elsewhere", armresources.ResourceGroup{Location: ptr("marsnorth")}, nil)
			return err
		}, "LocationNotAvailableForResourceGroup", 400},
		{"group moved", func() error {
			_, err := groups.CreateOrUpdate(c, g, armresources.ResourceGroup{Location: ptr("northeurope")}, nil)
			return err
		}, "InvalidResourceGroupLocation", 409},
		{"delete missing group", func() error { return wait(groups.BeginDelete(c, "nope", nil)) }, "ResourceGroupNotFound", 404},
		{"vnet in unknown location", func() error {
			v := vnet("10.1.0.0/16")
			v.Location = ptr("marsnorth")
			return wait(vnets.BeginCreateOrUpdate(c, g, "v2", v, nil))
		}, "LocationNotAvailableForResourceType", 400},
		{"vnet moved", func() error {
			v := vnet("10.0.0.0/16", [2]string{"default", "10.0.0.0/24"})
			v.Location = ptr("northeurope")
			return wait(vnets.BeginCreateOrUpdate(c, g, "vnet", v, nil))
		}, "InvalidResourceLocation", 409},
		{"bad address prefix", func() error { return wait(vnets.BeginCreateOrUpdate(c, g, "v2", vnet("10.1.0.0/33"), nil)) }, "InvalidAddressPrefixFormat", 400},
		{"subnet outside vnet", func() error {
			return wait(vnets.BeginCreateOrUpdate(c, g, "v2", vnet("10.1.0.0/16", [2]string{"a", "10.2.0.0/24"}), nil))
		}, "NetcfgSubnetRangeOutsideVnet", 400},
		{"subnets overlap", func() error {
			return wait(vnets.BeginCreateOrUpdate(c, g, "v2", vnet("10.1.0.0/16", [2]string{"a", "10.1.0.0/24"}, [2]string{"b", "10.1.0.128/25"}), nil))
		}, "NetcfgSubnetRangesOverlap", 400},
		{"subnet overlaps a sibling", func() error {
			return wait(subnets.BeginCreateOrUpdate(c, g, "vnet", "second", armnetwork.Subnet{
				Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: ptr("10.0.0.0/25")}}, nil))
		}, "NetcfgSubnetRangesOverlap", 400},
		{"subnet of missing vnet", func() error {
			return wait(subnets.BeginCreateOrUpdate(c, g, "nope", "a", armnetwork.Subnet{
				Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: ptr("10.0.1.0/24")}}, nil))
		}, "ResourceNotFound", 404},
		{"vnet update drops a subnet in use", func() error {
			return wait(vnets.BeginCreateOrUpdate(c, g, "vnet", vnet("10.0.0.0/16"), nil))
		}, "InUseSubnetCannotBeDeleted", 400},
		{"nic on missing subnet", func() error {
			return wait(nics.BeginCreateOrUpdate(c, g, "n2", nicOn(subnetID+"x", ""), nil))
		}, "InvalidResourceReference", 400},
		{"nic with missing public ip", func() error {
			return wait(nics.BeginCreateOrUpdate(c, g, "n2", nicOn(subnetID, idOf(g, "Microsoft.Network/publicIPAddresses", "nope")), nil))
		}, "InvalidResourceReference", 400},
		{"nic with a public ip in use", func() error {
			return wait(nics.BeginCreateOrUpdate(c, g, "n2", nicOn(subnetID, idOf(g, "Microsoft.Network/publicIPAddresses", "ip")), nil))
		}, "PublicIPAddressInUse", 400},
		{"nic with a taken static address", func() error {
			n := nicOn(subnetID, "")
			n.Properties.IPConfigurations[0].Properties.PrivateIPAllocationMethod = ptr(armnetwork.IPAllocationMethodStatic)
			n.Properties.IPConfigurations[0].Properties.PrivateIPAddress = ptr("10.0.0.4")
			return wait(nics.BeginCreateOrUpdate(c, g, "n2", n, nil))
		}, "PrivateIPAddressInUse", 400},
		{"dns label taken", func() error {
			return wait(pips.BeginCreateOrUpdate(c, g, "ip2", pip(armnetwork.PublicIPAddressSKUNameBasic, armnetwork.IPAllocationMethodDynamic, "taken-label"), nil))
		}, "DnsRecordInUse", 400},
		{"dns label invalid", func() error {
			return wait(pips.BeginCreateOrUpdate(c, g, "ip2", pip(armnetwork.PublicIPAddressSKUNameBasic, armnetwork.IPAllocationMethodDynamic, "Bad_Label"), nil))
		}, "InvalidDomainNameLabel", 400},
		{"standard sku dynamic", func() error {
			return wait(pips.BeginCreateOrUpdate(c, g, "ip2", pip(armnetwork.PublicIPAddressSKUNameStandard, armnetwork.IPAllocationMethodDynamic, ""), nil))
		}, "StandardSkuPublicIPAddressesMustBeStatic", 400},
		{"nsg rule priority", func() error {
			return wait(nsgs.BeginCreateOrUpdate(c, g, "nsg2", armnetwork.SecurityGroup{Location: ptr(location),
				Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{{Name: ptr("r"),
					Properties: &armnetwork.SecurityRulePropertiesFormat{Priority: ptr[int32](5000),
						Protocol: ptr(armnetwork.SecurityRuleProtocolTCP), Access: ptr(armnetwork.SecurityRuleAccessAllow),
						Direction: ptr(armnetwork.SecurityRuleDirectionInbound)}}}}}, nil))
		}, "SecurityRuleInvalidPriority", 400},
		{"vm on missing nic", func() error {
			return wait(vms.BeginCreateOrUpdate(c, g, "vm2", e.vmParams(g, "nope", size), nil))
		}, "InvalidResourceReference", 400},
		{"vm on a nic in use", func() error {
			return wait(vms.BeginCreateOrUpdate(c, g, "vm2", e.vmParams(g, "nic", size), nil))
		}, "NicInUse", 400},
		{"vm size not offered", func() error {
			return wait(vms.BeginCreateOrUpdate(c, g, "vm2", e.vmParams(g, "spare", "Standard_M416ms_v2"), nil))
		}, "SkuNotAvailable", 409},
		{"vm admin reserved", func() error {
			return wait(vms.BeginCreateOrUpdate(c, g, "vm2", vmWith(func(v *armcompute.VirtualMachine) {
				v.Properties.OSProfile.AdminUsername = ptr("root")
				v.Properties.OSProfile.LinuxConfiguration.SSH.PublicKeys[0].Path = ptr("/home/root/.ssh/authorized_keys")
			}), nil))
		}, "InvalidParameter", 400},
		{"vm ssh key path", func() error {
			return wait(vms.BeginCreateOrUpdate(c, g, "vm2", vmWith(func(v *armcompute.VirtualMachine) {
				v.Properties.OSProfile.LinuxConfiguration.SSH.PublicKeys[0].Path = ptr("/root/.ssh/authorized_keys")
			}), nil))
		}, "InvalidParameter", 400},
		{"vm ssh key data", func() error {
			return wait(vms.BeginCreateOrUpdate(c, g, "vm2", vmWith(func(v *armcompute.VirtualMachine) {
				v.Properties.OSProfile.LinuxConfiguration.SSH.PublicKeys[0].KeyData = ptr("ssh-rsa not-a-key")
			}), nil))
		}, "InvalidParameter", 400},
		{"vm custom data not base64", func() error {
			return wait(vms.BeginCreateOrUpdate(c, g, "vm2", vmWith(func(v *armcompute.VirtualMachine) {
				v.Properties.OSProfile.CustomData = ptr("#cloud-config")
			}), nil))
		}, "InvalidParameter", 400},
		{"vm password auth without password", func() error {
			return wait(vms.BeginCreateOrUpdate(c, g, "vm2", vmWith(func(v *armcompute.VirtualMachine) {
				v.Properties.OSProfile.LinuxConfiguration.DisablePasswordAuthentication = nil
			}), nil))
		}, "InvalidParameter", 400},
		{"vm admin user changed", func() error {
			v := e.vmParams(g, "nic", size)
			v.Properties.OSProfile.AdminUsername = ptr("someone-else")
			return wait(vms.BeginCreateOrUpdate(c, g, "vm", v, nil))
		}, "PropertyChangeNotAllowed", 409},
		{"restart of a missing vm", func() error { return wait(vms.BeginRestart(c, g, "nope", nil)) }, "ResourceNotFound", 404},
		{"delete subnet in use", func() error { return wait(subnets.BeginDelete(c, g, "vnet", "default", nil)) }, "InUseSubnetCannotBeDeleted", 400},
		{"delete vnet in use", func() error { return wait(vnets.BeginDelete(c, g, "vnet", nil)) }, "InUseSubnetCannotBeDeleted", 400},
		{"delete nsg in use", func() error { return wait(nsgs.BeginDelete(c, g, "nsg", nil)) }, "InUseNetworkSecurityGroupCannotBeDeleted", 400},
		{"delete public ip in use", func() error { return wait(pips.BeginDelete(c, g, "ip", nil)) }, "PublicIPAddressCannotBeDeleted", 400},
		{"delete nic in use", func() error { return wait(nics.BeginDelete(c, g, "nic", nil)) }, "NicInUse", 400},
		{"delete attached disk", func() error {
			return wait(e.cf.NewDisksClient().BeginDelete(c, g, str(vm.Properties.StorageProfile.OSDisk.Name), nil))
		}, "OperationNotAllowed", 409},
	}
	before := e.s.Resources()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			wantCode(t, err, tc.code, tc.status)
			var re *azcore.ResponseError
			if errors.As(err, &re) && re.RawResponse != nil && re.RawResponse.Header.Get("Content-Type") != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", re.RawResponse.Header.Get("Content-Type"))
			}
		})
	}
	if after := e.s.Resources(); !slices.Equal(before, after) {
		t.Errorf("refused requests changed the store:\nbefore %q\nafter  %q", before, after)
	}

	// Deleting what is not there succeeds, as ARM answers 204.
	for _, do := range []func() error{
		func() error { return wait(vnets.BeginDelete(c, g, "nope", nil)) },
		func() error { return wait(vms.BeginDelete(c, g, "nope", nil)) },
		func() error { return wait(e.cf.NewDisksClient().BeginDelete(c, g, "nope", nil)) },
	} {
		if err := do(); err != nil {
			t.Errorf("deleting a missing resource: %v", err)
		}
	}
	resp := e.raw(t, http.MethodDelete, idOf(g, "Microsoft.Network/publicIPAddresses", "nope")+"?api-version=2025-05-01", e.token(t))
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE of a missing public IP: %d, want 204", resp.StatusCode)
	}
}

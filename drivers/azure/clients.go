package azure

import (
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"
)

// clients are the ARM clients the driver uses, for one subscription.
type clients struct {
	groups    *armresources.ResourceGroupsClient
	vnets     *armnetwork.VirtualNetworksClient
	subnets   *armnetwork.SubnetsClient
	nsgs      *armnetwork.SecurityGroupsClient
	publicIPs *armnetwork.PublicIPAddressesClient
	nics      *armnetwork.InterfacesClient
	vms       *armcompute.VirtualMachinesClient
	availSets *armcompute.AvailabilitySetsClient
	disks     *armcompute.DisksClient
}

// newClients makes the ARM clients for subscription, signed in with cred,
// talking to the cloud and transport opts name.
func newClients(subscription string, cred azcore.TokenCredential, opts *arm.ClientOptions) (*clients, error) {
	rf, err := armresources.NewClientFactory(subscription, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("azure: resource clients: %w", err)
	}
	nf, err := armnetwork.NewClientFactory(subscription, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("azure: network clients: %w", err)
	}
	cf, err := armcompute.NewClientFactory(subscription, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("azure: compute clients: %w", err)
	}
	return &clients{
		groups:    rf.NewResourceGroupsClient(),
		vnets:     nf.NewVirtualNetworksClient(),
		subnets:   nf.NewSubnetsClient(),
		nsgs:      nf.NewSecurityGroupsClient(),
		publicIPs: nf.NewPublicIPAddressesClient(),
		nics:      nf.NewInterfacesClient(),
		vms:       cf.NewVirtualMachinesClient(),
		availSets: cf.NewAvailabilitySetsClient(),
		disks:     cf.NewDisksClient(),
	}, nil
}

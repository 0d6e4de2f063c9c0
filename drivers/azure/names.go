package azure

import (
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
)

// Tags machine puts on what it makes.
const (
	// tagMachine names the machine a resource was made for; every
	// resource machine makes carries it.
	tagMachine = "docker-machine"
	// tagCreated marks a resource machine made to share between machines
	// (resource group, virtual network, availability set, a named NSG):
	// rm deletes such a resource once no machine uses it, and never one
	// without the tag.
	tagCreated = "docker-machine-created"
)

// Suffixes of the names of a machine's own resources, as docker-machine's.
const (
	suffixNIC    = "-nic"
	suffixIP     = "-ip"
	suffixNSG    = "-firewall"
	suffixOSDisk = "-osdisk"
)

// names are the names and IDs of the resources of one machine, computed
// from its Config alone.
type names struct {
	sub, group, location   string
	vm, nic, ip, nsg, disk string
	// ownNSG: the NSG is the machine's own (NAME-firewall), not one named
	// with --azure-nsg and possibly shared.
	ownNSG bool
	// vnetGroup is the virtual network's resource group ([group:]vnet).
	vnetGroup, vnet, subnet string
	// avset is "" when the machine goes into a zone instead.
	avset string
}

// names returns the machine's resource names.
func (c *Config) names() names {
	n := names{
		sub: c.SubscriptionID, group: c.ResourceGroup, location: c.Location,
		vm:     c.MachineName,
		nic:    c.MachineName + suffixNIC,
		ip:     c.MachineName + suffixIP,
		nsg:    c.NSG,
		disk:   c.MachineName + suffixOSDisk,
		subnet: c.SubnetName,
	}
	if n.nsg == "" {
		n.nsg, n.ownNSG = c.MachineName+suffixNSG, true
	}
	n.vnetGroup, n.vnet = c.ResourceGroup, c.VirtualNetwork
	if g, v, ok := strings.Cut(c.VirtualNetwork, ":"); ok {
		n.vnetGroup, n.vnet = g, v
	}
	if c.AvailabilityZone == "" {
		n.avset = c.AvailabilitySet
	}
	return n
}

// id is the resource ID of name of type typ (Microsoft.Network/networkInterfaces)
// in group.
func (n names) id(group, typ, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/%s/%s", n.sub, group, typ, name)
}

func (n names) vmID() string     { return n.id(n.group, "Microsoft.Compute/virtualMachines", n.vm) }
func (n names) diskID() string   { return n.id(n.group, "Microsoft.Compute/disks", n.disk) }
func (n names) avsetID() string  { return n.id(n.group, "Microsoft.Compute/availabilitySets", n.avset) }
func (n names) nicID() string    { return n.id(n.group, "Microsoft.Network/networkInterfaces", n.nic) }
func (n names) ipID() string     { return n.id(n.group, "Microsoft.Network/publicIPAddresses", n.ip) }
func (n names) nsgID() string    { return n.id(n.group, "Microsoft.Network/networkSecurityGroups", n.nsg) }
func (n names) vnetID() string   { return n.id(n.vnetGroup, "Microsoft.Network/virtualNetworks", n.vnet) }
func (n names) subnetID() string { return n.vnetID() + "/subnets/" + n.subnet }

// sameID compares resource IDs as Azure does, ignoring case.
func sameID(a, b string) bool { return a != "" && strings.EqualFold(a, b) }

// under says whether id is parent or a child of it (a NIC's IP
// configuration is under the NIC).
func under(id, parent string) bool {
	return parent != "" && (strings.EqualFold(id, parent) || strings.HasPrefix(strings.ToLower(id), strings.ToLower(parent)+"/"))
}

// tags are the tags of a resource made for machine: the user's
// --azure-tags, the machine's name and, for shared resources, the mark
// that machine created them. machine's own tags win over the user's, and
// only machine gives the mark.
func (c *Config) tags(shared bool) map[string]*string {
	t := make(map[string]*string, len(c.Tags)+2)
	for k, v := range c.Tags {
		if !strings.EqualFold(k, tagMachine) && !strings.EqualFold(k, tagCreated) {
			t[k] = to.Ptr(v)
		}
	}
	t[tagMachine] = to.Ptr(c.MachineName)
	if shared {
		t[tagCreated] = to.Ptr("true")
	}
	return t
}

// createdByMachine says whether tags mark a resource machine made to
// share.
func createdByMachine(tags map[string]*string) bool {
	for k, v := range tags {
		if strings.EqualFold(k, tagCreated) && v != nil && strings.EqualFold(*v, "true") {
			return true
		}
	}
	return false
}

// val returns *p, or the zero value when p is nil.
func val[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

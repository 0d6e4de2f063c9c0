package azure

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

// Remove deletes the machine's VM, OS disk, NIC, public IP and its own
// NSG, then each shared resource (subnet, NSG named with --azure-nsg,
// availability set, virtual network, resource group) that machine created
// (it carries the docker-machine-created tag) and that nothing else uses
// any more. What is already gone, even the whole group, is no error. A
// machine that was never created needs no call.
func (d *Driver) Remove(ctx context.Context) error {
	if d.Made.empty() {
		return nil
	}
	c, err := d.conn(ctx)
	if err != nil {
		return fmt.Errorf("azure: remove machine %q: %w", d.MachineName, err)
	}
	if err := d.teardown(ctx, c, false); err != nil {
		return fmt.Errorf("azure: remove machine %q: %w; run `machine rm %s` again, or delete what is left in the Azure portal", d.MachineName, err, d.MachineName)
	}
	return nil
}

// teardown deletes what Made records, last made first: the VM; its disk
// and NIC; its public IP, NSG, subnet and availability set; the virtual
// network; the resource group. A shared resource goes only when nothing
// but this machine uses it. rollback (a failed Create undoing itself)
// deletes only the shared resources this Create made; Remove also those
// another machine made, as the last machine to leave them. Made loses each
// entry that is dealt with, so that a second try does the rest.
func (d *Driver) teardown(ctx context.Context, c *conn, rollback bool) error {
	t := &teardown{ctx: ctx, d: d, c: c, n: d.names(), m: d.made(), rollback: rollback, gone: map[string]bool{}}
	m := t.m

	// 1. The VM: its disk and NIC cannot go while it exists.
	if err := t.own(m.VM, "virtual machine", func(m *Made) { m.VM = "" }, func(r ref) error {
		_, err := done(c.vms.BeginDelete(ctx, r.group, r.name, nil)).wait(ctx)
		return err
	}); err != nil {
		return err
	}
	// 2. Its OS disk and NIC.
	if err := parallel(
		func() error {
			return t.own(m.OSDisk, "OS disk", func(m *Made) { m.OSDisk = "" }, func(r ref) error {
				_, err := done(c.disks.BeginDelete(ctx, r.group, r.name, nil)).wait(ctx)
				return err
			})
		},
		func() error {
			return t.own(m.NIC, "network interface", func(m *Made) { m.NIC = "" }, func(r ref) error {
				_, err := done(c.nics.BeginDelete(ctx, r.group, r.name, nil)).wait(ctx)
				return err
			})
		},
	); err != nil {
		return err
	}
	// 3. What the NIC used, and the availability set the VM was in.
	if err := parallel(
		func() error {
			return t.own(m.PublicIP, "public IP", func(m *Made) { m.PublicIP = "" }, func(r ref) error {
				_, err := done(c.publicIPs.BeginDelete(ctx, r.group, r.name, nil)).wait(ctx)
				return err
			})
		},
		func() error { return t.nsg(ctx) },
		func() error { return t.subnet(ctx) },
		func() error { return t.availabilitySet(ctx) },
	); err != nil {
		return err
	}
	// 4. The virtual network, 5. the resource group.
	if err := t.vnet(ctx); err != nil {
		return err
	}
	return t.group(ctx)
}

// teardown is one run of Driver.teardown.
type teardown struct {
	ctx      context.Context
	d        *Driver
	c        *conn
	n        names
	m        Made // Made when the run began
	rollback bool

	mu   sync.Mutex
	gone map[string]bool // lower-case IDs deleted or found missing
}

func (t *teardown) markGone(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gone[strings.ToLower(id)] = true
}

func (t *teardown) isGone(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.gone[strings.ToLower(id)]
}

// mayDelete says whether a shared resource may go: in a rollback only when
// this Create made it; in a Remove also when machine made it (tags).
func (t *teardown) mayDelete(madeHere bool, tags map[string]*string) bool {
	if t.rollback {
		return madeHere
	}
	return madeHere || createdByMachine(tags)
}

// own deletes one of the machine's own resources, recorded as id; a
// missing one counts as deleted. clear drops it from Made.
func (t *teardown) own(id, what string, clear func(*Made), del func(ref) error) error {
	if id == "" {
		return nil
	}
	r, err := refOf(id)
	if err != nil {
		return err
	}
	if err := t.retry(func() error { return del(r) }); err != nil && !notFound(err) {
		return fail(fmt.Sprintf("delete %s %q in resource group %q", what, r.name, r.group), err)
	}
	t.markGone(id)
	t.d.record(clear)
	return nil
}

// retry runs a delete again while it conflicts with another operation on
// the resource (409 AnotherOperationInProgress and the like), as ensure
// does for puts: two rms at once may both find a shared resource unused
// and delete it, and the second delete conflicts with the first until it
// ends; tried again, it finds the resource gone. What uses the resource
// meanwhile makes Azure refuse the delete as in use, which is no conflict.
// The resource group's delete is not tried again: it takes everything in
// the group with it, and what the group holds must be listed again first.
func (t *teardown) retry(del func() error) error {
	_, err := t.d.ensure(t.ctx, true, nil, func(context.Context) error { return del() })
	return err
}

// shared ends the handling of a shared resource: deleted, missing, or
// kept because something else uses it or machine did not make it. The
// error of a delete that failed for another reason is returned.
func (t *teardown) shared(what, id string, err error, clear func(*Made)) error {
	switch {
	case err == nil || notFound(err):
		t.markGone(id)
	case inUse(err):
		// something came to use it meanwhile: keep it
	default:
		return fail("delete "+what, err)
	}
	t.d.record(clear)
	return nil
}

// keep ends the handling of a shared resource that stays.
func (t *teardown) keep(clear func(*Made)) error {
	t.d.record(clear)
	return nil
}

// nsg deletes the machine's own NSG, or a shared one (--azure-nsg) that
// machine made and no other NIC, nor a subnet, uses.
func (t *teardown) nsg(ctx context.Context) error {
	n, m, c := t.n, t.m, t.c
	clear := func(m *Made) { m.NSG = "" }
	if n.ownNSG {
		return t.own(m.NSG, "network security group", clear, func(r ref) error {
			_, err := done(c.nsgs.BeginDelete(ctx, r.group, r.name, nil)).wait(ctx)
			return err
		})
	}
	if t.rollback && m.NSG == "" {
		return nil
	}
	g, err := c.nsgs.Get(ctx, n.group, n.nsg, nil)
	if notFound(err) {
		return t.shared("", n.nsgID(), nil, clear)
	}
	if err != nil {
		return fail(fmt.Sprintf("read network security group %q", n.nsg), err)
	}
	if !t.mayDelete(m.NSG != "", g.Tags) || nsgInUse(g.SecurityGroup, m.NIC) {
		return t.keep(clear)
	}
	err = t.retry(func() error { _, err := done(c.nsgs.BeginDelete(ctx, n.group, n.nsg, nil)).wait(ctx); return err })
	return t.shared(fmt.Sprintf("network security group %q", n.nsg), n.nsgID(), err, clear)
}

// nsgInUse says whether a NIC other than nic, or any subnet, uses g.
func nsgInUse(g armnetwork.SecurityGroup, nic string) bool {
	if g.Properties == nil {
		return false
	}
	if len(g.Properties.Subnets) > 0 {
		return true
	}
	for _, i := range g.Properties.NetworkInterfaces {
		if i != nil && !sameID(val(i.ID), nic) {
			return true
		}
	}
	return false
}

// subnet deletes the subnet when machine made it (this Create, or a
// virtual network machine made) and no other NIC, nor anything else, is
// in it.
func (t *teardown) subnet(ctx context.Context) error {
	n, m, c := t.n, t.m, t.c
	clear := func(m *Made) { m.Subnet = false }
	if t.rollback && !m.Subnet {
		return nil
	}
	if !m.Subnet {
		// Subnets carry no tags: one that another machine made counts as
		// machine's when its virtual network is.
		v, err := c.vnets.Get(ctx, n.vnetGroup, n.vnet, nil)
		if notFound(err) {
			return nil
		}
		if err != nil {
			return fail(fmt.Sprintf("read virtual network %q", n.vnet), err)
		}
		if !t.mayDelete(false, v.Tags) {
			return nil
		}
	}
	s, err := c.subnets.Get(ctx, n.vnetGroup, n.vnet, n.subnet, nil)
	if notFound(err) {
		return t.shared("", n.subnetID(), nil, clear)
	}
	if err != nil {
		return fail(fmt.Sprintf("read subnet %q", n.subnet), err)
	}
	if subnetInUse(s.Subnet, m.NIC) {
		return t.keep(clear)
	}
	err = t.retry(func() error {
		_, err := done(c.subnets.BeginDelete(ctx, n.vnetGroup, n.vnet, n.subnet, nil)).wait(ctx)
		return err
	})
	return t.shared(fmt.Sprintf("subnet %q of virtual network %q", n.subnet, n.vnet), n.subnetID(), err, clear)
}

// subnetInUse says whether anything but nic's IP configurations is in s.
func subnetInUse(s armnetwork.Subnet, nic string) bool {
	p := s.Properties
	if p == nil {
		return false
	}
	if len(p.PrivateEndpoints) > 0 || len(p.ServiceAssociationLinks) > 0 || len(p.ResourceNavigationLinks) > 0 ||
		len(p.ApplicationGatewayIPConfigurations) > 0 {
		return true
	}
	for _, ipc := range p.IPConfigurations {
		if ipc != nil && !under(val(ipc.ID), nic) {
			return true
		}
	}
	return false
}

// availabilitySet deletes the availability set when machine made it and
// no other VM is in it.
func (t *teardown) availabilitySet(ctx context.Context) error {
	n, m, c := t.n, t.m, t.c
	clear := func(m *Made) { m.AvailabilitySet = false }
	if n.avset == "" || t.rollback && !m.AvailabilitySet {
		return nil
	}
	a, err := c.availSets.Get(ctx, n.group, n.avset, nil)
	if notFound(err) {
		return t.shared("", n.avsetID(), nil, clear)
	}
	if err != nil {
		return fail(fmt.Sprintf("read availability set %q", n.avset), err)
	}
	if !t.mayDelete(m.AvailabilitySet, a.Tags) || availabilitySetInUse(a.AvailabilitySet, n.vmID()) {
		return t.keep(clear)
	}
	err = t.retry(func() error { _, err := c.availSets.Delete(ctx, n.group, n.avset, nil); return err })
	return t.shared(fmt.Sprintf("availability set %q", n.avset), n.avsetID(), err, clear)
}

// availabilitySetInUse says whether a VM other than vm is in a.
func availabilitySetInUse(a armcompute.AvailabilitySet, vm string) bool {
	if a.Properties == nil {
		return false
	}
	for _, v := range a.Properties.VirtualMachines {
		if v != nil && !sameID(val(v.ID), vm) {
			return true
		}
	}
	return false
}

// vnet deletes the virtual network when machine made it and it holds no
// subnet but the machine's, which went.
func (t *teardown) vnet(ctx context.Context) error {
	n, m, c := t.n, t.m, t.c
	clear := func(m *Made) { m.VirtualNetwork = false }
	if t.rollback && !m.VirtualNetwork {
		return nil
	}
	v, err := c.vnets.Get(ctx, n.vnetGroup, n.vnet, nil)
	if notFound(err) {
		return t.shared("", n.vnetID(), nil, clear)
	}
	if err != nil {
		return fail(fmt.Sprintf("read virtual network %q", n.vnet), err)
	}
	if !t.mayDelete(m.VirtualNetwork, v.Tags) {
		return t.keep(clear)
	}
	if v.Properties != nil {
		for _, s := range v.Properties.Subnets {
			if s != nil && !t.isGone(val(s.ID)) {
				return t.keep(clear)
			}
		}
	}
	err = t.retry(func() error { _, err := done(c.vnets.BeginDelete(ctx, n.vnetGroup, n.vnet, nil)).wait(ctx); return err })
	return t.shared(fmt.Sprintf("virtual network %q", n.vnet), n.vnetID(), err, clear)
}

// group deletes the resource group when machine made it and it holds
// nothing but what went (the list may still show what was just deleted).
func (t *teardown) group(ctx context.Context) error {
	n, m, c := t.n, t.m, t.c
	clear := func(m *Made) { m.ResourceGroup = false }
	if t.rollback && !m.ResourceGroup {
		return nil
	}
	g, err := c.groups.Get(ctx, n.group, nil)
	if notFound(err) {
		return t.keep(clear)
	}
	if err != nil {
		return fail(fmt.Sprintf("read resource group %q", n.group), err)
	}
	if !t.mayDelete(m.ResourceGroup, g.Tags) {
		return t.keep(clear)
	}
	pager := c.resources.NewListByResourceGroupPager(n.group, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if notFound(err) {
			return t.keep(clear)
		}
		if err != nil {
			return fail(fmt.Sprintf("list resource group %q", n.group), err)
		}
		for _, r := range page.Value {
			if r != nil && !t.isGone(val(r.ID)) {
				return t.keep(clear) // it holds something else
			}
		}
	}
	_, err = done(c.groups.BeginDelete(ctx, n.group, nil)).wait(ctx)
	return t.shared(fmt.Sprintf("resource group %q", n.group), "", err, clear)
}

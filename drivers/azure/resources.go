package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/internal/retry"
)

const (
	// defaultBackoff is the first pause before a request that conflicted
	// with another machine's is tried again; it doubles up to maxBackoff.
	defaultBackoff = 2 * time.Second
	maxBackoff     = 15 * time.Second
	// maxAttempts bounds the tries of one request (about 45s of pauses).
	maxAttempts = 6
	// pollEvery is the pause between polls of a long-running operation
	// when Azure names none (it usually does, with Retry-After).
	pollEvery = 3 * time.Second
	// ipConfigName is the name of the NIC's one IP configuration.
	ipConfigName = "ipconfig1"
)

// survey is what step 1 of Create found: which shared resources exist.
type survey struct {
	group, vnet, subnet, nsg, avset bool
}

// build runs steps 1 to 5 of Create (see there), recording in Made what it
// makes as it goes. It returns the address clients reach the machine on,
// from the answers to the public IP's or the NIC's PUT, or "" when the
// answer had none.
func (d *Driver) build(ctx context.Context, c *conn, s spec) (string, error) {
	n := d.names()
	found, err := d.survey(ctx, c, n)
	if err != nil {
		return "", err
	}
	if !found.group {
		made, err := d.ensure(ctx, true,
			func(ctx context.Context) (bool, error) { return present(c.groups.Get(ctx, n.group, nil)) },
			func(ctx context.Context) error {
				_, err := c.groups.CreateOrUpdate(ctx, n.group, armresources.ResourceGroup{
					Location: to.Ptr(n.location), Tags: d.tags(true),
				}, nil)
				return err
			})
		if err != nil {
			return "", fail(fmt.Sprintf("create resource group %q in %s", n.group, n.location), err)
		}
		if made {
			d.record(func(m *Made) { m.ResourceGroup = true })
		}
	}
	var publicAddr string
	if err := parallel(
		func() error { return d.buildNetwork(ctx, c, n, found) },
		func() error { return d.buildNSG(ctx, c, n, found) },
		func() (err error) { publicAddr, err = d.buildPublicIP(ctx, c, n); return err },
		func() error { return d.buildAvailabilitySet(ctx, c, n, found) },
	); err != nil {
		return "", err
	}
	d.record(func(m *Made) { m.NIC = n.nicID() })
	var nic armnetwork.Interface
	if _, err := d.ensure(ctx, true, nil, func(ctx context.Context) error {
		r, err := done(c.nics.BeginCreateOrUpdate(ctx, n.group, n.nic, d.nicBody(n), nil)).wait(ctx)
		nic = r.Interface
		return err
	}); err != nil {
		return "", fail(fmt.Sprintf("create network interface %q", n.nic), err)
	}
	d.record(func(m *Made) { m.VM, m.OSDisk = n.vmID(), n.diskID() })
	if _, err := d.ensure(ctx, true, nil, func(ctx context.Context) error {
		_, err := done(c.vms.BeginCreateOrUpdate(ctx, n.group, n.vm, d.vmBody(n, s), nil)).wait(ctx)
		return err
	}); err != nil {
		return "", fail(fmt.Sprintf("create virtual machine %q (size %s, image %s) in resource group %q", n.vm, d.Size, d.Image, n.group), err)
	}
	if d.usesPrivateIP() {
		return privateAddress(nic), nil
	}
	return publicAddr, nil
}

// survey is step 1 of Create: it looks up, all at once, what Create may
// make or reuse. One of the machine's own resources that exists already
// is refused: it is another machine's or a leftover, and Create would
// take it over and its rollback delete it.
func (d *Driver) survey(ctx context.Context, c *conn, n names) (survey, error) {
	var (
		s    survey
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	look := func(what string, own bool, into *bool, get func() error) {
		wg.Go(func() {
			ok, err := present(struct{}{}, get())
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, fail("look up "+what, err))
			case own && ok:
				errs = append(errs, fmt.Errorf("azure: %s already exists (another machine's, or left over); delete it or pick another machine name: %w", what, drivers.ErrAlreadyExists))
			case into != nil:
				*into = ok
			}
		})
	}
	in := func(kind, name, group string) string {
		return fmt.Sprintf("%s %q in resource group %q", kind, name, group)
	}
	look(fmt.Sprintf("resource group %q", n.group), false, &s.group, func() error {
		_, err := c.groups.Get(ctx, n.group, nil)
		return err
	})
	look(in("virtual machine", n.vm, n.group), true, nil, func() error { _, err := c.vms.Get(ctx, n.group, n.vm, nil); return err })
	look(in("OS disk", n.disk, n.group), true, nil, func() error { _, err := c.disks.Get(ctx, n.group, n.disk, nil); return err })
	look(in("network interface", n.nic, n.group), true, nil, func() error { _, err := c.nics.Get(ctx, n.group, n.nic, nil); return err })
	if !d.NoPublicIP {
		look(in("public IP", n.ip, n.group), true, nil, func() error { _, err := c.publicIPs.Get(ctx, n.group, n.ip, nil); return err })
	}
	look(in("network security group", n.nsg, n.group), n.ownNSG, &s.nsg, func() error { _, err := c.nsgs.Get(ctx, n.group, n.nsg, nil); return err })
	look(in("virtual network", n.vnet, n.vnetGroup), false, &s.vnet, func() error { _, err := c.vnets.Get(ctx, n.vnetGroup, n.vnet, nil); return err })
	look(in("subnet", n.subnet, n.vnetGroup), false, &s.subnet, func() error {
		_, err := c.subnets.Get(ctx, n.vnetGroup, n.vnet, n.subnet, nil)
		return err
	})
	if n.avset != "" {
		look(in("availability set", n.avset, n.group), false, &s.avset, func() error {
			_, err := c.availSets.Get(ctx, n.group, n.avset, nil)
			return err
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil && len(errs) > 0 {
		return s, fmt.Errorf("azure: look up the machine's resources: %w", err)
	}
	return s, joinErrors(errs)
}

// buildNetwork makes the virtual network (with the subnet) or, in an
// existing one, the subnet, unless they exist.
func (d *Driver) buildNetwork(ctx context.Context, c *conn, n names, found survey) error {
	getVNet := func(ctx context.Context) (bool, error) { return present(c.vnets.Get(ctx, n.vnetGroup, n.vnet, nil)) }
	getSubnet := func(ctx context.Context) (bool, error) {
		return present(c.subnets.Get(ctx, n.vnetGroup, n.vnet, n.subnet, nil))
	}
	putSubnet := func(ctx context.Context) error {
		_, err := done(c.subnets.BeginCreateOrUpdate(ctx, n.vnetGroup, n.vnet, n.subnet, d.subnetBody(), nil)).wait(ctx)
		return err
	}
	subnetMissing := !found.subnet
	if !found.vnet {
		made, err := d.ensure(ctx, true, getVNet, func(ctx context.Context) error {
			_, err := done(c.vnets.BeginCreateOrUpdate(ctx, n.vnetGroup, n.vnet, d.vnetBody(n), nil)).wait(ctx)
			return err
		})
		if err != nil {
			return fail(fmt.Sprintf("create virtual network %q in resource group %q", n.vnet, n.vnetGroup), err)
		}
		if made {
			d.record(func(m *Made) { m.VirtualNetwork, m.Subnet = true, true })
			return nil
		}
		subnetMissing = false // another machine made the network: look again
	}
	if found.subnet {
		return nil
	}
	made, err := d.ensure(ctx, subnetMissing, getSubnet, putSubnet)
	if err != nil {
		return fail(fmt.Sprintf("create subnet %q in virtual network %q", n.subnet, n.vnet), err)
	}
	if made {
		d.record(func(m *Made) { m.Subnet = true })
	}
	return nil
}

// buildNSG makes the machine's network security group, or a missing
// --azure-nsg; an existing --azure-nsg is used as it is.
func (d *Driver) buildNSG(ctx context.Context, c *conn, n names, found survey) error {
	if found.nsg {
		return nil
	}
	put := func(ctx context.Context) error {
		_, err := done(c.nsgs.BeginCreateOrUpdate(ctx, n.group, n.nsg, d.nsgBody(n), nil)).wait(ctx)
		return err
	}
	var get func(context.Context) (bool, error)
	if n.ownNSG {
		d.record(func(m *Made) { m.NSG = n.nsgID() })
	} else {
		get = func(ctx context.Context) (bool, error) { return present(c.nsgs.Get(ctx, n.group, n.nsg, nil)) }
	}
	made, err := d.ensure(ctx, true, get, put)
	if err != nil {
		return fail(fmt.Sprintf("create network security group %q", n.nsg), err)
	}
	if made && !n.ownNSG {
		d.record(func(m *Made) { m.NSG = n.nsgID() })
	}
	return nil
}

// buildPublicIP makes the machine's public IP, unless --azure-no-public-ip,
// and returns its address (a static one is allocated at once).
func (d *Driver) buildPublicIP(ctx context.Context, c *conn, n names) (string, error) {
	if d.NoPublicIP {
		return "", nil
	}
	d.record(func(m *Made) { m.PublicIP = n.ipID() })
	var addr string
	if _, err := d.ensure(ctx, true, nil, func(ctx context.Context) error {
		r, err := done(c.publicIPs.BeginCreateOrUpdate(ctx, n.group, n.ip, d.publicIPBody(n), nil)).wait(ctx)
		if r.Properties != nil {
			addr = val(r.Properties.IPAddress)
		}
		return err
	}); err != nil {
		return "", fail(fmt.Sprintf("create public IP %q", n.ip), err)
	}
	return addr, nil
}

// buildAvailabilitySet makes the availability set unless it exists or the
// machine goes into a zone.
func (d *Driver) buildAvailabilitySet(ctx context.Context, c *conn, n names, found survey) error {
	if n.avset == "" || found.avset {
		return nil
	}
	made, err := d.ensure(ctx, true,
		func(ctx context.Context) (bool, error) { return present(c.availSets.Get(ctx, n.group, n.avset, nil)) },
		func(ctx context.Context) error {
			_, err := c.availSets.CreateOrUpdate(ctx, n.group, n.avset, d.availabilitySetBody(n), nil)
			return err
		})
	if err != nil {
		return fail(fmt.Sprintf("create availability set %q", n.avset), err)
	}
	if made {
		d.record(func(m *Made) { m.AvailabilitySet = true })
	}
	return nil
}

// Request bodies.

func (d *Driver) vnetBody(n names) armnetwork.VirtualNetwork {
	sub := d.subnetBody()
	sub.Name = to.Ptr(n.subnet)
	return armnetwork.VirtualNetwork{
		Location: to.Ptr(n.location),
		Tags:     d.tags(true),
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{
			AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr(d.SubnetPrefix)}},
			Subnets:      []*armnetwork.Subnet{&sub},
		},
	}
}

// subnetBody is a subnet machine makes. Its machines reach the internet
// for Docker's packages even without a public IP, so it keeps Azure's
// default outbound access, which new subnets otherwise lose.
func (d *Driver) subnetBody() armnetwork.Subnet {
	return armnetwork.Subnet{Properties: &armnetwork.SubnetPropertiesFormat{
		AddressPrefix:         to.Ptr(d.SubnetPrefix),
		DefaultOutboundAccess: to.Ptr(true),
	}}
}

// swarmPorts are the ports Docker swarm mode uses between nodes; they are
// open to the virtual network only.
var swarmPorts = []struct {
	name  string
	port  int
	proto armnetwork.SecurityRuleProtocol
}{
	{"SwarmManagerAllowVnet", 2377, armnetwork.SecurityRuleProtocolTCP},
	{"SwarmNodesTCPAllowVnet", 7946, armnetwork.SecurityRuleProtocolTCP},
	{"SwarmNodesUDPAllowVnet", 7946, armnetwork.SecurityRuleProtocolUDP},
	{"SwarmOverlayAllowVnet", 4789, armnetwork.SecurityRuleProtocolUDP},
}

// securityRules are the NSG's inbound rules: SSH and the engine port from
// anywhere, the swarm ports from the virtual network, and each
// --azure-open-port from anywhere.
func (d *Driver) securityRules() []*armnetwork.SecurityRule {
	rule := func(name string, prio int32, proto armnetwork.SecurityRuleProtocol, port int, from string) *armnetwork.SecurityRule {
		return &armnetwork.SecurityRule{
			Name: to.Ptr(name),
			Properties: &armnetwork.SecurityRulePropertiesFormat{
				Access:                   to.Ptr(armnetwork.SecurityRuleAccessAllow),
				Direction:                to.Ptr(armnetwork.SecurityRuleDirectionInbound),
				Priority:                 to.Ptr(prio),
				Protocol:                 to.Ptr(proto),
				SourceAddressPrefix:      to.Ptr(from),
				SourcePortRange:          to.Ptr("*"),
				DestinationAddressPrefix: to.Ptr("*"),
				DestinationPortRange:     to.Ptr(fmt.Sprint(port)),
			},
		}
	}
	sshPort := d.SSHPort
	if sshPort == 0 {
		sshPort = 22
	}
	rules := []*armnetwork.SecurityRule{
		rule("SSHAllowAny", 300, armnetwork.SecurityRuleProtocolTCP, sshPort, "*"),
		rule("DockerAllowAny", 301, armnetwork.SecurityRuleProtocolTCP, d.dockerPort(), "*"),
	}
	for i, p := range swarmPorts {
		rules = append(rules, rule(p.name, int32(310+i), p.proto, p.port, "VirtualNetwork"))
	}
	seen := map[string]bool{}
	prio := int32(500)
	for _, s := range d.OpenPorts {
		port, proto, err := parsePort(s)
		if err != nil {
			continue // refused by SetFlags and PreCreateCheck
		}
		p, label := armnetwork.SecurityRuleProtocolAsterisk, "Any"
		switch proto {
		case "tcp":
			p, label = armnetwork.SecurityRuleProtocolTCP, "TCP"
		case "udp":
			p, label = armnetwork.SecurityRuleProtocolUDP, "UDP"
		}
		name := fmt.Sprintf("Port%d%sAllowAny", port, label)
		if seen[name] {
			continue
		}
		seen[name] = true
		rules = append(rules, rule(name, prio, p, port, "*"))
		prio++
	}
	return rules
}

func (d *Driver) nsgBody(n names) armnetwork.SecurityGroup {
	return armnetwork.SecurityGroup{
		Location:   to.Ptr(n.location),
		Tags:       d.tags(!n.ownNSG),
		Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: d.securityRules()},
	}
}

// publicIPBody is the public IP, with the --azure-dns label; it goes when
// its VM is deleted. It is always a static Standard SKU address: Azure
// retired Basic SKU public IPs (creation refused since 2025), which were
// the only dynamic ones, so --azure-static-public-ip and
// --azure-enable-public-ip-standard-sku are what every machine gets.
func (d *Driver) publicIPBody(n names) armnetwork.PublicIPAddress {
	alloc, sku := armnetwork.IPAllocationMethodStatic, armnetwork.PublicIPAddressSKUNameStandard
	ip := armnetwork.PublicIPAddress{
		Location: to.Ptr(n.location),
		Tags:     d.tags(false),
		SKU:      &armnetwork.PublicIPAddressSKU{Name: to.Ptr(sku)},
		Properties: &armnetwork.PublicIPAddressPropertiesFormat{
			PublicIPAllocationMethod: to.Ptr(alloc),
			DeleteOption:             to.Ptr(armnetwork.DeleteOptionsDelete),
		},
	}
	if d.DNSLabel != "" {
		ip.Properties.DNSSettings = &armnetwork.PublicIPAddressDNSSettings{DomainNameLabel: to.Ptr(d.DNSLabel)}
	}
	return ip
}

// nicBody is the NIC: in the subnet, behind the NSG, with the public IP
// and a static private address when --azure-private-ip-address is given.
func (d *Driver) nicBody(n names) armnetwork.Interface {
	ipc := &armnetwork.InterfaceIPConfigurationPropertiesFormat{
		Primary:                   to.Ptr(true),
		Subnet:                    &armnetwork.Subnet{ID: to.Ptr(n.subnetID())},
		PrivateIPAllocationMethod: to.Ptr(armnetwork.IPAllocationMethodDynamic),
	}
	if d.PrivateIPAddr != "" {
		ipc.PrivateIPAllocationMethod = to.Ptr(armnetwork.IPAllocationMethodStatic)
		ipc.PrivateIPAddress = to.Ptr(d.PrivateIPAddr)
	}
	if !d.NoPublicIP {
		ipc.PublicIPAddress = &armnetwork.PublicIPAddress{ID: to.Ptr(n.ipID())}
	}
	return armnetwork.Interface{
		Location: to.Ptr(n.location),
		Tags:     d.tags(false),
		Properties: &armnetwork.InterfacePropertiesFormat{
			IPConfigurations:            []*armnetwork.InterfaceIPConfiguration{{Name: to.Ptr(ipConfigName), Properties: ipc}},
			NetworkSecurityGroup:        &armnetwork.SecurityGroup{ID: to.Ptr(n.nsgID())},
			EnableAcceleratedNetworking: to.Ptr(d.AcceleratedNetworking),
		},
	}
}

// availabilitySetBody is an availability set for managed disks (SKU
// Aligned) with the fault and update domain counts.
func (d *Driver) availabilitySetBody(n names) armcompute.AvailabilitySet {
	fault, update := d.FaultCount, d.UpdateCount
	if fault == 0 {
		fault = defaultFaultDomains
	}
	if update == 0 {
		update = defaultUpdateDomains
	}
	return armcompute.AvailabilitySet{
		Location: to.Ptr(n.location),
		Tags:     d.tags(true),
		SKU:      &armcompute.SKU{Name: to.Ptr("Aligned")},
		Properties: &armcompute.AvailabilitySetProperties{
			PlatformFaultDomainCount:  to.Ptr(int32(fault)),
			PlatformUpdateDomainCount: to.Ptr(int32(update)),
		},
	}
}

// vmBody is the VM: the machine's SSH key as its only login, the image
// (and plan), a managed OS disk NAME-osdisk, the NIC, and the availability
// set or zone. Its disk and NIC go when it is deleted.
func (d *Driver) vmBody(n names, s spec) armcompute.VirtualMachine {
	img := &armcompute.ImageReference{}
	if s.image.ID != "" {
		img.ID = to.Ptr(s.image.ID)
	} else {
		img.Publisher, img.Offer, img.SKU, img.Version = to.Ptr(s.image.Publisher), to.Ptr(s.image.Offer), to.Ptr(s.image.SKU), to.Ptr(s.image.Version)
	}
	osp := &armcompute.OSProfile{
		ComputerName:  to.Ptr(n.vm),
		AdminUsername: to.Ptr(d.SSHUser),
		LinuxConfiguration: &armcompute.LinuxConfiguration{
			DisablePasswordAuthentication: to.Ptr(true),
			SSH: &armcompute.SSHConfiguration{PublicKeys: []*armcompute.SSHPublicKey{{
				Path:    to.Ptr("/home/" + d.SSHUser + "/.ssh/authorized_keys"),
				KeyData: to.Ptr(s.publicKey),
			}}},
		},
	}
	if s.customData != "" {
		osp.CustomData = to.Ptr(s.customData)
	}
	diskSize := d.DiskSize
	if diskSize == 0 {
		diskSize = defaultDiskSize
	}
	storage := d.StorageType
	if storage == "" {
		storage = defaultStorageType
	}
	vm := armcompute.VirtualMachine{
		Location: to.Ptr(n.location),
		Tags:     d.tags(false),
		Properties: &armcompute.VirtualMachineProperties{
			HardwareProfile: &armcompute.HardwareProfile{VMSize: to.Ptr(armcompute.VirtualMachineSizeTypes(d.Size))},
			StorageProfile: &armcompute.StorageProfile{
				ImageReference: img,
				OSDisk: &armcompute.OSDisk{
					Name:         to.Ptr(n.disk),
					CreateOption: to.Ptr(armcompute.DiskCreateOptionTypesFromImage),
					Caching:      to.Ptr(armcompute.CachingTypesReadWrite),
					DiskSizeGB:   to.Ptr(int32(diskSize)),
					ManagedDisk:  &armcompute.ManagedDiskParameters{StorageAccountType: to.Ptr(armcompute.StorageAccountTypes(storage))},
					DeleteOption: to.Ptr(armcompute.DiskDeleteOptionTypesDelete),
				},
			},
			OSProfile: osp,
			NetworkProfile: &armcompute.NetworkProfile{NetworkInterfaces: []*armcompute.NetworkInterfaceReference{{
				ID:         to.Ptr(n.nicID()),
				Properties: &armcompute.NetworkInterfaceReferenceProperties{Primary: to.Ptr(true), DeleteOption: to.Ptr(armcompute.DeleteOptionsDelete)},
			}}},
		},
	}
	if n.avset != "" {
		vm.Properties.AvailabilitySet = &armcompute.SubResource{ID: to.Ptr(n.avsetID())}
	} else if d.AvailabilityZone != "" {
		vm.Zones = []*string{to.Ptr(d.AvailabilityZone)}
	}
	if p := strings.Split(d.Plan, ":"); len(p) == 3 {
		vm.Plan = &armcompute.Plan{Publisher: to.Ptr(p[0]), Product: to.Ptr(p[1]), Name: to.Ptr(p[2])}
	}
	return vm
}

func (d *Driver) dockerPort() int {
	if d.DockerPort == 0 {
		return defaultDockerPort
	}
	return d.DockerPort
}

// Calls.

// ensure runs put until it succeeds, and reports whether it made the
// resource. missing says the resource was found missing just before; when
// it was not, or after a conflict (another create making it at the same
// time), get looks first, and an existing resource is left alone. A nil
// get is for the machine's own resources, which are put again. Only
// conflicts are tried again, at most maxAttempts times.
func (d *Driver) ensure(ctx context.Context, missing bool, get func(context.Context) (bool, error), put func(context.Context) error) (bool, error) {
	wait := d.backoff
	if wait <= 0 {
		wait = defaultBackoff
	}
	attempt, made := 0, false
	err := retry.Poll(ctx, wait, maxBackoff, func(ctx context.Context) error {
		attempt++
		if !missing && get != nil {
			ok, err := get(ctx)
			if err != nil {
				return retry.Stop(err)
			}
			if ok {
				return nil
			}
		}
		err := put(ctx)
		if err == nil {
			made = true
			return nil
		}
		if !transient(err) || attempt >= maxAttempts {
			return retry.Stop(err)
		}
		missing = false
		return oneLine(err)
	})
	return made, err
}

// transient says whether err is a conflict with another operation that
// passes: Azure's answers to concurrent changes of one resource, or to a
// reference to a resource that is still being made.
func transient(err error) bool {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	switch re.ErrorCode {
	case "AnotherOperationInProgress", "RetryableError", "OperationPreempted", "Conflict",
		"ReferencedResourceNotProvisioned", "CanceledAndSupersededDueToAnotherOperation":
		return true
	}
	return re.StatusCode == http.StatusConflict && re.ErrorCode == ""
}

// present turns a Get's result into whether the resource exists.
func present[T any](_ T, err error) (bool, error) {
	switch {
	case err == nil:
		return true, nil
	case notFound(err):
		return false, nil
	default:
		return false, err
	}
}

// notFound says whether err is Azure's 404 (the resource, or its group).
func notFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// inUse says whether err refuses a delete because something still uses
// the resource.
func inUse(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && strings.Contains(strings.ToLower(re.ErrorCode), "inuse")
}

// lro waits for a long-running operation that Begin started.
type lro[T any] struct {
	p   *runtime.Poller[T]
	err error
}

// done takes what a Begin method returned.
func done[T any](p *runtime.Poller[T], err error) lro[T] { return lro[T]{p, err} }

// wait polls the operation until it ends.
func (l lro[T]) wait(ctx context.Context) (T, error) {
	if l.err != nil {
		var zero T
		return zero, l.err
	}
	return l.p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: pollEvery})
}

// parallel runs fs at once and returns their errors.
func parallel(fs ...func() error) error {
	errs := make([]error, len(fs))
	var wg sync.WaitGroup
	for i, f := range fs {
		wg.Go(func() { errs[i] = f() })
	}
	wg.Wait()
	return joinErrors(errs)
}

// Errors.

// cloudError is an error Azure answered, in one line: its message, status
// and code.
type cloudError struct {
	status    int
	code, msg string
	err       *azcore.ResponseError
}

func (e *cloudError) Error() string {
	s := fmt.Sprint(e.status)
	if e.code != "" {
		s += " " + e.code
	}
	if e.msg == "" {
		return s
	}
	return e.msg + " (" + s + ")"
}

func (e *cloudError) Unwrap() error { return e.err }

// oneLine turns Azure's multi-line ResponseError into a cloudError; other
// errors stay as they are.
func oneLine(err error) error {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return err
	}
	var ce *cloudError
	if errors.As(err, &ce) {
		return err
	}
	e := &cloudError{status: re.StatusCode, code: re.ErrorCode, err: re}
	if re.RawResponse != nil {
		if body, rerr := runtime.Payload(re.RawResponse); rerr == nil {
			var b struct {
				Error struct{ Code, Message string }
			}
			if json.Unmarshal(body, &b) == nil {
				e.msg = strings.Join(strings.Fields(b.Error.Message), " ")
				if e.code == "" {
					e.code = b.Error.Code
				}
			}
		}
	}
	return e
}

// fail names what failed, gives Azure's answer in one line and, where the
// answer says what to do, a hint.
func fail(what string, err error) error {
	err = oneLine(err)
	if h := hint(err); h != "" {
		return fmt.Errorf("azure: %s: %w; %s", what, err, h)
	}
	return fmt.Errorf("azure: %s: %w", what, err)
}

// hint says what the user can do about err, or "".
func hint(err error) string {
	var ce *cloudError
	if !errors.As(err, &ce) {
		return ""
	}
	code, msg := strings.ToLower(ce.code), strings.ToLower(ce.msg)
	switch {
	case strings.Contains(code, "quota") || strings.Contains(msg, "quota"):
		return "ask for more quota (Azure portal, Quotas) or pick another --azure-size or --azure-location"
	case ce.status == http.StatusUnauthorized || ce.status == http.StatusForbidden || strings.Contains(code, "authorization"):
		return "the signed-in identity needs the Contributor role on the subscription or resource group"
	case code == "skunotavailable" || strings.Contains(code, "allocationfailed"):
		return "pick another --azure-size, --azure-location or --azure-availability-zone"
	case strings.Contains(code, "image") || strings.Contains(code, "marketplace") || strings.Contains(msg, "image"):
		return "check --azure-image (publisher:offer:sku:version, or an image ID) and --azure-plan"
	case code == "subscriptionnotfound" || code == "invalidsubscriptionid":
		return "check --azure-subscription-id"
	case code == "invalidresourcegrouplocation":
		return "the resource group is in another location: use that --azure-location or another --azure-resource-group"
	case code == "resourcegroupbeingdeleted":
		return "the resource group is being deleted: wait until it is gone, or pick another --azure-resource-group"
	case code == "dnsrecordinuse":
		return "pick another --azure-dns label"
	case strings.Contains(code, "privateipaddress"):
		return "pick another --azure-private-ip-address, inside the subnet"
	case code == "locationnotavailableforresourcetype" || code == "nolocationfound" || code == "invalidlocation":
		return "pick another --azure-location"
	}
	return ""
}

// errorList is several errors on one line.
type errorList []error

func (l errorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

func (l errorList) Unwrap() []error { return l }

// joinErrors returns nil, the one error, or an errorList of the non-nil
// errs.
func joinErrors(errs []error) error {
	var l errorList
	for _, e := range errs {
		if e != nil {
			l = append(l, e)
		}
	}
	switch len(l) {
	case 0:
		return nil
	case 1:
		return l[0]
	}
	return l
}

package azuretest

import (
	"context"
	"net/http"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

// netState is a network provisioning state.
func netState(r *resource) *armnetwork.ProvisioningState {
	return ptr(armnetwork.ProvisioningState(r.state))
}

// vnetKind serves virtual networks; their subnets are child resources.
func vnetKind() *kind {
	return &kind{
		typ: typeVNet, rp: rpNetwork, lro: true,
		put: putVNet,
		view: func(s *Server, r *resource, c *call) any {
			o := r.obj.(*armnetwork.VirtualNetwork)
			o.Properties.ProvisioningState = netState(r)
			o.Properties.Subnets = nil
			for _, sn := range s.children(r) {
				o.Properties.Subnets = append(o.Properties.Subnets, viewSubnet(s, sn))
			}
			return o
		},
		inUse: func(s *Server, r *resource) *Error {
			for _, sn := range s.children(r) {
				if e := subnetInUse(s, sn); e != nil {
					return e
				}
			}
			return nil
		},
	}
}

// children are the child resources of r, by name; under s.mu.
func (s *Server) children(r *resource) []*resource {
	k := key(r.id)
	var out []*resource
	for _, c := range s.res {
		if c.parent == k {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *resource) int { return strings.Compare(a.name, b.name) })
	return out
}

// putVNet stores a virtual network and its subnets; subnets it no longer
// lists are deleted, as Azure does, unless in use.
func putVNet(s *Server, c *call, old *resource, body []byte) (*resource, func(context.Context) *Error, *Error) {
	var in armnetwork.VirtualNetwork
	if e := decode(body, &in); e != nil {
		return nil, nil, e
	}
	loc, e := s.place(c, old, in.Location)
	if e != nil {
		return nil, nil, e
	}
	if in.Properties == nil || in.Properties.AddressSpace == nil || len(in.Properties.AddressSpace.AddressPrefixes) == 0 {
		return nil, nil, errorf(http.StatusBadRequest, "InvalidRequestFormat",
			"Cannot parse the request. Virtual network %s must have an address space (properties.addressSpace.addressPrefixes).", c.id)
	}
	space, e := prefixes(in.Properties.AddressSpace.AddressPrefixes, c.id)
	if e != nil {
		return nil, nil, e
	}
	r := old
	if r == nil {
		r = newResource(c, loc, &armnetwork.VirtualNetwork{
			ID: ptr(c.id), Name: ptr(c.name), Type: ptr(typeVNet), Location: ptr(loc),
			Properties: &armnetwork.VirtualNetworkPropertiesFormat{ResourceGUID: ptr(newID())},
		})
	}
	// Subnets: validate all, refuse to drop one in use, then apply.
	var want []*armnetwork.Subnet
	seen := map[string]bool{}
	var taken []netip.Prefix
	for _, sn := range in.Properties.Subnets {
		if sn == nil || str(sn.Name) == "" {
			return nil, nil, errorf(http.StatusBadRequest, "InvalidRequestFormat", "Cannot parse the request. A subnet of %s has no name.", c.id)
		}
		if seen[strings.ToLower(*sn.Name)] {
			return nil, nil, errorf(http.StatusBadRequest, "DuplicateResourceName",
				"Resource %s has two child resources with the same name (%s).", c.id, *sn.Name)
		}
		seen[strings.ToLower(*sn.Name)] = true
		p, e := subnetPrefix(sn.Properties, *sn.Name, c.name, space, taken)
		if e != nil {
			return nil, nil, e
		}
		taken = append(taken, p)
		want = append(want, sn)
	}
	var drop []*resource
	if old != nil {
		for _, sn := range s.children(old) {
			if !seen[strings.ToLower(sn.name)] {
				if e := subnetInUse(s, sn); e != nil {
					return nil, nil, e
				}
				drop = append(drop, sn)
			}
		}
	}
	subs := make([]*resource, 0, len(want))
	for _, sn := range want {
		id := c.id + "/subnets/" + *sn.Name
		sr, e := buildSubnet(s, id, *sn.Name, c.groupKey, key(c.id), loc, s.res[key(id)], sn)
		if e != nil {
			return nil, nil, e
		}
		subs = append(subs, sr)
	}
	for _, d := range drop {
		s.removeTree(d)
	}
	for _, sr := range subs {
		sr.state = stateUpdating
		s.res[key(sr.id)] = sr
	}
	o := r.obj.(*armnetwork.VirtualNetwork)
	o.Tags, o.Etag = in.Tags, etag()
	o.Properties.AddressSpace = &armnetwork.AddressSpace{AddressPrefixes: in.Properties.AddressSpace.AddressPrefixes}
	return r, nil, nil
}

// prefixes parses CIDR address prefixes of resource id.
func prefixes(in []*string, id string) ([]netip.Prefix, *Error) {
	var out []netip.Prefix
	for _, p := range in {
		pp, err := netip.ParsePrefix(str(p))
		if err != nil || pp.Masked() != pp {
			return nil, errorf(http.StatusBadRequest, "InvalidAddressPrefixFormat",
				"Address prefix %s of resource %s is not formatted correctly. It should follow CIDR notation, for example 10.0.0.0/24.", str(p), id)
		}
		out = append(out, pp)
	}
	return out, nil
}

// subnetPrefix checks a subnet's address prefix: given, inside its
// network's address space, overlapping none of taken.
func subnetPrefix(p *armnetwork.SubnetPropertiesFormat, name, vnet string, space, taken []netip.Prefix) (netip.Prefix, *Error) {
	var raw *string
	if p != nil {
		raw = p.AddressPrefix
		if raw == nil && len(p.AddressPrefixes) > 0 {
			raw = p.AddressPrefixes[0]
		}
	}
	if raw == nil {
		return netip.Prefix{}, errorf(http.StatusBadRequest, "NoAddressPrefixOrPoolProvided",
			"No address prefix or pool is provided for subnet '%s'.", name)
	}
	ps, e := prefixes([]*string{raw}, name)
	if e != nil {
		return netip.Prefix{}, e
	}
	sp := ps[0]
	if !slices.ContainsFunc(space, func(v netip.Prefix) bool { return v.Bits() <= sp.Bits() && v.Contains(sp.Addr()) }) {
		return netip.Prefix{}, errorf(http.StatusBadRequest, "NetcfgSubnetRangeOutsideVnet",
			"Subnet '%s' is not valid because its IP address range is outside the IP address range of virtual network '%s'.", name, vnet)
	}
	if slices.ContainsFunc(taken, sp.Overlaps) {
		return netip.Prefix{}, errorf(http.StatusBadRequest, "NetcfgSubnetRangesOverlap",
			"Subnet '%s' is not valid because its IP address range overlaps with that of an existing subnet in virtual network '%s'.", name, vnet)
	}
	return sp, nil
}

// buildSubnet validates a subnet's references and makes (or updates) its
// store entry; under s.mu.
func buildSubnet(s *Server, id, name, group, parent, loc string, old *resource, in *armnetwork.Subnet) (*resource, *Error) {
	out := &armnetwork.Subnet{
		ID: ptr(id), Name: ptr(name), Type: ptr(typeSubnet), Etag: etag(),
		Properties: &armnetwork.SubnetPropertiesFormat{},
	}
	if in.Properties != nil {
		out.Properties.AddressPrefix = in.Properties.AddressPrefix
		out.Properties.AddressPrefixes = in.Properties.AddressPrefixes
		if n := in.Properties.NetworkSecurityGroup; n != nil {
			nsg, e := s.ref(str(n.ID), typeNSG, id, loc)
			if e != nil {
				return nil, e
			}
			out.Properties.NetworkSecurityGroup = &armnetwork.SecurityGroup{ID: ptr(nsg.id)}
		}
	}
	if old != nil {
		old.obj = out
		return old, nil
	}
	return &resource{id: id, kind: subnetKindRef(s), name: name, group: group, parent: parent, loc: loc, obj: out}, nil
}

// subnetKindRef is the stand-in's subnet kind.
func subnetKindRef(s *Server) *kind { return s.kinds[strings.ToLower(typeSubnet)] }

// subnetKind serves subnets, child resources of virtual networks.
func subnetKind() *kind {
	return &kind{
		typ: typeSubnet, rp: rpNetwork, lro: true, child: true,
		notFound: func(c *call) *Error {
			return errorf(http.StatusNotFound, "NotFound", "Resource %s not found.", c.id)
		},
		put: func(s *Server, c *call, old *resource, body []byte) (*resource, func(context.Context) *Error, *Error) {
			vnet := s.parentOf(c)
			if vnet == nil {
				return nil, nil, notFound(typeVNet, c.group, path.Base(parentID(c.id)))
			}
			var in armnetwork.Subnet
			if e := decode(body, &in); e != nil {
				return nil, nil, e
			}
			vo := vnet.obj.(*armnetwork.VirtualNetwork)
			space, e := prefixes(vo.Properties.AddressSpace.AddressPrefixes, vnet.id)
			if e != nil {
				return nil, nil, e
			}
			var taken []netip.Prefix
			for _, sib := range s.children(vnet) {
				if sib == old {
					continue
				}
				if p, e := subnetPrefix(sib.obj.(*armnetwork.Subnet).Properties, sib.name, vnet.name, space, nil); e == nil {
					taken = append(taken, p)
				}
			}
			if _, e := subnetPrefix(in.Properties, c.name, vnet.name, space, taken); e != nil {
				return nil, nil, e
			}
			if old != nil {
				// A subnet in use keeps its range.
				if users := subnetUsers(s, old); len(users) > 0 {
					was := old.obj.(*armnetwork.Subnet).Properties
					if str(was.AddressPrefix) != str(in.Properties.AddressPrefix) {
						return nil, nil, errorf(http.StatusBadRequest, "InUseSubnetCannotBeUpdated",
							"Subnet %s is in use and cannot be updated.", c.name)
					}
				}
			}
			r, e := buildSubnet(s, c.id, c.name, c.groupKey, key(vnet.id), vnet.loc, old, &in)
			return r, nil, e
		},
		view:  func(s *Server, r *resource, c *call) any { return viewSubnet(s, r) },
		inUse: subnetInUse,
	}
}

// viewSubnet is a subnet with its provisioning state and the NIC IP
// configurations in it; under s.mu.
func viewSubnet(s *Server, r *resource) *armnetwork.Subnet {
	o := r.obj.(*armnetwork.Subnet)
	o.Properties.ProvisioningState = netState(r)
	o.Properties.IPConfigurations = nil
	for _, id := range subnetUsers(s, r) {
		o.Properties.IPConfigurations = append(o.Properties.IPConfigurations, &armnetwork.IPConfiguration{ID: ptr(id)})
	}
	return o
}

// subnetUsers are the IDs of the NIC IP configurations in subnet r; under
// s.mu.
func subnetUsers(s *Server, r *resource) []string {
	var ids []string
	s.eachIPConfig(func(_ *resource, ipc *armnetwork.InterfaceIPConfiguration) {
		if p := ipc.Properties; p != nil && p.Subnet != nil && key(str(p.Subnet.ID)) == key(r.id) {
			ids = append(ids, str(ipc.ID))
		}
	})
	slices.Sort(ids)
	return ids
}

// subnetInUse refuses to delete a subnet with NICs in it.
func subnetInUse(s *Server, r *resource) *Error {
	if users := subnetUsers(s, r); len(users) > 0 {
		return errorf(http.StatusBadRequest, "InUseSubnetCannotBeDeleted",
			"Subnet %s is in use by %s and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.",
			r.name, strings.Join(users, ", "))
	}
	return nil
}

// eachIPConfig calls fn for every IP configuration of every NIC, in ID
// order; under s.mu.
func (s *Server) eachIPConfig(fn func(nic *resource, ipc *armnetwork.InterfaceIPConfiguration)) {
	var nics []*resource
	for _, r := range s.res {
		if r.kind != nil && r.kind.typ == typeNIC {
			nics = append(nics, r)
		}
	}
	slices.SortFunc(nics, func(a, b *resource) int { return strings.Compare(key(a.id), key(b.id)) })
	for _, n := range nics {
		if p := n.obj.(*armnetwork.Interface).Properties; p != nil {
			for _, ipc := range p.IPConfigurations {
				fn(n, ipc)
			}
		}
	}
}

// nsgKind serves network security groups with their security rules.
func nsgKind() *kind {
	return &kind{
		typ: typeNSG, rp: rpNetwork, lro: true,
		put: func(s *Server, c *call, old *resource, body []byte) (*resource, func(context.Context) *Error, *Error) {
			var in armnetwork.SecurityGroup
			if e := decode(body, &in); e != nil {
				return nil, nil, e
			}
			loc, e := s.place(c, old, in.Location)
			if e != nil {
				return nil, nil, e
			}
			var rules []*armnetwork.SecurityRule
			if in.Properties != nil {
				rules = in.Properties.SecurityRules
			}
			byPrio := map[string]string{}
			for _, rule := range rules {
				if rule == nil || str(rule.Name) == "" || rule.Properties == nil {
					return nil, nil, errorf(http.StatusBadRequest, "InvalidRequestFormat", "Cannot parse the request. A security rule of %s has no name or properties.", c.id)
				}
				p := rule.Properties
				if p.Priority == nil || *p.Priority < 100 || *p.Priority > 4096 {
					got := "null"
					if p.Priority != nil {
						got = strconv.Itoa(int(*p.Priority))
					}
					return nil, nil, errorf(http.StatusBadRequest, "SecurityRuleInvalidPriority",
						"Security rule has invalid Priority. Value provided: %s Allowed range 100-4096.", got)
				}
				if p.Access == nil || p.Direction == nil || p.Protocol == nil {
					return nil, nil, errorf(http.StatusBadRequest, "SecurityRuleParameterMissing",
						"Security rule %s is missing access, direction or protocol.", *rule.Name)
				}
				k := string(*p.Direction) + "/" + strconv.Itoa(int(*p.Priority))
				if other, dup := byPrio[k]; dup {
					return nil, nil, errorf(http.StatusBadRequest, "SecurityRuleConflict",
						"Security rule %s conflicts with rule %s. Rules cannot have the same Priority and Direction. To learn more, see aka.ms/nsgrules.", *rule.Name, other)
				}
				byPrio[k] = *rule.Name
				rule.ID = ptr(c.id + "/securityRules/" + *rule.Name)
				rule.Type = ptr(typeNSG + "/securityRules")
				rule.Etag = etag()
			}
			r := old
			if r == nil {
				r = newResource(c, loc, &armnetwork.SecurityGroup{
					ID: ptr(c.id), Name: ptr(c.name), Type: ptr(typeNSG), Location: ptr(loc),
					Properties: &armnetwork.SecurityGroupPropertiesFormat{ResourceGUID: ptr(newID())},
				})
			}
			o := r.obj.(*armnetwork.SecurityGroup)
			o.Tags, o.Etag = in.Tags, etag()
			o.Properties.SecurityRules = rules
			return r, nil, nil
		},
		view: func(s *Server, r *resource, c *call) any {
			o := r.obj.(*armnetwork.SecurityGroup)
			o.Properties.ProvisioningState = netState(r)
			for _, rule := range o.Properties.SecurityRules {
				rule.Properties.ProvisioningState = netState(r)
			}
			nics, subnets := nsgUsers(s, r)
			o.Properties.NetworkInterfaces, o.Properties.Subnets = nil, nil
			for _, id := range nics {
				o.Properties.NetworkInterfaces = append(o.Properties.NetworkInterfaces, &armnetwork.Interface{ID: ptr(id)})
			}
			for _, id := range subnets {
				o.Properties.Subnets = append(o.Properties.Subnets, &armnetwork.Subnet{ID: ptr(id)})
			}
			return o
		},
		inUse: func(s *Server, r *resource) *Error {
			nics, subnets := nsgUsers(s, r)
			if users := append(nics, subnets...); len(users) > 0 {
				return errorf(http.StatusBadRequest, "InUseNetworkSecurityGroupCannotBeDeleted",
					"Network security group %s cannot be deleted because it is in use by the following resources: %s. In order to delete the Network security group, remove the association with the resource(s). To learn how to do this, see aka.ms/deletensg.",
					r.id, strings.Join(users, ", "))
			}
			return nil
		},
	}
}

// nsgUsers are the IDs of the NICs and subnets that use security group r;
// under s.mu.
func nsgUsers(s *Server, r *resource) (nics, subnets []string) {
	k := key(r.id)
	for _, x := range s.res {
		switch o := x.obj.(type) {
		case *armnetwork.Interface:
			if o.Properties.NetworkSecurityGroup != nil && key(str(o.Properties.NetworkSecurityGroup.ID)) == k {
				nics = append(nics, x.id)
			}
		case *armnetwork.Subnet:
			if o.Properties.NetworkSecurityGroup != nil && key(str(o.Properties.NetworkSecurityGroup.ID)) == k {
				subnets = append(subnets, x.id)
			}
		}
	}
	slices.Sort(nics)
	slices.Sort(subnets)
	return nics, subnets
}

// validLabel says whether Azure takes label as a public IP's domain name
// label: ^[a-z][a-z0-9-]{1,61}[a-z0-9]$.
func validLabel(label string) bool {
	if len(label) < 3 || len(label) > 63 || label[0] < 'a' || label[0] > 'z' || label[len(label)-1] == '-' {
		return false
	}
	for _, ch := range label {
		if (ch < 'a' || ch > 'z') && (ch < '0' || ch > '9') && ch != '-' {
			return false
		}
	}
	return true
}

// publicIPKind serves public IP addresses. A dynamic address exists while
// its VM is allocated; a static one from its VM's creation on (the
// stand-in learns addresses from Hooks.CreateVM, so a static address is
// empty until then).
func publicIPKind() *kind {
	return &kind{
		typ: typePublicIP, rp: rpNetwork, lro: true,
		put: func(s *Server, c *call, old *resource, body []byte) (*resource, func(context.Context) *Error, *Error) {
			var in armnetwork.PublicIPAddress
			if e := decode(body, &in); e != nil {
				return nil, nil, e
			}
			loc, e := s.place(c, old, in.Location)
			if e != nil {
				return nil, nil, e
			}
			sku := armnetwork.PublicIPAddressSKUNameBasic
			if in.SKU != nil && in.SKU.Name != nil {
				sku = *in.SKU.Name
			}
			p := in.Properties
			if p == nil {
				p = &armnetwork.PublicIPAddressPropertiesFormat{}
			}
			alloc := armnetwork.IPAllocationMethodDynamic
			if sku == armnetwork.PublicIPAddressSKUNameStandard {
				alloc = armnetwork.IPAllocationMethodStatic
			}
			if p.PublicIPAllocationMethod != nil {
				alloc = *p.PublicIPAllocationMethod
			}
			if sku == armnetwork.PublicIPAddressSKUNameStandard && alloc != armnetwork.IPAllocationMethodStatic {
				return nil, nil, errorf(http.StatusBadRequest, "StandardSkuPublicIPAddressesMustBeStatic",
					"Standard sku publicIp %s must have AllocationMethod set to Static.", c.id)
			}
			var dns *armnetwork.PublicIPAddressDNSSettings
			if p.DNSSettings != nil && str(p.DNSSettings.DomainNameLabel) != "" {
				label := *p.DNSSettings.DomainNameLabel
				if !validLabel(label) {
					return nil, nil, errorf(http.StatusBadRequest, "InvalidDomainNameLabel",
						"The domain name label %s is invalid. It must conform to the following regular expression: ^[a-z][a-z0-9-]{1,61}[a-z0-9]$.", label)
				}
				fqdn := label + "." + loc + ".cloudapp.azure.com"
				for _, x := range s.res {
					if o, ok := x.obj.(*armnetwork.PublicIPAddress); ok && x != old &&
						o.Properties.DNSSettings != nil && str(o.Properties.DNSSettings.Fqdn) == fqdn {
						return nil, nil, errorf(http.StatusBadRequest, "DnsRecordInUse",
							"DNS record %s is already used by another public IP.", fqdn)
					}
				}
				dns = &armnetwork.PublicIPAddressDNSSettings{DomainNameLabel: ptr(label), Fqdn: ptr(fqdn)}
			}
			r := old
			if r == nil {
				r = newResource(c, loc, &armnetwork.PublicIPAddress{
					ID: ptr(c.id), Name: ptr(c.name), Type: ptr(typePublicIP), Location: ptr(loc),
					Properties: &armnetwork.PublicIPAddressPropertiesFormat{ResourceGUID: ptr(newID())},
				})
			}
			o := r.obj.(*armnetwork.PublicIPAddress)
			o.Tags, o.Etag = in.Tags, etag()
			tier := armnetwork.PublicIPAddressSKUTierRegional
			o.SKU = &armnetwork.PublicIPAddressSKU{Name: &sku, Tier: &tier}
			o.Properties.PublicIPAllocationMethod = &alloc
			o.Properties.DNSSettings = dns
			o.Properties.PublicIPAddressVersion = ptr(armnetwork.IPVersionIPv4)
			o.Properties.IdleTimeoutInMinutes = p.IdleTimeoutInMinutes
			if o.Properties.IdleTimeoutInMinutes == nil {
				o.Properties.IdleTimeoutInMinutes = ptr[int32](4)
			}
			return r, nil, nil
		},
		view: func(s *Server, r *resource, c *call) any {
			o := r.obj.(*armnetwork.PublicIPAddress)
			o.Properties.ProvisioningState = netState(r)
			o.Properties.IPConfiguration = nil
			if id := publicIPUser(s, r); id != "" {
				o.Properties.IPConfiguration = &armnetwork.IPConfiguration{ID: ptr(id)}
			}
			return o
		},
		inUse: func(s *Server, r *resource) *Error {
			if id := publicIPUser(s, r); id != "" {
				return errorf(http.StatusBadRequest, "PublicIPAddressCannotBeDeleted",
					"Public IP address %s can not be deleted since it is still allocated to resource %s. In order to delete the public IP, disassociate/detach the Public IP address from the resource.  To learn how to do this, see aka.ms/deletepublicip.",
					r.id, id)
			}
			return nil
		},
	}
}

// publicIPUser is the ID of the NIC IP configuration using public IP r,
// or ""; under s.mu.
func publicIPUser(s *Server, r *resource) string {
	var user string
	s.eachIPConfig(func(_ *resource, ipc *armnetwork.InterfaceIPConfiguration) {
		if p := ipc.Properties; p != nil && p.PublicIPAddress != nil && key(str(p.PublicIPAddress.ID)) == key(r.id) {
			user = str(ipc.ID)
		}
	})
	return user
}

// nicKind serves network interfaces: IP configurations in a subnet, with
// a private address from it and maybe a public IP.
func nicKind() *kind {
	return &kind{
		typ: typeNIC, rp: rpNetwork, lro: true,
		put: putNIC,
		view: func(s *Server, r *resource, c *call) any {
			o := r.obj.(*armnetwork.Interface)
			o.Properties.ProvisioningState = netState(r)
			for _, ipc := range o.Properties.IPConfigurations {
				ipc.Properties.ProvisioningState = netState(r)
			}
			o.Properties.VirtualMachine, o.Properties.Primary = nil, nil
			if vm, primary := nicUser(s, r); vm != nil {
				o.Properties.VirtualMachine = &armnetwork.SubResource{ID: ptr(vm.id)}
				o.Properties.Primary = ptr(primary)
			}
			return o
		},
		inUse: func(s *Server, r *resource) *Error {
			if vm, _ := nicUser(s, r); vm != nil {
				return errorf(http.StatusBadRequest, "NicInUse",
					"Network Interface %s is used by existing resource %s. In order to delete the network interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic.",
					r.id, vm.id)
			}
			return nil
		},
	}
}

// putNIC validates and stores a network interface, giving each IP
// configuration a private address from its subnet as Azure does.
func putNIC(s *Server, c *call, old *resource, body []byte) (*resource, func(context.Context) *Error, *Error) {
	var in armnetwork.Interface
	if e := decode(body, &in); e != nil {
		return nil, nil, e
	}
	loc, e := s.place(c, old, in.Location)
	if e != nil {
		return nil, nil, e
	}
	if in.Properties == nil || len(in.Properties.IPConfigurations) == 0 {
		return nil, nil, errorf(http.StatusBadRequest, "InvalidRequestFormat",
			"Cannot parse the request. Network interface %s must have at least one IP configuration.", c.id)
	}
	out := &armnetwork.InterfacePropertiesFormat{ResourceGUID: ptr(newID())}
	if old != nil {
		out.ResourceGUID = old.obj.(*armnetwork.Interface).Properties.ResourceGUID
	}
	if n := in.Properties.NetworkSecurityGroup; n != nil {
		nsg, e := s.ref(str(n.ID), typeNSG, c.id, loc)
		if e != nil {
			return nil, nil, e
		}
		out.NetworkSecurityGroup = &armnetwork.SecurityGroup{ID: ptr(nsg.id)}
	}
	var oldIPCs []*armnetwork.InterfaceIPConfiguration
	if old != nil {
		oldIPCs = old.obj.(*armnetwork.Interface).Properties.IPConfigurations
	}
	claimed := map[string]bool{} // subnet key + address, taken within this request
	for i, ipc := range in.Properties.IPConfigurations {
		if ipc == nil || str(ipc.Name) == "" || ipc.Properties == nil {
			return nil, nil, errorf(http.StatusBadRequest, "InvalidRequestFormat", "Cannot parse the request. An IP configuration of %s has no name or properties.", c.id)
		}
		id := c.id + "/ipConfigurations/" + *ipc.Name
		p := ipc.Properties
		if p.Subnet == nil || str(p.Subnet.ID) == "" {
			return nil, nil, errorf(http.StatusBadRequest, "SubnetIsRequired", "Subnet is required for IP configuration %s.", id)
		}
		sn, e := s.ref(str(p.Subnet.ID), typeSubnet, c.id, loc)
		if e != nil {
			return nil, nil, e
		}
		q := &armnetwork.InterfaceIPConfigurationPropertiesFormat{
			Subnet:                  &armnetwork.Subnet{ID: ptr(sn.id)},
			PrivateIPAddressVersion: ptr(armnetwork.IPVersionIPv4),
			Primary:                 p.Primary,
		}
		if q.Primary == nil {
			q.Primary = ptr(i == 0)
		}
		if p.PublicIPAddress != nil {
			pip, e := s.ref(str(p.PublicIPAddress.ID), typePublicIP, c.id, loc)
			if e != nil {
				return nil, nil, e
			}
			if user := publicIPUser(s, pip); user != "" && !strings.HasPrefix(key(user), key(c.id)+"/") {
				return nil, nil, errorf(http.StatusBadRequest, "PublicIPAddressInUse",
					"Resource %s is referenced by resource %s and cannot be used by %s.", pip.id, user, id)
			}
			q.PublicIPAddress = &armnetwork.PublicIPAddress{ID: ptr(pip.id)}
		}
		addr, method, e := s.privateIP(c, sn, id, p, oldIPCs, claimed)
		if e != nil {
			return nil, nil, e
		}
		claimed[key(sn.id)+" "+addr.String()] = true
		q.PrivateIPAddress, q.PrivateIPAllocationMethod = ptr(addr.String()), &method
		out.IPConfigurations = append(out.IPConfigurations, &armnetwork.InterfaceIPConfiguration{
			ID: ptr(id), Name: ipc.Name, Type: ptr(typeNIC + "/ipConfigurations"), Etag: etag(), Properties: q,
		})
	}
	r := old
	if r == nil {
		r = newResource(c, loc, &armnetwork.Interface{ID: ptr(c.id), Name: ptr(c.name), Type: ptr(typeNIC), Location: ptr(loc)})
	}
	o := r.obj.(*armnetwork.Interface)
	o.Tags, o.Etag, o.Properties = in.Tags, etag(), out
	return r, nil, nil
}

// privateIP is the address of an IP configuration: the static one asked
// for, the one it had in the same subnet, or the first free one (Azure
// keeps the first four and the last address of a subnet); under s.mu.
func (s *Server) privateIP(c *call, sn *resource, id string, p *armnetwork.InterfaceIPConfigurationPropertiesFormat,
	oldIPCs []*armnetwork.InterfaceIPConfiguration, claimed map[string]bool) (netip.Addr, armnetwork.IPAllocationMethod, *Error) {
	sp := sn.obj.(*armnetwork.Subnet).Properties
	raw := sp.AddressPrefix
	if raw == nil && len(sp.AddressPrefixes) > 0 {
		raw = sp.AddressPrefixes[0]
	}
	prefix, err := netip.ParsePrefix(str(raw))
	if err != nil {
		return netip.Addr{}, "", errorf(http.StatusBadRequest, "InvalidAddressPrefixFormat", "Subnet %s has no usable address prefix.", sn.id)
	}
	used := map[netip.Addr]string{}
	s.eachIPConfig(func(nic *resource, ipc *armnetwork.InterfaceIPConfiguration) {
		q := ipc.Properties
		if key(nic.id) == c.key || q == nil || q.Subnet == nil || key(str(q.Subnet.ID)) != key(sn.id) {
			return
		}
		if a, err := netip.ParseAddr(str(q.PrivateIPAddress)); err == nil {
			used[a] = str(ipc.ID)
		}
	})
	free := func(a netip.Addr) bool { return used[a] == "" && !claimed[key(sn.id)+" "+a.String()] }
	if p.PrivateIPAllocationMethod != nil && *p.PrivateIPAllocationMethod == armnetwork.IPAllocationMethodStatic {
		a, err := netip.ParseAddr(str(p.PrivateIPAddress))
		switch {
		case err != nil || !prefix.Contains(a):
			return netip.Addr{}, "", errorf(http.StatusBadRequest, "PrivateIPAddressNotInSubnet",
				"IP configuration %s is using the private IP address %s which is not in the range of subnet %s.", id, str(p.PrivateIPAddress), sn.id)
		case !free(a):
			return netip.Addr{}, "", errorf(http.StatusBadRequest, "PrivateIPAddressInUse",
				"IP configuration %s is using the private IP address %s which is already allocated to resource %s.", id, a, used[a])
		}
		return a, armnetwork.IPAllocationMethodStatic, nil
	}
	for _, o := range oldIPCs {
		q := o.Properties
		if strings.EqualFold(str(o.ID), id) && q != nil && q.Subnet != nil && key(str(q.Subnet.ID)) == key(sn.id) {
			if a, err := netip.ParseAddr(str(q.PrivateIPAddress)); err == nil && free(a) {
				return a, armnetwork.IPAllocationMethodDynamic, nil
			}
		}
	}
	a := prefix.Addr()
	for range 4 {
		a = a.Next()
	}
	for ; prefix.Contains(a) && prefix.Contains(a.Next()); a = a.Next() {
		if free(a) {
			return a, armnetwork.IPAllocationMethodDynamic, nil
		}
	}
	return netip.Addr{}, "", errorf(http.StatusBadRequest, "SubnetIsFull",
		"Subnet %s with address prefix %s does not have enough capacity for 1 IP addresses.", sn.name, prefix)
}

// nicUser is the VM using NIC r, and whether r is its primary NIC; under
// s.mu.
func nicUser(s *Server, r *resource) (*resource, bool) {
	for _, x := range s.res {
		if x.kind == nil || x.kind.typ != typeVM {
			continue
		}
		refs := vmNICs(x)
		for i, n := range refs {
			if key(str(n.ID)) == key(r.id) {
				return x, primaryNIC(refs) == i
			}
		}
	}
	return nil, false
}

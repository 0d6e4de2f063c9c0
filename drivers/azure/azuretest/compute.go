package azuretest

import (
	"context"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"golang.org/x/crypto/ssh"
)

// Power states of a VM, as in PowerState/... instance view codes.
const (
	powerStarting     = "starting"
	powerRunning      = "running"
	powerStopping     = "stopping"
	powerStopped      = "stopped"
	powerDeallocating = "deallocating"
	powerDeallocated  = "deallocated"
)

// maxCustomData is the longest base64 custom data Azure takes.
const maxCustomData = 87380

// reservedUser says whether Azure refuses name as an admin user name.
func reservedUser(name string) bool {
	return slices.Contains([]string{
		"administrator", "admin", "user", "user1", "test", "user2", "test1", "user3", "admin1", "1", "123", "a",
		"actuser", "adm", "admin2", "aspnet", "backup", "console", "david", "guest", "john", "owner", "root",
		"server", "sql", "support", "support_388945a0", "sys", "test2", "test3", "user4", "user5",
	}, strings.ToLower(name))
}

// vmState is what the stand-in knows of a VM's host.
type vmState struct {
	spec      VM
	power     string
	created   bool   // Hooks.CreateVM succeeded: there is a host
	failure   *Error // why creation failed
	publicIP  string // from Hooks.CreateVM
	privateIP string
	changed   time.Time
}

// vmKind serves virtual machines: PUT creates the host through
// Hooks.CreateVM; POST powerOff, deallocate, start and restart drive
// Hooks.PowerVM; DELETE calls Hooks.DeleteVM.
func vmKind() *kind {
	return &kind{
		typ: typeVM, rp: rpCompute, lro: true,
		put: putVM,
		view: func(s *Server, r *resource, c *call) any {
			o := r.obj.(*armcompute.VirtualMachine)
			o.Properties.ProvisioningState = ptr(r.state)
			o.Properties.InstanceView = nil
			if strings.EqualFold(c.r.URL.Query().Get("$expand"), "instanceView") {
				o.Properties.InstanceView = instanceView(r)
			}
			return o
		},
		remove: func(ctx context.Context, s *Server, r *resource) *Error {
			s.mu.Lock()
			created, spec := r.vm.created, r.vm.spec
			s.mu.Unlock()
			if !created {
				return nil
			}
			if err := s.opts.Hooks.DeleteVM(ctx, spec); err != nil {
				return asError(err)
			}
			return nil
		},
		removed: vmRemoved,
		actions: map[string]func(*Server, http.ResponseWriter, *call){
			"poweroff":     powerAction("powerOff"),
			"deallocate":   powerAction("deallocate"),
			"start":        powerAction("start"),
			"restart":      powerAction("restart"),
			"instanceview": getInstanceView,
		},
	}
}

// putVM validates a VM as compute does, creates its OS disk and starts
// the host; on an existing VM it updates tags and size only.
func putVM(s *Server, c *call, old *resource, body []byte) (*resource, func(context.Context) *Error, *Error) {
	var in armcompute.VirtualMachine
	if e := decode(body, &in); e != nil {
		return nil, nil, e
	}
	loc, e := s.place(c, old, in.Location)
	if e != nil {
		return nil, nil, e
	}
	p := in.Properties
	if p == nil {
		p = &armcompute.VirtualMachineProperties{}
	}
	size := ""
	if p.HardwareProfile != nil && p.HardwareProfile.VMSize != nil {
		size = string(*p.HardwareProfile.VMSize)
	}
	if old != nil && old.vm.created {
		return updateVM(s, c, old, &in, size, loc)
	}
	if size == "" {
		return nil, nil, missing("hardwareProfile.vmSize")
	}
	if e := s.sizeAvailable(size, loc); e != nil {
		return nil, nil, e
	}
	sp := p.StorageProfile
	if sp == nil || sp.ImageReference == nil {
		return nil, nil, missing("imageReference")
	}
	img := Image{
		Publisher: str(sp.ImageReference.Publisher), Offer: str(sp.ImageReference.Offer),
		SKU: str(sp.ImageReference.SKU), Version: str(sp.ImageReference.Version), ID: str(sp.ImageReference.ID),
	}
	if img.ID == "" && (img.Publisher == "" || img.Offer == "" || img.SKU == "") {
		return nil, nil, invalidParam("imageReference",
			"The value of parameter imageReference is invalid: give publisher, offer and sku, or id.")
	}
	spec, e := osProfile(p.OSProfile, c.name)
	if e != nil {
		return nil, nil, e
	}
	spec.ID, spec.Name, spec.ResourceGroup, spec.Location, spec.Size, spec.Image, spec.Tags =
		c.id, c.name, c.group, loc, size, img, tags(in.Tags)

	if p.NetworkProfile == nil || len(p.NetworkProfile.NetworkInterfaces) == 0 {
		return nil, nil, missing("networkProfile")
	}
	nics := make([]*armcompute.NetworkInterfaceReference, 0, len(p.NetworkProfile.NetworkInterfaces))
	for _, n := range p.NetworkProfile.NetworkInterfaces {
		nic, e := s.ref(str(n.ID), typeNIC, c.id, loc)
		if e != nil {
			return nil, nil, e
		}
		if vm, _ := nicUser(s, nic); vm != nil && vm != old {
			return nil, nil, errorf(http.StatusBadRequest, "NicInUse",
				"Network Interface %s is used by existing resource %s. In order to use it, it must be dissociated from the resource.", nic.id, vm.id)
		}
		ref := &armcompute.NetworkInterfaceReference{ID: ptr(nic.id), Properties: &armcompute.NetworkInterfaceReferenceProperties{}}
		if n.Properties != nil {
			ref.Properties.Primary, ref.Properties.DeleteOption = n.Properties.Primary, n.Properties.DeleteOption
		}
		if ref.Properties.DeleteOption == nil {
			ref.Properties.DeleteOption = ptr(armcompute.DeleteOptionsDetach)
		}
		nics = append(nics, ref)
	}
	if len(nics) > 1 && primaryNIC(nics) < 0 {
		return nil, nil, invalidParam("networkProfile.networkInterfaces",
			"Virtual machine %s must have one network interface set as the primary.", c.name)
	}

	var avset *armcompute.SubResource
	if p.AvailabilitySet != nil {
		as, e := s.ref(str(p.AvailabilitySet.ID), typeAvailSet, c.id, loc)
		if e != nil {
			return nil, nil, e
		}
		if o := as.obj.(*armcompute.AvailabilitySet); o.SKU == nil || !strings.EqualFold(str(o.SKU.Name), "Aligned") {
			e := errorf(http.StatusConflict, "OperationNotAllowed",
				"Addition of a VM with managed disks to non-managed Availability Set or addition of a VM with blob based disks to managed Availability Set is not supported. Please create an Availability Set with 'Aligned' SKU in order to add a VM with managed disks to it.")
			e.Target = c.name
			return nil, nil, e
		}
		avset = &armcompute.SubResource{ID: ptr(as.id)}
	}

	osDisk, disk, e := s.osDisk(c, sp.OSDisk, loc, img, old)
	if e != nil {
		return nil, nil, e
	}

	r := old
	if r == nil {
		r = newResource(c, loc, nil)
		r.vm = &vmState{}
	}
	r.vm.spec, r.vm.power, r.vm.failure = spec, powerStarting, nil
	r.vm.changed = time.Now().UTC()
	shown := &armcompute.OSProfile{
		ComputerName: ptr(spec.ComputerName), AdminUsername: ptr(spec.AdminUsername),
		AllowExtensionOperations: ptr(true),
	}
	if p.OSProfile.LinuxConfiguration != nil {
		shown.LinuxConfiguration = p.OSProfile.LinuxConfiguration
		if shown.LinuxConfiguration.ProvisionVMAgent == nil {
			shown.LinuxConfiguration.ProvisionVMAgent = ptr(true)
		}
	}
	ir := *sp.ImageReference
	if ir.ID == nil && ir.Version != nil && strings.EqualFold(*ir.Version, "latest") {
		ir.ExactVersion = ptr("1.0.0")
	}
	r.obj = &armcompute.VirtualMachine{
		ID: ptr(c.id), Name: ptr(c.name), Type: ptr(typeVM), Location: ptr(loc), Tags: in.Tags,
		Properties: &armcompute.VirtualMachineProperties{
			VMID:            ptr(newID()),
			HardwareProfile: &armcompute.HardwareProfile{VMSize: ptr(armcompute.VirtualMachineSizeTypes(size))},
			StorageProfile:  &armcompute.StorageProfile{ImageReference: &ir, OSDisk: osDisk, DataDisks: []*armcompute.DataDisk{}},
			OSProfile:       shown,
			NetworkProfile:  &armcompute.NetworkProfile{NetworkInterfaces: nics},
			AvailabilitySet: avset,
			TimeCreated:     ptr(r.vm.changed),
		},
	}
	s.res[key(str(disk.ID))] = &resource{
		id: str(disk.ID), kind: s.kinds[strings.ToLower(typeDisk)], name: str(disk.Name),
		group: c.groupKey, loc: loc, state: stateSucceeded, obj: disk,
	}
	work := func(ctx context.Context) *Error {
		pub, priv, err := s.opts.Hooks.CreateVM(ctx, spec)
		s.mu.Lock()
		gone := s.res[key(r.id)] != r
		r.vm.changed = time.Now().UTC()
		if err != nil {
			r.vm.failure, r.vm.power = asError(err), powerDeallocated
			s.mu.Unlock()
			return r.vm.failure
		}
		r.vm.created, r.vm.power, r.vm.publicIP, r.vm.privateIP = true, powerRunning, pub, priv
		if !gone {
			s.syncAddresses(r)
		}
		s.mu.Unlock()
		if gone {
			// Deleted (with its group, or behind the driver's back) while
			// the host came up: take the host down again.
			if err := s.opts.Hooks.DeleteVM(ctx, spec); err != nil {
				return asError(err)
			}
		}
		return nil
	}
	return r, work, nil
}

// updateVM is a PUT on a VM that exists: tags and size change, its admin
// user does not.
func updateVM(s *Server, c *call, old *resource, in *armcompute.VirtualMachine, size, loc string) (*resource, func(context.Context) *Error, *Error) {
	o := old.obj.(*armcompute.VirtualMachine)
	if p := in.Properties; p != nil && p.OSProfile != nil && p.OSProfile.AdminUsername != nil &&
		*p.OSProfile.AdminUsername != str(o.Properties.OSProfile.AdminUsername) {
		e := errorf(http.StatusConflict, "PropertyChangeNotAllowed", "Changing property 'adminUsername' is not allowed.")
		e.Target = "adminUsername"
		return nil, nil, e
	}
	if size != "" && !strings.EqualFold(size, string(*o.Properties.HardwareProfile.VMSize)) {
		if e := s.sizeAvailable(size, loc); e != nil {
			return nil, nil, e
		}
		o.Properties.HardwareProfile.VMSize = ptr(armcompute.VirtualMachineSizeTypes(size))
		old.vm.spec.Size = size
	}
	o.Tags = in.Tags
	old.vm.spec.Tags = tags(in.Tags)
	return old, nil, nil
}

// sizeAvailable refuses a VM size the stand-in does not offer, with
// compute's SkuNotAvailable.
func (s *Server) sizeAvailable(size, loc string) *Error {
	if slices.ContainsFunc(s.opts.VMSizes, func(v string) bool { return strings.EqualFold(v, size) }) {
		return nil
	}
	return errorf(http.StatusConflict, "SkuNotAvailable",
		"The requested VM size for resource 'Following SKUs have failed for Capacity Restrictions: %s' is currently not available in location '%s'. Please try another size or deploy to a different location or different zone. See https://aka.ms/azureskunotavailable for details.",
		size, loc)
}

// osProfile checks a Linux osProfile as compute does and returns what the
// hooks learn of it.
func osProfile(p *armcompute.OSProfile, name string) (VM, *Error) {
	var vm VM
	if p == nil {
		return vm, missing("osProfile")
	}
	vm.AdminUsername = str(p.AdminUsername)
	if vm.AdminUsername == "" {
		return vm, missing("adminUsername")
	}
	if reservedUser(vm.AdminUsername) {
		return vm, invalidParam("adminUsername", "The Admin Username specified is not allowed.")
	}
	vm.ComputerName = str(p.ComputerName)
	if vm.ComputerName == "" {
		vm.ComputerName = name
	}
	if cd := str(p.CustomData); cd != "" {
		b, err := base64.StdEncoding.DecodeString(cd)
		if err != nil || len(cd) > maxCustomData {
			return vm, invalidParam("customData",
				"Custom data in OSProfile must be in Base64 encoding and with a maximum length of %d characters.", maxCustomData)
		}
		vm.CustomData = b
	}
	lc := p.LinuxConfiguration
	noPassword := lc != nil && lc.DisablePasswordAuthentication != nil && *lc.DisablePasswordAuthentication
	if !noPassword && str(p.AdminPassword) == "" {
		return vm, missing("adminPassword")
	}
	want := "/home/" + vm.AdminUsername + "/.ssh/authorized_keys"
	if lc != nil && lc.SSH != nil {
		for _, k := range lc.SSH.PublicKeys {
			if k == nil {
				continue
			}
			if k.Path != nil && *k.Path != want {
				return vm, invalidParam("linuxConfiguration.ssh.publicKeys.path",
					"Destination path for SSH public keys is currently limited to its default value %s due to a known issue in Linux provisioning agent.", want)
			}
			if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(str(k.KeyData))); err != nil {
				return vm, invalidParam("linuxConfiguration.ssh.publicKeys.keyData",
					"The value of parameter linuxConfiguration.ssh.publicKeys.keyData is invalid.")
			}
			vm.SSHPublicKeys = append(vm.SSHPublicKeys, strings.TrimSpace(str(k.KeyData)))
		}
	}
	if noPassword && len(vm.SSHPublicKeys) == 0 {
		return vm, missing("linuxConfiguration.ssh.publicKeys")
	}
	return vm, nil
}

// osDisk is a new VM's OS disk as the VM shows it and as a managed disk
// resource; under s.mu.
func (s *Server) osDisk(c *call, in *armcompute.OSDisk, loc string, img Image, old *resource) (*armcompute.OSDisk, *armcompute.Disk, *Error) {
	name := ""
	if in != nil {
		name = str(in.Name)
	}
	if name == "" && old != nil {
		name = str(old.obj.(*armcompute.VirtualMachine).Properties.StorageProfile.OSDisk.Name)
	}
	if name == "" {
		name = c.name + "_OsDisk_1_" + strings.ReplaceAll(newID(), "-", "")
	}
	id := groupID(c.sub, c.group) + "/providers/" + typeDisk + "/" + name
	if d := s.res[key(id)]; d != nil && (old == nil || str(d.obj.(*armcompute.Disk).ManagedBy) != old.id) {
		return nil, nil, errorf(http.StatusConflict, "ConflictingUserInput",
			"Disk %s already exists in resource group %s. Only CreateOption.Attach is supported.", name, strings.ToUpper(c.group))
	}
	sku := armcompute.StorageAccountTypesStandardLRS
	size := int32(30)
	out := &armcompute.OSDisk{
		Name: ptr(name), OSType: ptr(armcompute.OperatingSystemTypesLinux),
		CreateOption: ptr(armcompute.DiskCreateOptionTypesFromImage), Caching: ptr(armcompute.CachingTypesReadWrite),
		DeleteOption: ptr(armcompute.DiskDeleteOptionTypesDetach),
	}
	if in != nil {
		if in.ManagedDisk != nil && in.ManagedDisk.StorageAccountType != nil {
			sku = *in.ManagedDisk.StorageAccountType
		}
		if in.DiskSizeGB != nil {
			size = *in.DiskSizeGB
		}
		if in.DeleteOption != nil {
			out.DeleteOption = in.DeleteOption
		}
		if in.Caching != nil {
			out.Caching = in.Caching
		}
	}
	out.DiskSizeGB = ptr(size)
	out.ManagedDisk = &armcompute.ManagedDiskParameters{ID: ptr(id), StorageAccountType: ptr(sku)}
	imageID := img.ID
	if imageID == "" {
		imageID = "/Subscriptions/" + c.sub + "/Providers/Microsoft.Compute/Locations/" + loc +
			"/Publishers/" + img.Publisher + "/ArtifactTypes/VMImage/Offers/" + img.Offer + "/Skus/" + img.SKU + "/Versions/" + img.Version
	}
	now := time.Now().UTC()
	disk := &armcompute.Disk{
		ID: ptr(id), Name: ptr(name), Type: ptr(typeDisk), Location: ptr(loc), ManagedBy: ptr(c.id),
		SKU: &armcompute.DiskSKU{Name: ptr(armcompute.DiskStorageAccountTypes(sku))},
		Properties: &armcompute.DiskProperties{
			OSType:       ptr(armcompute.OperatingSystemTypesLinux),
			DiskSizeGB:   ptr(size),
			DiskState:    ptr(armcompute.DiskStateAttached),
			TimeCreated:  &now,
			UniqueID:     ptr(newID()),
			CreationData: &armcompute.CreationData{CreateOption: ptr(armcompute.DiskCreateOptionFromImage), ImageReference: &armcompute.ImageDiskReference{ID: ptr(imageID)}},
		},
	}
	return out, disk, nil
}

// vmNICs are the NIC references of VM r.
func vmNICs(r *resource) []*armcompute.NetworkInterfaceReference {
	o := r.obj.(*armcompute.VirtualMachine)
	if o.Properties == nil || o.Properties.NetworkProfile == nil {
		return nil
	}
	return o.Properties.NetworkProfile.NetworkInterfaces
}

// primaryNIC is the index of the primary NIC among refs: the one marked
// primary, or the only one; -1 when none is.
func primaryNIC(refs []*armcompute.NetworkInterfaceReference) int {
	for i, n := range refs {
		if n.Properties != nil && n.Properties.Primary != nil && *n.Properties.Primary {
			return i
		}
	}
	if len(refs) == 1 {
		return 0
	}
	return -1
}

// syncAddresses puts VM r's addresses on its primary NIC's primary IP
// configuration and public IP: the private one from the hook (if it gave
// one); the public one while the VM is allocated, and for a static public
// IP from creation on; under s.mu.
func (s *Server) syncAddresses(r *resource) {
	refs := vmNICs(r)
	i := primaryNIC(refs)
	if i < 0 {
		return
	}
	nic := s.lookup(str(refs[i].ID), typeNIC)
	if nic == nil {
		return
	}
	var ipc *armnetwork.InterfaceIPConfiguration
	for _, x := range nic.obj.(*armnetwork.Interface).Properties.IPConfigurations {
		if ipc == nil || (x.Properties.Primary != nil && *x.Properties.Primary) {
			ipc = x
		}
	}
	if ipc == nil {
		return
	}
	if r.vm.privateIP != "" {
		ipc.Properties.PrivateIPAddress = ptr(r.vm.privateIP)
	}
	if ipc.Properties.PublicIPAddress == nil {
		return
	}
	pip := s.lookup(str(ipc.Properties.PublicIPAddress.ID), typePublicIP)
	if pip == nil {
		return
	}
	pp := pip.obj.(*armnetwork.PublicIPAddress).Properties
	static := pp.PublicIPAllocationMethod != nil && *pp.PublicIPAllocationMethod == armnetwork.IPAllocationMethodStatic
	allocated := r.vm.created && r.vm.power != powerDeallocated && r.vm.power != powerDeallocating && s.res[key(r.id)] == r
	switch {
	case r.vm.publicIP != "" && (allocated || static):
		pp.IPAddress = ptr(r.vm.publicIP)
	case !static:
		pp.IPAddress = nil
	}
}

// vmRemoved releases what a deleted VM held: a dynamic public address,
// its OS disk (deleted or detached, per deleteOption) and NICs whose
// deleteOption is Delete; under s.mu.
func vmRemoved(s *Server, r *resource) {
	s.syncAddresses(r)
	o := r.obj.(*armcompute.VirtualMachine)
	if od := o.Properties.StorageProfile.OSDisk; od != nil && od.ManagedDisk != nil {
		if d := s.lookup(str(od.ManagedDisk.ID), typeDisk); d != nil {
			if od.DeleteOption != nil && *od.DeleteOption == armcompute.DiskDeleteOptionTypesDelete {
				s.removeTree(d)
			} else {
				dd := d.obj.(*armcompute.Disk)
				dd.ManagedBy = nil
				dd.Properties.DiskState = ptr(armcompute.DiskStateUnattached)
			}
		}
	}
	for _, n := range vmNICs(r) {
		if n.Properties != nil && n.Properties.DeleteOption != nil && *n.Properties.DeleteOption == armcompute.DeleteOptionsDelete {
			if nic := s.lookup(str(n.ID), typeNIC); nic != nil {
				s.removeTree(nic)
			}
		}
	}
}

// instanceView is VM r's instance view: provisioning and power state;
// under s.mu.
func instanceView(r *resource) *armcompute.VirtualMachineInstanceView {
	info, bad := ptr(armcompute.StatusLevelTypesInfo), ptr(armcompute.StatusLevelTypesError)
	t := r.vm.changed
	var prov *armcompute.InstanceViewStatus
	switch r.state {
	case stateFailed:
		code, msg := "Unknown", ""
		if r.vm.failure != nil {
			code, msg = r.vm.failure.Code, r.vm.failure.Message
		}
		prov = &armcompute.InstanceViewStatus{Code: ptr("ProvisioningState/failed/" + code), Level: bad,
			DisplayStatus: ptr("Provisioning failed"), Message: ptr(msg), Time: &t}
	case stateSucceeded:
		prov = &armcompute.InstanceViewStatus{Code: ptr("ProvisioningState/succeeded"), Level: info,
			DisplayStatus: ptr("Provisioning succeeded"), Time: &t}
	default:
		prov = &armcompute.InstanceViewStatus{Code: ptr("ProvisioningState/" + strings.ToLower(r.state)), Level: info,
			DisplayStatus: ptr(r.state)}
	}
	return &armcompute.VirtualMachineInstanceView{
		ComputerName: ptr(r.vm.spec.ComputerName),
		OSName:       ptr("linux"),
		Statuses: []*armcompute.InstanceViewStatus{prov, {
			Code: ptr("PowerState/" + r.vm.power), Level: info, DisplayStatus: ptr("VM " + r.vm.power),
		}},
	}
}

// getInstanceView answers GET .../virtualMachines/{vm}/instanceView.
func getInstanceView(s *Server, w http.ResponseWriter, c *call) {
	if c.r.Method != http.MethodGet {
		writeError(w, errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The stand-in serves only GET on instanceView."))
		return
	}
	s.getAs(w, c, func(r *resource) any { return instanceView(r) })
}

// powerAction answers POST powerOff, deallocate, start or restart: 202 and
// a long-running operation that drives Hooks.PowerVM.
func powerAction(action string) func(*Server, http.ResponseWriter, *call) {
	return func(s *Server, w http.ResponseWriter, c *call) {
		if c.r.Method != http.MethodPost {
			writeError(w, errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The stand-in serves only POST on %s.", action))
			return
		}
		s.mu.Lock()
		g, e := s.groupFor(c)
		r := s.res[c.key]
		switch {
		case e != nil:
		case r == nil:
			e = notFound(typeVM, c.group, c.name)
		default:
			e = s.writable(g, r, c)
		}
		if e == nil && !r.vm.created {
			e = errorf(http.StatusConflict, "OperationNotAllowed",
				"Operation '%s' is not allowed on VM '%s' since the VM is marked as failed. Delete the VM or update it to retry provisioning.", action, c.name)
		}
		prev := ""
		if e == nil {
			prev = r.vm.power
			if action == "restart" && prev != powerRunning {
				e = errorf(http.StatusConflict, "OperationNotAllowed",
					"Operation 'restart' is not allowed on VM '%s' since the VM is %s.", c.name, prev)
			}
		}
		if e != nil {
			s.mu.Unlock()
			writeError(w, e)
			return
		}
		var during, after string
		var steps []bool // hook calls, in order: false off, true on
		switch action {
		case "powerOff":
			during, after = powerStopping, powerStopped
			if prev == powerDeallocated {
				after = powerDeallocated
			}
			if prev == powerRunning {
				steps = []bool{false}
			}
		case "deallocate":
			during, after = powerDeallocating, powerDeallocated
			if prev == powerRunning {
				steps = []bool{false}
			}
		case "start":
			during, after = powerStarting, powerRunning
			if prev != powerRunning {
				steps = []bool{true}
			}
		case "restart":
			during, after, steps = powerStarting, powerRunning, []bool{false, true}
		}
		op := s.newOperation(c.sub, rpCompute, r.loc, c.api)
		r.busy, r.state, r.vm.power = op, stateUpdating, during
		spec := r.vm.spec
		s.mu.Unlock()

		s.lroHeaders(w, op, true, true)
		w.WriteHeader(http.StatusAccepted)
		s.run(op, func(ctx context.Context) *Error {
			for _, on := range steps {
				if err := s.opts.Hooks.PowerVM(ctx, spec, on); err != nil {
					return asError(err)
				}
			}
			return nil
		}, func(e *Error) {
			r.busy, r.state, r.vm.changed = nil, stateSucceeded, time.Now().UTC()
			if e != nil {
				r.vm.power = prev
				return
			}
			r.vm.power = after
			s.syncAddresses(r)
		})
	}
}

// diskKind serves managed disks: the OS disks VMs create, readable and
// deletable once detached.
func diskKind() *kind {
	return &kind{
		typ: typeDisk, rp: rpCompute, lro: true,
		view: func(s *Server, r *resource, c *call) any {
			o := r.obj.(*armcompute.Disk)
			o.Properties.ProvisioningState = ptr(r.state)
			return o
		},
		inUse: func(s *Server, r *resource) *Error {
			if vm := str(r.obj.(*armcompute.Disk).ManagedBy); vm != "" {
				return errorf(http.StatusConflict, "OperationNotAllowed", "Disk %s is attached to VM %s.", r.name, vm)
			}
			return nil
		},
	}
}

// availabilitySetKind serves availability sets (synchronous PUT and
// DELETE, as compute answers them).
func availabilitySetKind() *kind {
	return &kind{
		typ: typeAvailSet, rp: rpCompute, created: http.StatusOK,
		put: func(s *Server, c *call, old *resource, body []byte) (*resource, func(context.Context) *Error, *Error) {
			var in armcompute.AvailabilitySet
			if e := decode(body, &in); e != nil {
				return nil, nil, e
			}
			loc, e := s.place(c, old, in.Location)
			if e != nil {
				return nil, nil, e
			}
			sku := "Classic"
			if in.SKU != nil && in.SKU.Name != nil {
				sku = *in.SKU.Name
			}
			fd, ud := int32(2), int32(5)
			if p := in.Properties; p != nil {
				if p.PlatformFaultDomainCount != nil {
					fd = *p.PlatformFaultDomainCount
				}
				if p.PlatformUpdateDomainCount != nil {
					ud = *p.PlatformUpdateDomainCount
				}
			}
			if old != nil {
				if was := str(old.obj.(*armcompute.AvailabilitySet).SKU.Name); !strings.EqualFold(was, sku) && len(avsetMembers(s, old)) > 0 {
					return nil, nil, errorf(http.StatusConflict, "OperationNotAllowed",
						"Changing Availability Set SKU from '%s' to '%s' is not allowed.", was, sku)
				}
			}
			r := old
			if r == nil {
				r = newResource(c, loc, nil)
			}
			r.obj = &armcompute.AvailabilitySet{
				ID: ptr(c.id), Name: ptr(c.name), Type: ptr(typeAvailSet), Location: ptr(loc), Tags: in.Tags,
				SKU: &armcompute.SKU{Name: ptr(sku)},
				Properties: &armcompute.AvailabilitySetProperties{
					PlatformFaultDomainCount: ptr(fd), PlatformUpdateDomainCount: ptr(ud),
				},
			}
			return r, nil, nil
		},
		view: func(s *Server, r *resource, c *call) any {
			o := r.obj.(*armcompute.AvailabilitySet)
			o.Properties.VirtualMachines = nil
			for _, id := range avsetMembers(s, r) {
				o.Properties.VirtualMachines = append(o.Properties.VirtualMachines, &armcompute.SubResource{ID: ptr(id)})
			}
			return o
		},
		inUse: func(s *Server, r *resource) *Error {
			if len(avsetMembers(s, r)) > 0 {
				return errorf(http.StatusConflict, "OperationNotAllowed",
					"Availability Set '%s' cannot be deleted. Before deleting an Availability Set please ensure that it does not contain any VM.", r.name)
			}
			return nil
		},
	}
}

// avsetMembers are the IDs of the VMs in availability set r; under s.mu.
func avsetMembers(s *Server, r *resource) []string {
	var ids []string
	for _, x := range s.res {
		if x.kind == nil || x.kind.typ != typeVM {
			continue
		}
		if as := x.obj.(*armcompute.VirtualMachine).Properties.AvailabilitySet; as != nil && key(str(as.ID)) == key(r.id) {
			ids = append(ids, x.id)
		}
	}
	slices.Sort(ids)
	return ids
}

// serveVMSizes answers GET .../locations/{loc}/vmSizes with the sizes of
// Options.VMSizes (names only: the stand-in knows no core counts).
func (s *Server) serveVMSizes(w http.ResponseWriter, loc string) {
	if !s.knownLocation(loc) {
		writeError(w, errorf(http.StatusBadRequest, "NoRegisteredProviderFound",
			"No registered resource provider found for location '%s' and type 'locations/vmSizes'. The supported locations are '%s'.",
			loc, strings.Join(s.opts.Locations, ", ")))
		return
	}
	sizes := []*armcompute.VirtualMachineSize{}
	for _, v := range s.opts.VMSizes {
		sizes = append(sizes, &armcompute.VirtualMachineSize{Name: ptr(v)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": sizes})
}

// serveSKUs answers GET .../providers/Microsoft.Compute/skus: a
// virtualMachines SKU per size and location, filtered by $filter=location
// eq 'x' when given.
func (s *Server) serveSKUs(w http.ResponseWriter, r *http.Request) {
	only := ""
	if f := r.URL.Query().Get("$filter"); f != "" {
		k, v, ok := strings.Cut(f, " eq ")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "location") {
			writeError(w, errorf(http.StatusBadRequest, "InvalidFilter", "The filter '%s' is not supported: use location eq 'name'.", f))
			return
		}
		only = normLocation(strings.Trim(strings.TrimSpace(v), "'"))
	}
	skus := []*armcompute.ResourceSKU{}
	for _, loc := range s.opts.Locations {
		if only != "" && loc != only {
			continue
		}
		for _, v := range s.opts.VMSizes {
			skus = append(skus, &armcompute.ResourceSKU{
				ResourceType: ptr("virtualMachines"), Name: ptr(v), Tier: ptr("Standard"),
				Size:         ptr(strings.TrimPrefix(v, "Standard_")),
				Locations:    []*string{ptr(loc)},
				LocationInfo: []*armcompute.ResourceSKULocationInfo{{Location: ptr(loc), Zones: []*string{}}},
				Capabilities: []*armcompute.ResourceSKUCapabilities{},
				Restrictions: []*armcompute.ResourceSKURestrictions{},
			})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": skus})
}

package azure

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"golang.org/x/crypto/ssh"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/drivers/azure/azuretest"
	"github.com/machine-cli/machine/drivers/drivertest"
)

// Resource IDs on the fake of machine name in the default group.
func vmIDOf(name string) string {
	return resourceID(defaultResourceGroup, "Microsoft.Compute/virtualMachines", name)
}
func nicIDOf(name string) string {
	return resourceID(defaultResourceGroup, "Microsoft.Network/networkInterfaces", name+"-nic")
}
func ipIDOf(name string) string {
	return resourceID(defaultResourceGroup, "Microsoft.Network/publicIPAddresses", name+"-ip")
}
func nsgIDOf(name string) string {
	return resourceID(defaultResourceGroup, "Microsoft.Network/networkSecurityGroups", name)
}
func diskIDOf(name string) string {
	return resourceID(defaultResourceGroup, "Microsoft.Compute/disks", name+"-osdisk")
}

var (
	vnetID   = resourceID(defaultResourceGroup, "Microsoft.Network/virtualNetworks", defaultVNet)
	subnetID = vnetID + "/subnets/" + defaultSubnet
	avsetID  = resourceID(defaultResourceGroup, "Microsoft.Compute/availabilitySets", defaultAvailabilitySet)
)

func TestSuite(t *testing.T) {
	drivertest.Suite(t, func(t *testing.T) drivers.Driver {
		return testDriver(t, newFakeARM(), "suite", nil)
	})
}

func TestDriverBasics(t *testing.T) {
	d := New().(*Driver)
	if name, _ := d.DriverName(t.Context()); name != "azure" {
		t.Errorf("DriverName = %q, want azure", name)
	}
	flags, err := d.GetCreateFlags(t.Context())
	if err != nil || !reflect.DeepEqual(flags, Flags()) {
		t.Errorf("GetCreateFlags = %v, %v; want Flags()", len(flags), err)
	}
	// The config keeps docker-machine's names and adds AzureMade only.
	d.MachineName = "m1"
	d.Made = Made{VM: "/x", ResourceGroup: true}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"MachineName", "ResourceGroup", "SubscriptionID", "DockerPort", "AzureMade"} {
		if _, ok := obj[k]; !ok {
			t.Errorf("config %s has no %s", b, k)
		}
	}
	if made, _ := obj["AzureMade"].(map[string]any); made["VM"] != "/x" || made["ResourceGroup"] != true {
		t.Errorf("AzureMade = %v", obj["AzureMade"])
	}
	if _, ok := obj["ClientSecret"]; ok {
		t.Error("the client secret is in the config")
	}
	var back Driver
	if err := json.Unmarshal(b, &back); err != nil || back.Made != d.Made {
		t.Errorf("Made after a round trip = %+v, %v; want %+v", back.Made, err, d.Made)
	}
}

func TestSetConfigFromFlags(t *testing.T) {
	for _, tc := range []struct {
		name, machine string
		opts          drivers.Options
		wantErr       string
	}{
		{name: "ok", machine: "m1", opts: drivers.Options{flSubscriptionID: testSub}},
		{name: "bad machine name", machine: "bad_name", opts: drivers.Options{flSubscriptionID: testSub}, wantErr: `machine name "bad_name"`},
		{name: "no subscription", machine: "m1", opts: drivers.Options{}, wantErr: flSubscriptionID},
		{name: "both", machine: "-x", opts: drivers.Options{}, wantErr: flSubscriptionID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := New().(*Driver)
			d.MachineName = tc.machine
			err := d.SetConfigFromFlags(t.Context(), tc.opts)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("SetConfigFromFlags = %v", err)
				}
				return
			}
			if !errors.Is(err, drivers.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("SetConfigFromFlags = %v, want ErrInvalidConfig naming %q", err, tc.wantErr)
			}
		})
	}
}

func TestPreCreateCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		change  func(d *Driver)
		wantErr string
	}{
		{name: "ok", change: func(*Driver) {}},
		{name: "bad name", change: func(d *Driver) { d.MachineName = "a.b" }, wantErr: "machine name"},
		{name: "no subscription", change: func(d *Driver) { d.SubscriptionID = "" }, wantErr: flSubscriptionID},
		{name: "bad image", change: func(d *Driver) { d.Image = "ubuntu" }, wantErr: flImage},
		{name: "root", change: func(d *Driver) { d.SSHUser = "root" }, wantErr: flSSHUser},
		{name: "bad port", change: func(d *Driver) { d.OpenPorts = []string{"99999"} }, wantErr: flOpenPort},
		{name: "bad plan", change: func(d *Driver) { d.Plan = "a:b" }, wantErr: flPlan},
		{name: "custom data gone", change: func(d *Driver) { d.CustomDataFile = "/nonexistent/cloud-init" }, wantErr: flCustomData},
		{name: "no store", change: func(d *Driver) { d.StorePath = "" }, wantErr: "SSH key"},
		{name: "bad environment", change: func(d *Driver) { d.Environment = "Mars" }, wantErr: flEnvironment},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeARM()
			d := testDriver(t, f, "m1", nil)
			tc.change(d)
			err := d.PreCreateCheck(t.Context())
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("PreCreateCheck = %v", err)
				}
			} else if !errors.Is(err, drivers.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("PreCreateCheck = %v, want ErrInvalidConfig naming %q", err, tc.wantErr)
			}
			if n := f.callCount(); n != 0 {
				t.Errorf("PreCreateCheck made %d calls to Azure, want none", n)
			}
		})
	}
}

// TestCreateInvalidMakesNoCall: Create checks the name and config before
// it signs in.
func TestCreateInvalidMakesNoCall(t *testing.T) {
	f := newFakeARM()
	d := testDriver(t, f, "m1", nil)
	d.MachineName = "no_underscores"
	connected := false
	d.connect = func(ctx context.Context) (*conn, error) { connected = true; return f.connect(ctx) }
	if err := d.Create(t.Context()); !errors.Is(err, drivers.ErrInvalidConfig) {
		t.Errorf("Create = %v, want ErrInvalidConfig", err)
	}
	if connected || f.callCount() != 0 {
		t.Errorf("Create signed in (%v) or called Azure (%d calls) for an invalid name", connected, f.callCount())
	}
}

func TestCreateMakesKey(t *testing.T) {
	f := newFakeARM()
	d := mustCreate(t, f, "m1", nil)
	want := filepath.Join(d.StorePath, "machines", "m1", "id_ed25519")
	if d.SSHKeyPath != want {
		t.Fatalf("SSHKeyPath = %q, want %q", d.SSHKeyPath, want)
	}
	priv, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(priv)
	if err != nil {
		t.Fatalf("private key: %v", err)
	}
	if signer.PublicKey().Type() != ssh.KeyAlgoED25519 {
		t.Errorf("key type %s, want ed25519", signer.PublicKey().Type())
	}
	for path, perm := range map[string]os.FileMode{want: 0o600, want + ".pub": 0o644} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != perm {
			t.Errorf("%s: %v, mode %v; want %v", path, err, fi.Mode().Perm(), perm)
		}
	}
	pub, _ := os.ReadFile(want + ".pub")
	vm, _ := get[armcompute.VirtualMachine](f, vmIDOf("m1"))
	keys := vm.Properties.OSProfile.LinuxConfiguration.SSH.PublicKeys
	if len(keys) != 1 || val(keys[0].KeyData) != strings.TrimSpace(string(pub)) {
		t.Fatalf("VM keys %v, want the machine's public key %q", keys, pub)
	}
	parsed, _, _, _, err := ssh.ParseAuthorizedKey(pub)
	if err != nil || string(parsed.Marshal()) != string(signer.PublicKey().Marshal()) {
		t.Errorf("public key file does not match the private key: %v", err)
	}

	// A key already in place is used, not replaced.
	f2 := newFakeARM()
	d2 := testDriver(t, f2, "m1", nil)
	d2.SSHKeyPath = want
	if err := d2.Create(t.Context()); err != nil {
		t.Fatalf("second Create: %v", err)
	}
	again, _ := os.ReadFile(want)
	if string(again) != string(priv) {
		t.Error("Create replaced an existing key")
	}
}

// TestCreateResources checks what Create asks Azure for, per flag.
func TestCreateResources(t *testing.T) {
	dir := t.TempDir()
	cloudInit := filepath.Join(dir, "cloud-init.yaml")
	if err := os.WriteFile(cloudInit, []byte("#cloud-config\npackages: [jq]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	type world struct {
		f *fakeARM
		d *Driver
	}
	for _, tc := range []struct {
		name  string
		opts  map[string]any
		check func(t *testing.T, w world)
	}{
		{name: "defaults", check: func(t *testing.T, w world) {
			ip, ok := get[armnetwork.PublicIPAddress](w.f, ipIDOf("m1"))
			if !ok || val(ip.SKU.Name) != armnetwork.PublicIPAddressSKUNameStandard ||
				val(ip.Properties.PublicIPAllocationMethod) != armnetwork.IPAllocationMethodStatic || ip.Properties.DNSSettings != nil {
				t.Errorf("public IP %+v, want Standard (Azure retired Basic), static, no DNS label", ip)
			}
			nic, _ := get[armnetwork.Interface](w.f, nicIDOf("m1"))
			ipc := nic.Properties.IPConfigurations[0].Properties
			if val(ipc.PrivateIPAllocationMethod) != armnetwork.IPAllocationMethodDynamic || !sameID(val(ipc.Subnet.ID), subnetID) ||
				!sameID(val(ipc.PublicIPAddress.ID), ipIDOf("m1")) || !sameID(val(nic.Properties.NetworkSecurityGroup.ID), nsgIDOf("m1-firewall")) ||
				val(nic.Properties.EnableAcceleratedNetworking) {
				t.Errorf("NIC %+v", nic.Properties)
			}
			vm, _ := get[armcompute.VirtualMachine](w.f, vmIDOf("m1"))
			p := vm.Properties
			os := p.StorageProfile.OSDisk
			if val(p.HardwareProfile.VMSize) != defaultSize || val(os.Name) != "m1-osdisk" || val(os.DiskSizeGB) != defaultDiskSize ||
				val(os.ManagedDisk.StorageAccountType) != defaultStorageType || val(os.CreateOption) != armcompute.DiskCreateOptionTypesFromImage {
				t.Errorf("VM size/disk: %s %+v", val(p.HardwareProfile.VMSize), os)
			}
			img := p.StorageProfile.ImageReference
			if val(img.Publisher) != "canonical" || val(img.Offer) != "ubuntu-24_04-lts" || val(img.SKU) != "server" || val(img.Version) != "latest" || img.ID != nil {
				t.Errorf("image %+v", img)
			}
			lc := p.OSProfile.LinuxConfiguration
			if val(p.OSProfile.AdminUsername) != defaultSSHUser || !val(lc.DisablePasswordAuthentication) || p.OSProfile.AdminPassword != nil ||
				val(lc.SSH.PublicKeys[0].Path) != "/home/"+defaultSSHUser+"/.ssh/authorized_keys" || val(p.OSProfile.ComputerName) != "m1" {
				t.Errorf("OS profile %+v %+v", p.OSProfile, lc)
			}
			if p.OSProfile.CustomData != nil || vm.Plan != nil || vm.Zones != nil {
				t.Errorf("custom data %v, plan %v, zones %v; want none", p.OSProfile.CustomData, vm.Plan, vm.Zones)
			}
			if !sameID(val(p.AvailabilitySet.ID), avsetID) || !sameID(val(p.NetworkProfile.NetworkInterfaces[0].ID), nicIDOf("m1")) {
				t.Errorf("VM availability set %v, NIC %v", p.AvailabilitySet, p.NetworkProfile.NetworkInterfaces[0].ID)
			}
			as, _ := get[armcompute.AvailabilitySet](w.f, avsetID)
			if val(as.SKU.Name) != "Aligned" || val(as.Properties.PlatformFaultDomainCount) != 3 || val(as.Properties.PlatformUpdateDomainCount) != 5 {
				t.Errorf("availability set %+v %+v", as.SKU, as.Properties)
			}
			vn, _ := get[armnetwork.VirtualNetwork](w.f, vnetID)
			if !slices.Equal(deref(vn.Properties.AddressSpace.AddressPrefixes), []string{defaultSubnetPrefix}) ||
				val(vn.Properties.Subnets[0].Properties.AddressPrefix) != defaultSubnetPrefix {
				t.Errorf("virtual network %+v", vn.Properties)
			}
			// Tags: every resource names its machine; shared ones say machine made them.
			w.f.mu.Lock()
			g := w.f.groups[defaultResourceGroup]
			w.f.mu.Unlock()
			for what, tags := range map[string]map[string]*string{
				"group": g.Tags, "vnet": vn.Tags, "avset": as.Tags, "vm": vm.Tags, "nic": nic.Tags, "ip": ip.Tags,
			} {
				if val(tags[tagMachine]) != "m1" {
					t.Errorf("%s tags %v: no %s=m1", what, tags, tagMachine)
				}
				shared := what == "group" || what == "vnet" || what == "avset"
				if createdByMachine(tags) != shared {
					t.Errorf("%s tags %v: created-by-machine mark %v, want %v", what, tags, createdByMachine(tags), shared)
				}
			}
			want := Made{VM: vmIDOf("m1"), OSDisk: diskIDOf("m1"), NIC: nicIDOf("m1"), PublicIP: ipIDOf("m1"), NSG: nsgIDOf("m1-firewall"),
				ResourceGroup: true, VirtualNetwork: true, Subnet: true, AvailabilitySet: true}
			if w.d.Made != want {
				t.Errorf("Made = %+v\nwant   %+v", w.d.Made, want)
			}
		}},
		{name: "static IP with DNS label", opts: map[string]any{flStaticPublicIP: true, flDNSLabel: "my-host"}, check: func(t *testing.T, w world) {
			ip, _ := get[armnetwork.PublicIPAddress](w.f, ipIDOf("m1"))
			if val(ip.Properties.PublicIPAllocationMethod) != armnetwork.IPAllocationMethodStatic || val(ip.SKU.Name) != armnetwork.PublicIPAddressSKUNameStandard ||
				val(ip.Properties.DNSSettings.DomainNameLabel) != "my-host" {
				t.Errorf("public IP %+v %+v", ip.SKU, ip.Properties)
			}
		}},
		{name: "standard SKU is static", opts: map[string]any{flStandardIPSKU: true}, check: func(t *testing.T, w world) {
			ip, _ := get[armnetwork.PublicIPAddress](w.f, ipIDOf("m1"))
			if val(ip.Properties.PublicIPAllocationMethod) != armnetwork.IPAllocationMethodStatic || val(ip.SKU.Name) != armnetwork.PublicIPAddressSKUNameStandard {
				t.Errorf("public IP %+v %+v", ip.SKU, ip.Properties)
			}
		}},
		{name: "no public IP", opts: map[string]any{flNoPublicIP: true}, check: func(t *testing.T, w world) {
			if w.f.has(ipIDOf("m1")) || w.f.called(http.MethodPut, "/publicipaddresses/m1-ip") {
				t.Error("a public IP was made")
			}
			nic, _ := get[armnetwork.Interface](w.f, nicIDOf("m1"))
			if nic.Properties.IPConfigurations[0].Properties.PublicIPAddress != nil || w.d.Made.PublicIP != "" {
				t.Errorf("NIC has a public IP, or Made records one (%q)", w.d.Made.PublicIP)
			}
		}},
		{name: "static private IP, accelerated networking", opts: map[string]any{flPrivateIP: "192.168.0.10", flAccelerated: true}, check: func(t *testing.T, w world) {
			nic, _ := get[armnetwork.Interface](w.f, nicIDOf("m1"))
			ipc := nic.Properties.IPConfigurations[0].Properties
			if val(ipc.PrivateIPAllocationMethod) != armnetwork.IPAllocationMethodStatic || val(ipc.PrivateIPAddress) != "192.168.0.10" ||
				!val(nic.Properties.EnableAcceleratedNetworking) {
				t.Errorf("NIC %+v %+v", nic.Properties, ipc)
			}
		}},
		{name: "zone instead of availability set", opts: map[string]any{flAvailabilityZone: "2"}, check: func(t *testing.T, w world) {
			vm, _ := get[armcompute.VirtualMachine](w.f, vmIDOf("m1"))
			if !slices.Equal(deref(vm.Zones), []string{"2"}) || vm.Properties.AvailabilitySet != nil {
				t.Errorf("VM zones %v, availability set %v", deref(vm.Zones), vm.Properties.AvailabilitySet)
			}
			if w.f.has(avsetID) || w.f.called(http.MethodGet, "/availabilitysets/docker-machine") || w.d.Made.AvailabilitySet {
				t.Error("an availability set was looked up or made")
			}
		}},
		{name: "image ID, plan, custom data, tags, disk", opts: map[string]any{
			flImage: "/subscriptions/" + testSub + "/resourceGroups/images/providers/Microsoft.Compute/images/docker",
			flPlan:  "pub:prod:plan1", flCustomData: cloudInit, flTags: "team,infra,docker-machine,spoof",
			flDiskSize: 64, flStorageType: "Premium_LRS", flFaultDomainCount: 2, flUpdateDomainCount: 10, flSSHUser: "ops",
		}, check: func(t *testing.T, w world) {
			vm, _ := get[armcompute.VirtualMachine](w.f, vmIDOf("m1"))
			p := vm.Properties
			if img := p.StorageProfile.ImageReference; val(img.ID) != w.d.Image || img.Publisher != nil {
				t.Errorf("image %+v", img)
			}
			if vm.Plan == nil || val(vm.Plan.Publisher) != "pub" || val(vm.Plan.Product) != "prod" || val(vm.Plan.Name) != "plan1" {
				t.Errorf("plan %+v", vm.Plan)
			}
			if got, _ := base64.StdEncoding.DecodeString(val(p.OSProfile.CustomData)); string(got) != "#cloud-config\npackages: [jq]\n" {
				t.Errorf("custom data %q", got)
			}
			if val(p.OSProfile.AdminUsername) != "ops" || val(p.OSProfile.LinuxConfiguration.SSH.PublicKeys[0].Path) != "/home/ops/.ssh/authorized_keys" {
				t.Errorf("admin %v", val(p.OSProfile.AdminUsername))
			}
			if os := p.StorageProfile.OSDisk; val(os.DiskSizeGB) != 64 || val(os.ManagedDisk.StorageAccountType) != "Premium_LRS" {
				t.Errorf("disk %+v", os)
			}
			if val(vm.Tags["team"]) != "infra" || val(vm.Tags[tagMachine]) != "m1" {
				t.Errorf("VM tags %v: want the user's and %s=m1 (machine's own tag wins)", vm.Tags, tagMachine)
			}
			as, _ := get[armcompute.AvailabilitySet](w.f, avsetID)
			if val(as.Properties.PlatformFaultDomainCount) != 2 || val(as.Properties.PlatformUpdateDomainCount) != 10 {
				t.Errorf("availability set %+v", as.Properties)
			}
		}},
		{name: "firewall", opts: map[string]any{flDockerPort: 3376, flOpenPort: []string{"8080", "53/udp", "9000/*", "8080/tcp"}}, check: func(t *testing.T, w world) {
			nsg, _ := get[armnetwork.SecurityGroup](w.f, nsgIDOf("m1-firewall"))
			got := map[string]string{}
			for _, r := range nsg.Properties.SecurityRules {
				p := r.Properties
				if val(p.Access) != armnetwork.SecurityRuleAccessAllow || val(p.Direction) != armnetwork.SecurityRuleDirectionInbound {
					t.Errorf("rule %s is not an inbound allow", val(r.Name))
				}
				got[fmt.Sprintf("%s/%s", val(p.DestinationPortRange), strings.ToLower(string(val(p.Protocol))))] = val(p.SourceAddressPrefix)
			}
			want := map[string]string{
				"22/tcp": "*", "3376/tcp": "*", "8080/tcp": "*", "53/udp": "*", "9000/*": "*",
				"2377/tcp": "VirtualNetwork", "7946/tcp": "VirtualNetwork", "7946/udp": "VirtualNetwork", "4789/udp": "VirtualNetwork",
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("NSG rules (port/proto → source)\n got %v\nwant %v", got, want)
			}
			if len(nsg.Properties.SecurityRules) != len(want) {
				t.Errorf("%d rules, want %d (8080 and 8080/tcp are one)", len(nsg.Properties.SecurityRules), len(want))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeARM()
			d := mustCreate(t, f, "m1", tc.opts)
			tc.check(t, world{f, d})
		})
	}
}

func deref[T any](p []*T) []T {
	out := make([]T, len(p))
	for i, v := range p {
		out[i] = val(v)
	}
	return out
}

// TestCreateRoundTrips: the steps that do not depend on each other run at
// once. The fake makes every PUT take 100ms and counts the PUTs in flight:
// once the group exists, the vnet, NSG, IP and availability set do not
// wait for each other. (How long Create takes is BenchmarkCreateStandIn's
// business, not a test's.)
func TestCreateRoundTrips(t *testing.T) {
	f := newFakeARM()
	f.conflictWindow = 100 * time.Millisecond
	d := testDriver(t, f, "m1", nil)
	if err := d.Create(t.Context()); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if puts := f.count(http.MethodPut, ""); puts != 7 {
		t.Errorf("%d PUTs, want 7 (group, vnet with subnet, NSG, IP, availability set, NIC, VM)", puts)
	}
	f.mu.Lock()
	most := f.maxInflight
	f.mu.Unlock()
	if most < 2 {
		t.Errorf("at most %d PUT in flight at once: the PUTs ran one after the other", most)
	}
}

func TestCreateIntoExistingGroup(t *testing.T) {
	f := newFakeARM()
	f.addGroup(defaultResourceGroup, map[string]*string{"owner": to.Ptr("team")})
	d := mustCreate(t, f, "m1", nil)
	if d.Made.ResourceGroup || f.called(http.MethodPut, "/resourcegroups/"+defaultResourceGroup) {
		t.Error("Create put or claimed an existing resource group")
	}
	f.mu.Lock()
	tags := f.groups[defaultResourceGroup].Tags
	f.mu.Unlock()
	if len(tags) != 1 || val(tags["owner"]) != "team" {
		t.Errorf("group tags changed to %v", tags)
	}
}

// TestCreateRefusesTakenNames: a resource with one of the machine's own
// names is another machine's or a leftover; Create touches nothing.
func TestCreateRefusesTakenNames(t *testing.T) {
	for _, tc := range []struct {
		name, id string
		v        any
	}{
		{"virtual machine", vmIDOf("m1"), &armcompute.VirtualMachine{}},
		{"network interface", nicIDOf("m1"), &armnetwork.Interface{}},
		{"public IP", ipIDOf("m1"), &armnetwork.PublicIPAddress{}},
		{"OS disk", diskIDOf("m1"), &armcompute.Disk{}},
		{"network security group", nsgIDOf("m1-firewall"), &armnetwork.SecurityGroup{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeARM()
			f.addGroup(defaultResourceGroup, nil)
			f.put(tc.id, tc.v)
			d := testDriver(t, f, "m1", nil)
			err := d.Create(t.Context())
			if !errors.Is(err, drivers.ErrAlreadyExists) || !strings.Contains(err.Error(), tc.name) {
				t.Fatalf("Create = %v, want ErrAlreadyExists naming the %s", err, tc.name)
			}
			if n := f.count(http.MethodPut, "") + f.count(http.MethodDelete, ""); n != 0 {
				t.Errorf("Create made %d PUTs/DELETEs, want none", n)
			}
			if !d.Made.empty() {
				t.Errorf("Made = %+v, want empty", d.Made)
			}
		})
	}
}

func TestCreateWaitsForSSH(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts map[string]any
		want string
	}{
		{"public IP", nil, "127.0.0.1:22"},
		{"private IP", map[string]any{flUsePrivateIP: true}, "192.168.0.4:22"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeARM()
			d := testDriver(t, f, "m1", tc.opts)
			var got []string
			d.reachable = func(_ context.Context, addr string) error { got = append(got, addr); return nil }
			if err := d.Create(t.Context()); err != nil {
				t.Fatalf("Create: %v", err)
			}
			if !slices.Equal(got, []string{tc.want}) {
				t.Errorf("waited for SSH at %v, want %s", got, tc.want)
			}
		})
	}
}

func TestCreateCanceled(t *testing.T) {
	f := newFakeARM()
	d := testDriver(t, f, "m1", nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := d.Create(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Create = %v, want context.Canceled", err)
	}
	if f.callCount() != 0 {
		t.Errorf("%d calls after the context ended", f.callCount())
	}
}

// TestCreateRollback: a Create that fails part-way deletes what it made,
// last first, and returns the cause in one line with what to do.
func TestCreateRollback(t *testing.T) {
	quota := "Operation could not be completed as it results in exceeding approved standardDSv3Family Cores quota. Current Limit: 10, Current Usage: 10."
	for _, tc := range []struct {
		name     string
		setup    func(f *fakeARM)
		opts     map[string]any
		wantErr  []string
		deleted  []string // DELETE calls that must have happened (path suffixes)
		notCalls []string // requests that must not have happened
		kept     []string // resource IDs that must remain
	}{
		{
			name:    "quota error on the VM",
			setup:   func(f *fakeARM) { f.fail(http.MethodPut, "/virtualmachines/m1", 409, "OperationNotAllowed", quota, 0) },
			wantErr: []string{`create virtual machine "m1"`, "Cores quota", "409 OperationNotAllowed", "ask for more quota"},
			deleted: []string{"/virtualmachines/m1", "/disks/m1-osdisk", "/networkinterfaces/m1-nic", "/publicipaddresses/m1-ip",
				"/networksecuritygroups/m1-firewall", "/subnets/docker-machine", "/virtualnetworks/docker-machine-vnet",
				"/availabilitysets/docker-machine", "/resourcegroups/docker-machine"},
		},
		{
			name: "bad image",
			setup: func(f *fakeARM) {
				f.fail(http.MethodPut, "/virtualmachines/m1", 404, "PlatformImageNotFound", "The platform image 'canonical:nope:server:latest' is not available.", 0)
			},
			opts:    map[string]any{flImage: "canonical:nope:server:latest"},
			wantErr: []string{"is not available", "PlatformImageNotFound", "check --azure-image"},
			deleted: []string{"/networkinterfaces/m1-nic", "/publicipaddresses/m1-ip", "/networksecuritygroups/m1-firewall", "/resourcegroups/docker-machine"},
		},
		{
			name: "NIC refused",
			setup: func(f *fakeARM) {
				f.fail(http.MethodPut, "/networkinterfaces/m1-nic", 400, "PrivateIPAddressInUse", "IP 192.168.0.10 is in use.", 0)
			},
			opts:     map[string]any{flPrivateIP: "192.168.0.10"},
			wantErr:  []string{`create network interface "m1-nic"`, "is in use", "pick another --azure-private-ip-address"},
			deleted:  []string{"/networkinterfaces/m1-nic", "/publicipaddresses/m1-ip", "/networksecuritygroups/m1-firewall", "/resourcegroups/docker-machine"},
			notCalls: []string{"PUT /virtualmachines/m1", "DELETE /virtualmachines/m1", "DELETE /disks/m1-osdisk"},
		},
		{
			name: "SSH never answers",
			setup: func(f *fakeARM) {
			},
			wantErr: []string{"did not answer"},
			deleted: []string{"/virtualmachines/m1", "/networkinterfaces/m1-nic", "/publicipaddresses/m1-ip", "/resourcegroups/docker-machine"},
		},
		{
			name: "another machine in the group keeps the shared resources",
			setup: func(f *fakeARM) {
				f.fail(http.MethodPut, "/virtualmachines/m1", 409, "OperationNotAllowed", quota, 0)
			},
			wantErr: []string{"quota"},
			deleted: []string{"/virtualmachines/m1", "/networkinterfaces/m1-nic", "/publicipaddresses/m1-ip", "/networksecuritygroups/m1-firewall"},
			notCalls: []string{"DELETE /subnets/docker-machine", "DELETE /virtualnetworks/docker-machine-vnet",
				"DELETE /availabilitysets/docker-machine", "DELETE /resourcegroups/docker-machine"},
			kept: []string{vnetID, avsetID, vmIDOf("m0"), nicIDOf("m0")},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeARM()
			if strings.HasPrefix(tc.name, "another machine") {
				mustCreate(t, f, "m0", nil)
			}
			tc.setup(f)
			d := testDriver(t, f, "m1", tc.opts)
			if strings.HasPrefix(tc.name, "SSH") {
				d.reachable = func(context.Context, string) error {
					return errors.New("azure: the VM runs but its SSH port 127.0.0.1:22 did not answer within 3m0s: connection refused")
				}
			}
			err := d.Create(t.Context())
			if err == nil {
				t.Fatal("Create succeeded")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, p := range tc.deleted {
				if !f.called(http.MethodDelete, p) {
					t.Errorf("rollback did not delete %s", p)
				}
			}
			for _, c := range tc.notCalls {
				m, p, _ := strings.Cut(c, " ")
				if f.called(m, p) {
					t.Errorf("unexpected %s", c)
				}
			}
			for _, id := range []string{vmIDOf("m1"), nicIDOf("m1"), ipIDOf("m1"), nsgIDOf("m1-firewall"), diskIDOf("m1")} {
				if f.has(id) {
					t.Errorf("%s left behind", id)
				}
			}
			for _, id := range tc.kept {
				if !f.has(id) {
					t.Errorf("%s was deleted", id)
				}
			}
			if len(tc.kept) == 0 && f.hasGroup(defaultResourceGroup) {
				t.Error("the resource group Create made is left behind")
			}
			if !d.Made.empty() {
				t.Errorf("Made = %+v after a complete rollback, want empty", d.Made)
			}
			// The Remove libmachine runs after a failed Create has nothing to do.
			calls := f.callCount()
			if err := d.Remove(t.Context()); err != nil || f.callCount() != calls {
				t.Errorf("Remove after the rollback = %v with %d calls, want nil and none", err, f.callCount()-calls)
			}
		})
	}
}

// TestCreateRollbackFails: when undoing fails too, the error says both, on
// one line, and Made keeps what is left for rm.
func TestCreateRollbackFails(t *testing.T) {
	f := newFakeARM()
	f.fail(http.MethodPut, "/virtualmachines/m1", 409, "OperationNotAllowed", "Cores quota exceeded.", 0)
	f.fail(http.MethodDelete, "/networkinterfaces/m1-nic", 500, "InternalServerError", "Something went wrong.", 0)
	d := testDriver(t, f, "m1", nil)
	err := d.Create(t.Context())
	var rb *rollbackError
	if !errors.As(err, &rb) {
		t.Fatalf("Create = %v, want a rollbackError", err)
	}
	for _, w := range []string{"Cores quota", `delete network interface "m1-nic"`, "Something went wrong", "machine rm -f m1"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans lines: %q", err)
	}
	if d.Made.VM != "" || d.Made.NIC == "" || d.Made.PublicIP == "" {
		t.Errorf("Made = %+v, want the VM gone and the NIC and IP left for rm", d.Made)
	}
	// rm, once Azure recovers, finishes the job.
	f.mu.Lock()
	f.rules = nil
	f.mu.Unlock()
	if err := d.Remove(t.Context()); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if f.hasGroup(defaultResourceGroup) || !d.Made.empty() {
		t.Errorf("after Remove: group left %v, Made %+v", f.hasGroup(defaultResourceGroup), d.Made)
	}
}

// TestCreateConcurrent: several machines created at once into one group
// share its network, NSG and availability set. Azure refuses concurrent
// changes of one resource (409); the fake also refuses the first PUT of
// each shared resource. All creates succeed, and each shared resource is
// made once.
func TestCreateConcurrent(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(f *fakeARM)
		shared []string // paths of the shared resources (PUT refused once each)
		once   []string // IDs that must have been made exactly once
	}{
		{
			name: "new group",
			shared: []string{"/resourcegroups/docker-machine", "/virtualnetworks/docker-machine-vnet",
				"/networksecuritygroups/shared-nsg", "/availabilitysets/docker-machine"},
			once: []string{"group/docker-machine", vnetID, nsgIDOf("shared-nsg"), avsetID},
		},
		{
			name: "existing network without the subnet",
			setup: func(f *fakeARM) {
				f.addGroup(defaultResourceGroup, nil)
				f.put(vnetID, &armnetwork.VirtualNetwork{ID: to.Ptr(vnetID), Name: to.Ptr(defaultVNet), Properties: &armnetwork.VirtualNetworkPropertiesFormat{
					AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{to.Ptr("192.168.0.0/16")}},
				}})
			},
			shared: []string{"/subnets/docker-machine", "/networksecuritygroups/shared-nsg", "/availabilitysets/docker-machine"},
			once:   []string{subnetID, nsgIDOf("shared-nsg"), avsetID},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeARM()
			if tc.setup != nil {
				tc.setup(f)
			}
			f.conflictWindow = 20 * time.Millisecond
			for _, p := range tc.shared {
				f.fail(http.MethodPut, p, 409, "AnotherOperationInProgress", "Another operation on this or dependent resource is in progress.", 1)
			}
			names := []string{"m1", "m2", "m3"}
			ds := make([]*Driver, len(names))
			for i, n := range names {
				ds[i] = testDriver(t, f, n, map[string]any{flNSG: "shared-nsg"})
				ds[i].backoff = 5 * time.Millisecond
			}
			errs := make([]error, len(ds))
			var wg sync.WaitGroup
			for i, d := range ds {
				wg.Go(func() { errs[i] = d.Create(t.Context()) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("Create %s: %v", names[i], err)
				}
			}
			if f.conflicts < len(tc.shared) {
				t.Errorf("the fake answered %d conflicts, want at least %d: the retries were not exercised", f.conflicts, len(tc.shared))
			}
			f.mu.Lock()
			for _, id := range tc.once {
				if n := f.creates[key(id)]; n != 1 {
					t.Errorf("%s made %d times, want once", id, n)
				}
			}
			f.mu.Unlock()
			sub, _ := get[armnetwork.VirtualNetwork](f, vnetID)
			if n := len(sub.Properties.Subnets[0].Properties.IPConfigurations); n != 3 {
				t.Errorf("%d NICs in the subnet, want 3", n)
			}
			as, _ := get[armcompute.AvailabilitySet](f, avsetID)
			if n := len(as.Properties.VirtualMachines); n != 3 {
				t.Errorf("%d VMs in the availability set, want 3", n)
			}
			nsg, _ := get[armnetwork.SecurityGroup](f, nsgIDOf("shared-nsg"))
			if n := len(nsg.Properties.NetworkInterfaces); n != 3 || !createdByMachine(nsg.Tags) {
				t.Errorf("shared NSG: %d NICs, tags %v; want 3 and the created-by-machine mark", n, nsg.Tags)
			}
			claims := 0
			for _, d := range ds {
				if d.Made.AvailabilitySet {
					claims++
				}
			}
			if claims == 0 {
				t.Error("no machine records that it made the availability set")
			}

			// They leave one by one; the last takes the shared resources along.
			for i, d := range ds {
				if err := d.Remove(t.Context()); err != nil {
					t.Fatalf("Remove %s: %v", names[i], err)
				}
				last := i == len(ds)-1
				if f.has(avsetID) == last || f.has(nsgIDOf("shared-nsg")) == last {
					t.Errorf("after removing %s: availability set kept %v, NSG kept %v; want %v", names[i], f.has(avsetID), f.has(nsgIDOf("shared-nsg")), !last)
				}
			}
			if tc.setup == nil && f.hasGroup(defaultResourceGroup) {
				t.Error("the group machine made is left after the last machine")
			}
			if tc.setup != nil && (!f.has(vnetID) || !f.hasGroup(defaultResourceGroup)) {
				t.Error("the user's network or group was deleted")
			}
		})
	}
}

func TestConnectErrorNamesSignIn(t *testing.T) {
	f := newFakeARM()
	d := testDriver(t, f, "m1", nil)
	d.connect = func(context.Context) (*conn, error) {
		return nil, errors.New("azure: no way to sign in: pass --azure-client-id and --azure-client-secret")
	}
	if err := d.Create(t.Context()); err == nil || !strings.Contains(err.Error(), "sign in") {
		t.Errorf("Create = %v, want the sign-in error", err)
	}
	if _, err := os.Stat(d.SSHKeyPath); err != nil {
		t.Errorf("the key is made before signing in: %v", err)
	}
}

func TestSignInFor(t *testing.T) {
	asked := 0
	memory := func() (azidentity.Cache, string) { asked++; return azidentity.Cache{}, "no cache here" }
	c := &Config{Environment: "AzureChinaCloud"}
	c.StorePath = "/store"
	s, err := signInFor(c, memory)
	if err != nil {
		t.Fatal(err)
	}
	if s.custom || s.storeDir != filepath.Join("/store", "azure") || s.notify == nil || asked != 1 ||
		s.cloud.ActiveDirectoryAuthorityHost != "https://login.chinacloudapi.cn/" {
		t.Errorf("signIn = %+v (token cache asked %d times)", s, asked)
	}
	file := filepath.Join(t.TempDir(), "stack.json")
	if err := os.WriteFile(file, []byte(`{"resourceManagerEndpoint":"https://127.0.0.1:9/","activeDirectoryEndpoint":"https://127.0.0.1:9/login/"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := signInFor(&Config{Environment: file}, memory); err != nil || !s.custom {
		t.Errorf("signInFor(file) = %+v, %v; want a custom cloud", s, err)
	}
	if _, err := signInFor(&Config{Environment: "Mars"}, memory); !errors.Is(err, drivers.ErrInvalidConfig) {
		t.Errorf("signInFor(Mars) = %v, want ErrInvalidConfig", err)
	}
}

func TestNoteFirst(t *testing.T) {
	var got []string
	notify := noteFirst("no token cache", func(m string) { got = append(got, m) })
	notify("code 1")
	notify("code 2")
	if !slices.Equal(got, []string{"no token cache", "code 1", "code 2"}) {
		t.Errorf("shown %q", got)
	}
	got = nil
	noteFirst("", func(m string) { got = append(got, m) })("code")
	if !slices.Equal(got, []string{"code"}) {
		t.Errorf("shown %q", got)
	}
}

// TestStandIn runs a machine's life on the local ARM stand-in through the
// real sign-in (a client secret on a cloud from a file of endpoints), the
// real clients and Azure's wire protocol, long-running operations
// included.
func TestStandIn(t *testing.T) {
	// SetConfigFromFlags keeps the client secret in the process's
	// environment for later calls; restored when the test ends.
	offline(t)
	const tenant, client, secret = "11111111-2222-3333-4444-555555555555", "app", "s3cret"
	hooks := &azuretest.StaticHooks{}
	srv, err := azuretest.Start(azuretest.Options{
		TenantID: tenant, ClientID: client, ClientSecret: secret,
		Subscriptions: []string{testSub}, Locations: []string{"westus"}, VMSizes: []string{defaultSize}, Hooks: hooks,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	env := filepath.Join(t.TempDir(), "standin.json")
	b, _ := json.Marshal(map[string]string{"resourceManagerEndpoint": srv.URL(), "activeDirectoryEndpoint": srv.URL() + "/"})
	if err := os.WriteFile(env, b, 0o600); err != nil {
		t.Fatal(err)
	}
	newDriver := func(t *testing.T, name string, opts drivers.Options) *Driver {
		o := drivers.Options{flSubscriptionID: testSub, flTenantID: tenant, flClientID: client, flClientSecret: secret, flEnvironment: env}
		for k, v := range opts {
			o[k] = v
		}
		return standInDriver(t, srv, name, o)
	}
	ctx := t.Context()

	d := newDriver(t, "m1", nil)
	if err := d.Create(ctx); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if ip, err := d.GetIP(ctx); err != nil || !strings.HasPrefix(ip, "203.0.113.") {
		t.Errorf("GetIP = %q, %v; want the stand-in's 203.0.113.N", ip, err)
	}
	if ip, err := d.GetPrivateIP(ctx); err != nil || ip == "" {
		t.Errorf("GetPrivateIP = %q, %v", ip, err)
	}
	for _, s := range []struct {
		op   func(*Driver, context.Context) error
		want drivers.State
	}{
		{(*Driver).Stop, drivers.Stopped}, {(*Driver).Start, drivers.Running}, {(*Driver).Restart, drivers.Running}, {(*Driver).Kill, drivers.Stopped},
	} {
		if err := s.op(d, ctx); err != nil {
			t.Fatalf("power operation: %v", err)
		}
		if st, err := d.GetState(ctx); st != s.want || err != nil {
			t.Errorf("GetState = %v, %v; want %v", st, err, s.want)
		}
	}

	// A size the region does not offer: the VM is refused, the rest undone.
	bad := newDriver(t, "m2", drivers.Options{flSize: "Standard_Nope"})
	err = bad.Create(ctx)
	if err == nil || !strings.Contains(err.Error(), "SkuNotAvailable") || !strings.Contains(err.Error(), "--azure-size") {
		t.Errorf("Create with a size not offered = %v, want SkuNotAvailable and a hint", err)
	}
	if !bad.Made.empty() {
		t.Errorf("after the rollback Made = %+v", bad.Made)
	}

	c, err := d.conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := d.names()
	if _, err := c.nics.Get(ctx, n.group, "m2-nic", nil); !notFound(err) {
		t.Errorf("m2's NIC after the rollback: %v, want 404", err)
	}
	if err := d.Remove(ctx); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	for what, get := range map[string]func() error{
		"VM":     func() error { _, err := c.vms.Get(ctx, n.group, n.vm, nil); return err },
		"NIC":    func() error { _, err := c.nics.Get(ctx, n.group, n.nic, nil); return err },
		"IP":     func() error { _, err := c.publicIPs.Get(ctx, n.group, n.ip, nil); return err },
		"NSG":    func() error { _, err := c.nsgs.Get(ctx, n.group, n.nsg, nil); return err },
		"vnet":   func() error { _, err := c.vnets.Get(ctx, n.vnetGroup, n.vnet, nil); return err },
		"avset":  func() error { _, err := c.availSets.Get(ctx, n.group, n.avset, nil); return err },
		"OSdisk": func() error { _, err := c.disks.Get(ctx, n.group, n.disk, nil); return err },
	} {
		if err := get(); !notFound(err) {
			t.Errorf("%s after Remove: %v, want 404", what, err)
		}
	}
	if left := srv.Resources(); len(left) > 0 {
		t.Errorf("the stand-in still holds, after Remove (the group machine made included):\n%s", strings.Join(left, "\n"))
	}
	if err := d.Remove(ctx); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if calls := hooks.Calls(); !slices.Contains(calls, "create m1") || !slices.Contains(calls, "delete m1") {
		t.Errorf("stand-in hooks saw %v", calls)
	}
}

// standInDriver is a driver for machine name configured with opts, signing
// in and calling ARM on the stand-in srv (the test trusts its CA), with no
// persistent token cache and no wait for SSH.
func standInDriver(tb testing.TB, srv *azuretest.Server, name string, opts drivers.Options) *Driver {
	tb.Helper()
	d := New().(*Driver)
	d.MachineName, d.StorePath = name, tb.TempDir()
	if err := d.SetConfigFromFlags(context.Background(), opts); err != nil {
		tb.Fatal(err)
	}
	d.connect = func(ctx context.Context) (*conn, error) {
		s, err := signInFor(&d.Config, func() (azidentity.Cache, string) { return azidentity.Cache{}, "" })
		if err != nil {
			return nil, err
		}
		s.client.Transport = srv.Transport()
		return connectWith(ctx, &d.Config, s)
	}
	d.reachable = func(context.Context, string) error { return nil }
	return d
}

package azure

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	computefake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	networkfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"
	resourcesfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4/fake"
)

// testSub is the subscription of the fake cloud.
const testSub = "00000000-0000-0000-0000-0000000000aa"

// fakeARM is Azure Resource Manager in memory, served through the SDK's
// own fake servers (armresources, armnetwork, armcompute fake packages):
// it keeps resource groups, networks, NSGs, public IPs, NICs, VMs,
// availability sets and disks with the references Azure keeps between
// them, refuses what Azure refuses (a NIC in a missing subnet, deleting a
// subnet or NSG in use), logs every request, and answers injected
// failures.
type fakeARM struct {
	transport policy.Transporter

	mu      sync.Mutex
	groups  map[string]*armresources.ResourceGroup // by lower-case name
	res     map[string]any                         // by lower-case ID
	power   map[string]string                      // VM ID → running, deallocated, ...
	creates map[string]int                         // ID → PUTs that made it
	calls   []string                               // "PUT /subscriptions/..." (lower-case), polls left out
	rules   []*failRule
	nextIP  int
	// conflictWindow > 0: a PUT takes that long, and a PUT of the same
	// resource meanwhile is refused with 409 AnotherOperationInProgress,
	// as Azure refuses concurrent changes.
	conflictWindow time.Duration
	inflight       map[string]bool
	maxInflight    int // the most PUTs in flight at once
	conflicts      int // 409s served
	powerOffSkip   []bool
}

// failRule makes requests fail: method ("" any) and a path suffix
// (lower-case); times 0 is always.
type failRule struct {
	method, path  string
	status        int
	code, message string
	times, hits   int
}

func newFakeARM() *fakeARM {
	f := &fakeARM{
		groups: map[string]*armresources.ResourceGroup{}, res: map[string]any{},
		power: map[string]string{}, creates: map[string]int{}, inflight: map[string]bool{},
	}
	f.transport = router{
		compute: computefake.NewServerFactoryTransport(&computefake.ServerFactory{
			VirtualMachinesServer:  f.vmServer(),
			AvailabilitySetsServer: f.availabilitySetServer(),
			DisksServer:            f.diskServer(),
		}),
		network: networkfake.NewServerFactoryTransport(&networkfake.ServerFactory{
			VirtualNetworksServer:   f.vnetServer(),
			SubnetsServer:           f.subnetServer(),
			SecurityGroupsServer:    f.nsgServer(),
			PublicIPAddressesServer: f.publicIPServer(),
			InterfacesServer:        f.nicServer(),
		}),
		resources: resourcesfake.NewServerFactoryTransport(&resourcesfake.ServerFactory{
			ResourceGroupsServer: f.groupServer(),
			Server:               f.resourcesServer(),
		}),
	}
	return f
}

// connect makes the driver's clients on the fake.
func (f *fakeARM) connect(context.Context) (*conn, error) {
	return dial(testSub, &azfake.TokenCredential{}, azcore.ClientOptions{
		Transport: f, Retry: policy.RetryOptions{MaxRetries: -1},
	})
}

// router sends each request to the fake server of its resource provider.
type router struct{ compute, network, resources policy.Transporter }

func (r router) Do(req *http.Request) (*http.Response, error) {
	p := strings.ToLower(req.URL.Path)
	switch {
	case strings.Contains(p, "/providers/microsoft.compute/"):
		return r.compute.Do(req)
	case strings.Contains(p, "/providers/microsoft.network/"):
		return r.network.Do(req)
	}
	return r.resources.Do(req)
}

// Do logs the request, answers injected failures and conflicts, and hands
// the rest to the fake servers.
func (f *fakeARM) Do(req *http.Request) (*http.Response, error) {
	p := strings.ToLower(req.URL.Path)
	if strings.HasSuffix(p, "/get/fake/status") {
		return f.transport.Do(req)
	}
	f.mu.Lock()
	f.calls = append(f.calls, req.Method+" "+p)
	for _, r := range f.rules {
		if (r.method == "" || r.method == req.Method) && strings.HasSuffix(p, r.path) && (r.times == 0 || r.hits < r.times) {
			r.hits++
			if r.status == http.StatusConflict {
				f.conflicts++
			}
			f.mu.Unlock()
			return errorResponse(req, r.status, r.code, r.message), nil
		}
	}
	if f.conflictWindow > 0 && req.Method == http.MethodPut {
		if f.inflight[p] {
			f.conflicts++
			f.mu.Unlock()
			return errorResponse(req, http.StatusConflict, "AnotherOperationInProgress", "Another operation on this or dependent resource is in progress."), nil
		}
		f.inflight[p] = true
		f.maxInflight = max(f.maxInflight, len(f.inflight))
		f.mu.Unlock()
		time.Sleep(f.conflictWindow)
		defer func() {
			f.mu.Lock()
			delete(f.inflight, p)
			f.mu.Unlock()
		}()
		return f.transport.Do(req)
	}
	f.mu.Unlock()
	return f.transport.Do(req)
}

// errorResponse is Azure's error answer: status, x-ms-error-code and the
// JSON error body.
func errorResponse(req *http.Request, status int, code, message string) *http.Response {
	body, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": message}})
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("x-ms-error-code", code)
	return &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), Request: req, ContentLength: int64(len(body)),
	}
}

// fail makes matching requests fail.
func (f *fakeARM) fail(method, path string, status int, code, message string, times int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, &failRule{method: method, path: strings.ToLower(path), status: status, code: code, message: message, times: times})
}

// called says whether a request with method went to a path ending in
// suffix (lower-cased).
func (f *fakeARM) called(method, suffix string) bool {
	return f.count(method, suffix) > 0
}

func (f *fakeARM) count(method, suffix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if m, p, _ := strings.Cut(c, " "); m == method && strings.HasSuffix(p, strings.ToLower(suffix)) {
			n++
		}
	}
	return n
}

func (f *fakeARM) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// resourceID is the ID of name of typ in group on the fake.
func resourceID(group, typ, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/%s/%s", testSub, group, typ, name)
}

func key(id string) string { return strings.ToLower(id) }

// has says whether the fake holds the resource.
func (f *fakeARM) has(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.res[key(id)]
	return ok
}

func (f *fakeARM) hasGroup(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.groups[strings.ToLower(name)]
	return ok
}

// addGroup puts a group on the fake as a user made it (no tags).
func (f *fakeARM) addGroup(name string, tags map[string]*string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups[strings.ToLower(name)] = &armresources.ResourceGroup{
		ID: to.Ptr("/subscriptions/" + testSub + "/resourceGroups/" + name), Name: to.Ptr(name), Location: to.Ptr(defaultLocation), Tags: tags,
	}
}

// put stores v, made by the user, under id.
func (f *fakeARM) put(id string, v any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.res[key(id)] = v
}

// get returns a copy of the resource under id, or the zero T and false.
func get[T any](f *fakeARM, id string) (T, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.res[key(id)].(*T)
	if !ok {
		var zero T
		return zero, false
	}
	return clone(*v), true
}

// clone deep-copies an SDK model through its JSON.
func clone[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// Fake-server helpers; all run with f.mu held.

func notFoundErr(e *azfake.ErrorResponder, code string) {
	e.SetResponseError(http.StatusNotFound, code)
}

// groupOK says whether group exists, else sets 404 ResourceGroupNotFound.
func (f *fakeARM) groupOK(group string, e *azfake.ErrorResponder) bool {
	if _, ok := f.groups[strings.ToLower(group)]; !ok {
		notFoundErr(e, "ResourceGroupNotFound")
		return false
	}
	return true
}

// store keeps v under id and says whether it was made (not replaced).
func (f *fakeARM) store(id string, v any) bool {
	_, existed := f.res[key(id)]
	f.res[key(id)] = v
	if !existed {
		f.creates[key(id)]++
	}
	return !existed
}

func status(made bool) int {
	if made {
		return http.StatusCreated
	}
	return http.StatusOK
}

func lookup[T any](f *fakeARM, id string) *T {
	v, _ := f.res[key(id)].(*T)
	return v
}

// exists says whether a T is under id, else sets 404 ResourceNotFound.
func exists[T any](f *fakeARM, id string, e *azfake.ErrorResponder) bool {
	if lookup[T](f, id) == nil {
		notFoundErr(e, "ResourceNotFound")
		return false
	}
	return true
}

// deleteOne answers a BeginDelete of the T under id: 404 ResourceNotFound
// when there is none, 400 with the code inUse gives while it is referenced
// (inUse nil or "": never), else gone (if not nil) drops its references and
// it goes. It takes f.mu.
func deleteOne[R, T any](f *fakeARM, id string, inUse func(*T) string, gone func(*T)) (resp azfake.PollerResponder[R], e azfake.ErrorResponder) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := lookup[T](f, id)
	if v == nil {
		notFoundErr(&e, "ResourceNotFound")
		return
	}
	if inUse != nil {
		if code := inUse(v); code != "" {
			e.SetResponseError(http.StatusBadRequest, code)
			return
		}
	}
	if gone != nil {
		gone(v)
	}
	delete(f.res, key(id))
	var done R
	resp.SetTerminalResponse(http.StatusOK, done, nil)
	return
}

// getOne answers a Get of the resource under id: a copy of it in the
// response wrap makes, or 404 ResourceNotFound. It takes f.mu.
func getOne[T, R any](f *fakeARM, id string, wrap func(T) R) (resp azfake.Responder[R], e azfake.ErrorResponder) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := lookup[T](f, id)
	if v == nil {
		notFoundErr(&e, "ResourceNotFound")
		return
	}
	resp.SetResponse(http.StatusOK, wrap(clone(*v)), nil)
	return
}

// Resource groups and the generic resources client.

func (f *fakeARM) groupServer() resourcesfake.ResourceGroupsServer {
	return resourcesfake.ResourceGroupsServer{
		CreateOrUpdate: func(_ context.Context, name string, g armresources.ResourceGroup, _ *armresources.ResourceGroupsClientCreateOrUpdateOptions) (resp azfake.Responder[armresources.ResourceGroupsClientCreateOrUpdateResponse], e azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			_, existed := f.groups[strings.ToLower(name)]
			g.ID, g.Name = to.Ptr("/subscriptions/"+testSub+"/resourceGroups/"+name), to.Ptr(name)
			f.groups[strings.ToLower(name)] = &g
			if !existed {
				f.creates["group/"+strings.ToLower(name)]++
			}
			resp.SetResponse(status(!existed), armresources.ResourceGroupsClientCreateOrUpdateResponse{ResourceGroup: clone(g)}, nil)
			return
		},
		Get: func(_ context.Context, name string, _ *armresources.ResourceGroupsClientGetOptions) (resp azfake.Responder[armresources.ResourceGroupsClientGetResponse], e azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			g, ok := f.groups[strings.ToLower(name)]
			if !ok {
				notFoundErr(&e, "ResourceGroupNotFound")
				return
			}
			resp.SetResponse(http.StatusOK, armresources.ResourceGroupsClientGetResponse{ResourceGroup: clone(*g)}, nil)
			return
		},
		BeginDelete: func(_ context.Context, name string, _ *armresources.ResourceGroupsClientBeginDeleteOptions) (resp azfake.PollerResponder[armresources.ResourceGroupsClientDeleteResponse], e azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if !f.groupOK(name, &e) {
				return
			}
			delete(f.groups, strings.ToLower(name))
			prefix := key("/subscriptions/" + testSub + "/resourceGroups/" + name + "/")
			for id := range f.res {
				if strings.HasPrefix(id, prefix) {
					delete(f.res, id)
				}
			}
			resp.SetTerminalResponse(http.StatusOK, armresources.ResourceGroupsClientDeleteResponse{}, nil)
			return
		},
	}
}

func (f *fakeARM) resourcesServer() resourcesfake.Server {
	return resourcesfake.Server{
		NewListByResourceGroupPager: func(group string, _ *armresources.ClientListByResourceGroupOptions) (resp azfake.PagerResponder[armresources.ClientListByResourceGroupResponse]) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if _, ok := f.groups[strings.ToLower(group)]; !ok {
				resp.AddResponseError(http.StatusNotFound, "ResourceGroupNotFound")
				return
			}
			prefix := key("/subscriptions/" + testSub + "/resourceGroups/" + group + "/")
			var page armresources.ClientListByResourceGroupResponse
			for id := range f.res {
				if strings.HasPrefix(id, prefix) {
					page.Value = append(page.Value, &armresources.GenericResourceExpanded{ID: to.Ptr(id)})
				}
			}
			resp.AddPage(http.StatusOK, page, nil)
			return
		},
	}
}

// Networks.

func (f *fakeARM) vnetServer() networkfake.VirtualNetworksServer {
	id := func(g, n string) string { return resourceID(g, "Microsoft.Network/virtualNetworks", n) }
	return networkfake.VirtualNetworksServer{
		BeginCreateOrUpdate: func(_ context.Context, g, n string, v armnetwork.VirtualNetwork, _ *armnetwork.VirtualNetworksClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armnetwork.VirtualNetworksClientCreateOrUpdateResponse], e azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if !f.groupOK(g, &e) {
				return
			}
			v.ID, v.Name = to.Ptr(id(g, n)), to.Ptr(n)
			old := lookup[armnetwork.VirtualNetwork](f, id(g, n))
			if v.Properties != nil {
				for _, s := range v.Properties.Subnets {
					s.ID = to.Ptr(id(g, n) + "/subnets/" + val(s.Name))
					if old != nil { // Azure keeps what is in a subnet that stays
						for _, o := range old.Properties.Subnets {
							if strings.EqualFold(val(o.Name), val(s.Name)) && o.Properties != nil {
								s.Properties.IPConfigurations = o.Properties.IPConfigurations
							}
						}
					}
				}
			}
			made := f.store(id(g, n), &v)
			resp.SetTerminalResponse(status(made), armnetwork.VirtualNetworksClientCreateOrUpdateResponse{VirtualNetwork: clone(v)}, nil)
			return
		},
		Get: func(_ context.Context, g, n string, _ *armnetwork.VirtualNetworksClientGetOptions) (azfake.Responder[armnetwork.VirtualNetworksClientGetResponse], azfake.ErrorResponder) {
			return getOne(f, id(g, n), func(v armnetwork.VirtualNetwork) armnetwork.VirtualNetworksClientGetResponse {
				return armnetwork.VirtualNetworksClientGetResponse{VirtualNetwork: v}
			})
		},
		BeginDelete: func(_ context.Context, g, n string, _ *armnetwork.VirtualNetworksClientBeginDeleteOptions) (azfake.PollerResponder[armnetwork.VirtualNetworksClientDeleteResponse], azfake.ErrorResponder) {
			return deleteOne[armnetwork.VirtualNetworksClientDeleteResponse](f, id(g, n), func(v *armnetwork.VirtualNetwork) string {
				for _, s := range v.Properties.Subnets {
					if s.Properties != nil && len(s.Properties.IPConfigurations) > 0 {
						return "InUseSubnetCannotBeDeleted"
					}
				}
				return ""
			}, nil)
		},
	}
}

// subnet returns the subnet s of vnet v in g, or nil.
func (f *fakeARM) subnet(g, v, s string) *armnetwork.Subnet {
	return f.subnetByID(resourceID(g, "Microsoft.Network/virtualNetworks", v) + "/subnets/" + s)
}

// subnetByID returns the subnet with ID id, or nil.
func (f *fakeARM) subnetByID(id string) *armnetwork.Subnet {
	vnetID, name, ok := strings.Cut(id, "/subnets/")
	if !ok {
		return nil
	}
	vn := lookup[armnetwork.VirtualNetwork](f, vnetID)
	if vn == nil || vn.Properties == nil {
		return nil
	}
	for _, sub := range vn.Properties.Subnets {
		if strings.EqualFold(val(sub.Name), name) {
			return sub
		}
	}
	return nil
}

func (f *fakeARM) subnetServer() networkfake.SubnetsServer {
	return networkfake.SubnetsServer{
		BeginCreateOrUpdate: func(_ context.Context, g, v, s string, sub armnetwork.Subnet, _ *armnetwork.SubnetsClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armnetwork.SubnetsClientCreateOrUpdateResponse], e azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			vn := lookup[armnetwork.VirtualNetwork](f, resourceID(g, "Microsoft.Network/virtualNetworks", v))
			if vn == nil {
				notFoundErr(&e, "NotFound")
				return
			}
			sub.ID, sub.Name = to.Ptr(val(vn.ID)+"/subnets/"+s), to.Ptr(s)
			made := true
			if old := f.subnet(g, v, s); old != nil {
				made = false
				if old.Properties != nil {
					sub.Properties.IPConfigurations = old.Properties.IPConfigurations
				}
				*old = sub
			} else {
				vn.Properties.Subnets = append(vn.Properties.Subnets, &sub)
				f.creates[key(val(sub.ID))]++
			}
			resp.SetTerminalResponse(status(made), armnetwork.SubnetsClientCreateOrUpdateResponse{Subnet: clone(sub)}, nil)
			return
		},
		Get: func(_ context.Context, g, v, s string, _ *armnetwork.SubnetsClientGetOptions) (resp azfake.Responder[armnetwork.SubnetsClientGetResponse], e azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			sub := f.subnet(g, v, s)
			if sub == nil {
				notFoundErr(&e, "NotFound")
				return
			}
			resp.SetResponse(http.StatusOK, armnetwork.SubnetsClientGetResponse{Subnet: clone(*sub)}, nil)
			return
		},
		BeginDelete: func(_ context.Context, g, v, s string, _ *armnetwork.SubnetsClientBeginDeleteOptions) (resp azfake.PollerResponder[armnetwork.SubnetsClientDeleteResponse], e azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			sub := f.subnet(g, v, s)
			if sub == nil {
				notFoundErr(&e, "NotFound")
				return
			}
			if sub.Properties != nil && len(sub.Properties.IPConfigurations) > 0 {
				e.SetResponseError(http.StatusBadRequest, "InUseSubnetCannotBeDeleted")
				return
			}
			vn := lookup[armnetwork.VirtualNetwork](f, resourceID(g, "Microsoft.Network/virtualNetworks", v))
			vn.Properties.Subnets = slices.DeleteFunc(vn.Properties.Subnets, func(o *armnetwork.Subnet) bool { return o == sub })
			resp.SetTerminalResponse(http.StatusOK, armnetwork.SubnetsClientDeleteResponse{}, nil)
			return
		},
	}
}

func (f *fakeARM) nsgServer() networkfake.SecurityGroupsServer {
	id := func(g, n string) string { return resourceID(g, "Microsoft.Network/networkSecurityGroups", n) }
	return networkfake.SecurityGroupsServer{
		BeginCreateOrUpdate: func(_ context.Context, g, n string, s armnetwork.SecurityGroup, _ *armnetwork.SecurityGroupsClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armnetwork.SecurityGroupsClientCreateOrUpdateResponse], e azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if !f.groupOK(g, &e) {
				return
			}
			s.ID, s.Name = to.Ptr(id(g, n)), to.Ptr(n)
			if old := lookup[armnetwork.SecurityGroup](f, id(g, n)); old != nil && old.Properties != nil {
				s.Properties.NetworkInterfaces = old.Properties.NetworkInterfaces
			}
			made := f.store(id(g, n), &s)
			resp.SetTerminalResponse(status(made), armnetwork.SecurityGroupsClientCreateOrUpdateResponse{SecurityGroup: clone(s)}, nil)
			return
		},
		Get: func(_ context.Context, g, n string, _ *armnetwork.SecurityGroupsClientGetOptions) (azfake.Responder[armnetwork.SecurityGroupsClientGetResponse], azfake.ErrorResponder) {
			return getOne(f, id(g, n), func(v armnetwork.SecurityGroup) armnetwork.SecurityGroupsClientGetResponse {
				return armnetwork.SecurityGroupsClientGetResponse{SecurityGroup: v}
			})
		},
		BeginDelete: func(_ context.Context, g, n string, _ *armnetwork.SecurityGroupsClientBeginDeleteOptions) (azfake.PollerResponder[armnetwork.SecurityGroupsClientDeleteResponse], azfake.ErrorResponder) {
			return deleteOne[armnetwork.SecurityGroupsClientDeleteResponse](f, id(g, n), func(s *armnetwork.SecurityGroup) string {
				if s.Properties != nil && len(s.Properties.NetworkInterfaces) > 0 {
					return "InUseNetworkSecurityGroupCannotBeDeleted"
				}
				return ""
			}, nil)
		},
	}
}

func (f *fakeARM) publicIPServer() networkfake.PublicIPAddressesServer {
	id := func(g, n string) string { return resourceID(g, "Microsoft.Network/publicIPAddresses", n) }
	return networkfake.PublicIPAddressesServer{
		BeginCreateOrUpdate: func(_ context.Context, g, n string, ip armnetwork.PublicIPAddress, _ *armnetwork.PublicIPAddressesClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armnetwork.PublicIPAddressesClientCreateOrUpdateResponse], e azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if !f.groupOK(g, &e) {
				return
			}
			ip.ID, ip.Name = to.Ptr(id(g, n)), to.Ptr(n)
			if val(ip.Properties.PublicIPAllocationMethod) == armnetwork.IPAllocationMethodStatic {
				ip.Properties.IPAddress = to.Ptr("127.0.0.1") // static: allocated at once
			}
			made := f.store(id(g, n), &ip)
			resp.SetTerminalResponse(status(made), armnetwork.PublicIPAddressesClientCreateOrUpdateResponse{PublicIPAddress: clone(ip)}, nil)
			return
		},
		Get: func(_ context.Context, g, n string, _ *armnetwork.PublicIPAddressesClientGetOptions) (azfake.Responder[armnetwork.PublicIPAddressesClientGetResponse], azfake.ErrorResponder) {
			return getOne(f, id(g, n), func(v armnetwork.PublicIPAddress) armnetwork.PublicIPAddressesClientGetResponse {
				return armnetwork.PublicIPAddressesClientGetResponse{PublicIPAddress: v}
			})
		},
		BeginDelete: func(_ context.Context, g, n string, _ *armnetwork.PublicIPAddressesClientBeginDeleteOptions) (azfake.PollerResponder[armnetwork.PublicIPAddressesClientDeleteResponse], azfake.ErrorResponder) {
			return deleteOne[armnetwork.PublicIPAddressesClientDeleteResponse](f, id(g, n), func(ip *armnetwork.PublicIPAddress) string {
				if ip.Properties.IPConfiguration != nil {
					return "PublicIPAddressCannotBeDeleted"
				}
				return ""
			}, nil)
		},
	}
}

func (f *fakeARM) nicServer() networkfake.InterfacesServer {
	id := func(g, n string) string { return resourceID(g, "Microsoft.Network/networkInterfaces", n) }
	return networkfake.InterfacesServer{
		BeginCreateOrUpdate: func(_ context.Context, g, n string, nic armnetwork.Interface, _ *armnetwork.InterfacesClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armnetwork.InterfacesClientCreateOrUpdateResponse], e azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if !f.groupOK(g, &e) {
				return
			}
			nic.ID, nic.Name = to.Ptr(id(g, n)), to.Ptr(n)
			var nsg *armnetwork.SecurityGroup
			if nic.Properties.NetworkSecurityGroup != nil {
				if nsg = lookup[armnetwork.SecurityGroup](f, val(nic.Properties.NetworkSecurityGroup.ID)); nsg == nil {
					e.SetResponseError(http.StatusBadRequest, "InvalidResourceReference")
					return
				}
			}
			for _, ipc := range nic.Properties.IPConfigurations {
				ipc.ID = to.Ptr(id(g, n) + "/ipConfigurations/" + val(ipc.Name))
				sub := f.subnetByID(val(ipc.Properties.Subnet.ID))
				if sub == nil {
					e.SetResponseError(http.StatusBadRequest, "InvalidResourceReference")
					return
				}
				if ipc.Properties.PublicIPAddress != nil {
					ip := lookup[armnetwork.PublicIPAddress](f, val(ipc.Properties.PublicIPAddress.ID))
					if ip == nil {
						e.SetResponseError(http.StatusBadRequest, "InvalidResourceReference")
						return
					}
					ip.Properties.IPConfiguration = &armnetwork.IPConfiguration{ID: ipc.ID}
				}
				if val(ipc.Properties.PrivateIPAllocationMethod) != armnetwork.IPAllocationMethodStatic {
					f.nextIP++
					ipc.Properties.PrivateIPAddress = to.Ptr(fmt.Sprintf("192.168.0.%d", 3+f.nextIP))
				}
				sub.Properties.IPConfigurations = append(sub.Properties.IPConfigurations, &armnetwork.IPConfiguration{ID: ipc.ID})
			}
			if nsg != nil {
				nsg.Properties.NetworkInterfaces = append(nsg.Properties.NetworkInterfaces, &armnetwork.Interface{ID: nic.ID})
			}
			made := f.store(id(g, n), &nic)
			resp.SetTerminalResponse(status(made), armnetwork.InterfacesClientCreateOrUpdateResponse{Interface: clone(nic)}, nil)
			return
		},
		Get: func(_ context.Context, g, n string, _ *armnetwork.InterfacesClientGetOptions) (azfake.Responder[armnetwork.InterfacesClientGetResponse], azfake.ErrorResponder) {
			return getOne(f, id(g, n), func(v armnetwork.Interface) armnetwork.InterfacesClientGetResponse {
				return armnetwork.InterfacesClientGetResponse{Interface: v}
			})
		},
		BeginDelete: func(_ context.Context, g, n string, _ *armnetwork.InterfacesClientBeginDeleteOptions) (azfake.PollerResponder[armnetwork.InterfacesClientDeleteResponse], azfake.ErrorResponder) {
			return deleteOne[armnetwork.InterfacesClientDeleteResponse](f, id(g, n), func(nic *armnetwork.Interface) string {
				if nic.Properties.VirtualMachine != nil {
					return "NicInUse"
				}
				return ""
			}, f.detachNIC)
		},
	}
}

// detachNIC drops the references to nic from its subnet, NSG and public
// IP.
func (f *fakeARM) detachNIC(nic *armnetwork.Interface) {
	for _, ipc := range nic.Properties.IPConfigurations {
		if sub := f.subnetByID(val(ipc.Properties.Subnet.ID)); sub != nil {
			sub.Properties.IPConfigurations = slices.DeleteFunc(sub.Properties.IPConfigurations,
				func(c *armnetwork.IPConfiguration) bool { return sameID(val(c.ID), val(ipc.ID)) })
		}
		if ipc.Properties.PublicIPAddress != nil {
			if ip := lookup[armnetwork.PublicIPAddress](f, val(ipc.Properties.PublicIPAddress.ID)); ip != nil {
				ip.Properties.IPConfiguration = nil
			}
		}
	}
	if nic.Properties.NetworkSecurityGroup != nil {
		if nsg := lookup[armnetwork.SecurityGroup](f, val(nic.Properties.NetworkSecurityGroup.ID)); nsg != nil {
			nsg.Properties.NetworkInterfaces = slices.DeleteFunc(nsg.Properties.NetworkInterfaces,
				func(i *armnetwork.Interface) bool { return sameID(val(i.ID), val(nic.ID)) })
		}
	}
}

// Compute.

func (f *fakeARM) availabilitySetServer() computefake.AvailabilitySetsServer {
	id := func(g, n string) string { return resourceID(g, "Microsoft.Compute/availabilitySets", n) }
	return computefake.AvailabilitySetsServer{
		CreateOrUpdate: func(_ context.Context, g, n string, a armcompute.AvailabilitySet, _ *armcompute.AvailabilitySetsClientCreateOrUpdateOptions) (resp azfake.Responder[armcompute.AvailabilitySetsClientCreateOrUpdateResponse], e azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if !f.groupOK(g, &e) {
				return
			}
			a.ID, a.Name = to.Ptr(id(g, n)), to.Ptr(n)
			if old := lookup[armcompute.AvailabilitySet](f, id(g, n)); old != nil {
				a.Properties.VirtualMachines = old.Properties.VirtualMachines
			}
			f.store(id(g, n), &a)
			resp.SetResponse(http.StatusOK, armcompute.AvailabilitySetsClientCreateOrUpdateResponse{AvailabilitySet: clone(a)}, nil)
			return
		},
		Get: func(_ context.Context, g, n string, _ *armcompute.AvailabilitySetsClientGetOptions) (azfake.Responder[armcompute.AvailabilitySetsClientGetResponse], azfake.ErrorResponder) {
			return getOne(f, id(g, n), func(v armcompute.AvailabilitySet) armcompute.AvailabilitySetsClientGetResponse {
				return armcompute.AvailabilitySetsClientGetResponse{AvailabilitySet: v}
			})
		},
		Delete: func(_ context.Context, g, n string, _ *armcompute.AvailabilitySetsClientDeleteOptions) (resp azfake.Responder[armcompute.AvailabilitySetsClientDeleteResponse], e azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			a := lookup[armcompute.AvailabilitySet](f, id(g, n))
			if a == nil {
				resp.SetResponse(http.StatusNoContent, armcompute.AvailabilitySetsClientDeleteResponse{}, nil)
				return
			}
			if len(a.Properties.VirtualMachines) > 0 {
				e.SetResponseError(http.StatusConflict, "AvailabilitySetInUse")
				return
			}
			delete(f.res, key(id(g, n)))
			resp.SetResponse(http.StatusOK, armcompute.AvailabilitySetsClientDeleteResponse{}, nil)
			return
		},
	}
}

func (f *fakeARM) diskServer() computefake.DisksServer {
	id := func(g, n string) string { return resourceID(g, "Microsoft.Compute/disks", n) }
	return computefake.DisksServer{
		Get: func(_ context.Context, g, n string, _ *armcompute.DisksClientGetOptions) (azfake.Responder[armcompute.DisksClientGetResponse], azfake.ErrorResponder) {
			return getOne(f, id(g, n), func(v armcompute.Disk) armcompute.DisksClientGetResponse {
				return armcompute.DisksClientGetResponse{Disk: v}
			})
		},
		BeginDelete: func(_ context.Context, g, n string, _ *armcompute.DisksClientBeginDeleteOptions) (azfake.PollerResponder[armcompute.DisksClientDeleteResponse], azfake.ErrorResponder) {
			return deleteOne[armcompute.DisksClientDeleteResponse, armcompute.Disk](f, id(g, n), nil, nil)
		},
	}
}

// setPower sets a VM's power state; a dynamic public IP has an address only
// while its VM is allocated.
func (f *fakeARM) setPower(vmID, state string) {
	f.power[key(vmID)] = state
	vm := lookup[armcompute.VirtualMachine](f, vmID)
	if vm == nil {
		return
	}
	for _, ref := range vm.Properties.NetworkProfile.NetworkInterfaces {
		nic := lookup[armnetwork.Interface](f, val(ref.ID))
		if nic == nil {
			continue
		}
		for _, ipc := range nic.Properties.IPConfigurations {
			if ipc.Properties.PublicIPAddress == nil {
				continue
			}
			ip := lookup[armnetwork.PublicIPAddress](f, val(ipc.Properties.PublicIPAddress.ID))
			if ip == nil || val(ip.Properties.PublicIPAllocationMethod) == armnetwork.IPAllocationMethodStatic {
				continue
			}
			if state == "deallocated" {
				ip.Properties.IPAddress = nil
			} else {
				ip.Properties.IPAddress = to.Ptr("127.0.0.1")
			}
		}
	}
}

func (f *fakeARM) vmServer() computefake.VirtualMachinesServer {
	id := func(g, n string) string { return resourceID(g, "Microsoft.Compute/virtualMachines", n) }
	// powerResp answers Start, Deallocate, Restart or PowerOff.
	type powerResp[T any] = azfake.PollerResponder[T]
	return computefake.VirtualMachinesServer{
		BeginCreateOrUpdate: func(_ context.Context, g, n string, vm armcompute.VirtualMachine, _ *armcompute.VirtualMachinesClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armcompute.VirtualMachinesClientCreateOrUpdateResponse], e azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if !f.groupOK(g, &e) {
				return
			}
			vm.ID, vm.Name = to.Ptr(id(g, n)), to.Ptr(n)
			var nics []*armnetwork.Interface
			for _, ref := range vm.Properties.NetworkProfile.NetworkInterfaces {
				nic := lookup[armnetwork.Interface](f, val(ref.ID))
				if nic == nil {
					e.SetResponseError(http.StatusNotFound, "NotFound")
					return
				}
				nics = append(nics, nic)
			}
			var avset *armcompute.AvailabilitySet
			if vm.Properties.AvailabilitySet != nil {
				if avset = lookup[armcompute.AvailabilitySet](f, val(vm.Properties.AvailabilitySet.ID)); avset == nil {
					e.SetResponseError(http.StatusNotFound, "NotFound")
					return
				}
				avset.Properties.VirtualMachines = append(avset.Properties.VirtualMachines, &armcompute.SubResource{ID: vm.ID})
			}
			for _, nic := range nics {
				nic.Properties.VirtualMachine = &armnetwork.SubResource{ID: vm.ID}
			}
			osd := vm.Properties.StorageProfile.OSDisk
			diskID := resourceID(g, "Microsoft.Compute/disks", val(osd.Name))
			f.res[key(diskID)] = &armcompute.Disk{ID: to.Ptr(diskID), Name: osd.Name, ManagedBy: vm.ID}
			osd.ManagedDisk.ID = to.Ptr(diskID)
			vm.Properties.ProvisioningState = to.Ptr("Succeeded")
			made := f.store(id(g, n), &vm)
			f.setPower(id(g, n), "running")
			resp.SetTerminalResponse(status(made), armcompute.VirtualMachinesClientCreateOrUpdateResponse{VirtualMachine: clone(vm)}, nil)
			return
		},
		Get: func(_ context.Context, g, n string, _ *armcompute.VirtualMachinesClientGetOptions) (azfake.Responder[armcompute.VirtualMachinesClientGetResponse], azfake.ErrorResponder) {
			return getOne(f, id(g, n), func(v armcompute.VirtualMachine) armcompute.VirtualMachinesClientGetResponse {
				return armcompute.VirtualMachinesClientGetResponse{VirtualMachine: v}
			})
		},
		InstanceView: func(_ context.Context, g, n string, _ *armcompute.VirtualMachinesClientInstanceViewOptions) (resp azfake.Responder[armcompute.VirtualMachinesClientInstanceViewResponse], e azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if !exists[armcompute.VirtualMachine](f, id(g, n), &e) {
				return
			}
			iv := armcompute.VirtualMachineInstanceView{Statuses: []*armcompute.InstanceViewStatus{
				{Code: to.Ptr("ProvisioningState/succeeded")},
				{Code: to.Ptr("PowerState/" + f.power[key(id(g, n))])},
			}}
			resp.SetResponse(http.StatusOK, armcompute.VirtualMachinesClientInstanceViewResponse{VirtualMachineInstanceView: iv}, nil)
			return
		},
		BeginDelete: func(_ context.Context, g, n string, _ *armcompute.VirtualMachinesClientBeginDeleteOptions) (resp azfake.PollerResponder[armcompute.VirtualMachinesClientDeleteResponse], e azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			vm := lookup[armcompute.VirtualMachine](f, id(g, n))
			if vm == nil {
				notFoundErr(&e, "ResourceNotFound")
				return
			}
			for _, ref := range vm.Properties.NetworkProfile.NetworkInterfaces {
				if nic := lookup[armnetwork.Interface](f, val(ref.ID)); nic != nil {
					nic.Properties.VirtualMachine = nil
				}
			}
			if vm.Properties.AvailabilitySet != nil {
				if a := lookup[armcompute.AvailabilitySet](f, val(vm.Properties.AvailabilitySet.ID)); a != nil {
					a.Properties.VirtualMachines = slices.DeleteFunc(a.Properties.VirtualMachines,
						func(v *armcompute.SubResource) bool { return sameID(val(v.ID), val(vm.ID)) })
				}
			}
			// The OS disk goes with the VM (DeleteOption Delete), as in Azure.
			if osd := vm.Properties.StorageProfile.OSDisk; val(osd.DeleteOption) == armcompute.DiskDeleteOptionTypesDelete {
				delete(f.res, key(val(osd.ManagedDisk.ID)))
			}
			delete(f.res, key(id(g, n)))
			delete(f.power, key(id(g, n)))
			resp.SetTerminalResponse(http.StatusOK, armcompute.VirtualMachinesClientDeleteResponse{}, nil)
			return
		},
		BeginStart: func(_ context.Context, g, n string, _ *armcompute.VirtualMachinesClientBeginStartOptions) (resp powerResp[armcompute.VirtualMachinesClientStartResponse], e azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if !exists[armcompute.VirtualMachine](f, id(g, n), &e) {
				return
			}
			f.setPower(id(g, n), "running")
			resp.SetTerminalResponse(http.StatusOK, armcompute.VirtualMachinesClientStartResponse{}, nil)
			return
		},
		BeginDeallocate: func(_ context.Context, g, n string, _ *armcompute.VirtualMachinesClientBeginDeallocateOptions) (resp powerResp[armcompute.VirtualMachinesClientDeallocateResponse], e azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if !exists[armcompute.VirtualMachine](f, id(g, n), &e) {
				return
			}
			f.setPower(id(g, n), "deallocated")
			resp.SetTerminalResponse(http.StatusOK, armcompute.VirtualMachinesClientDeallocateResponse{}, nil)
			return
		},
		BeginRestart: func(_ context.Context, g, n string, _ *armcompute.VirtualMachinesClientBeginRestartOptions) (resp powerResp[armcompute.VirtualMachinesClientRestartResponse], e azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if !exists[armcompute.VirtualMachine](f, id(g, n), &e) {
				return
			}
			if f.power[key(id(g, n))] != "running" {
				e.SetResponseError(http.StatusConflict, "OperationNotAllowed")
				return
			}
			resp.SetTerminalResponse(http.StatusOK, armcompute.VirtualMachinesClientRestartResponse{}, nil)
			return
		},
		BeginPowerOff: func(_ context.Context, g, n string, o *armcompute.VirtualMachinesClientBeginPowerOffOptions) (resp powerResp[armcompute.VirtualMachinesClientPowerOffResponse], e azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if !exists[armcompute.VirtualMachine](f, id(g, n), &e) {
				return
			}
			f.powerOffSkip = append(f.powerOffSkip, o != nil && val(o.SkipShutdown))
			f.setPower(id(g, n), "stopped")
			resp.SetTerminalResponse(http.StatusOK, armcompute.VirtualMachinesClientPowerOffResponse{}, nil)
			return
		},
	}
}

// testDriver returns a configured driver for machine name on f, as
// SetConfigFromFlags leaves it, with its SSH wait stubbed.
func testDriver(t *testing.T, f *fakeARM, name string, opts map[string]any) *Driver {
	t.Helper()
	d := New().(*Driver)
	d.MachineName = name
	d.StorePath = t.TempDir()
	o := map[string]any{flSubscriptionID: testSub}
	for k, v := range opts {
		o[k] = v
	}
	if err := d.SetConfigFromFlags(t.Context(), o); err != nil {
		t.Fatalf("SetConfigFromFlags: %v", err)
	}
	d.connect = f.connect
	d.reachable = func(context.Context, string) error { return nil }
	d.backoff = time.Millisecond
	return d
}

// mustCreate creates machine name on f.
func mustCreate(t *testing.T, f *fakeARM, name string, opts map[string]any) *Driver {
	t.Helper()
	d := testDriver(t, f, name, opts)
	if err := d.Create(t.Context()); err != nil {
		t.Fatalf("Create %s: %v", name, err)
	}
	return d
}

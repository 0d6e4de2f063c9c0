package azuretest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"
	"golang.org/x/crypto/ssh"
)

// Credentials and names every stand-in in these tests knows.
const (
	tenantID = "72f988bf-0000-4000-8000-00000000a2ee"
	clientID = "0b5f3f8e-0000-4000-8000-00000000c11e"
	secret   = "stand-in-secret~value"
	subID    = "9c3ab2f1-0000-4000-8000-0000000005ab"
	location = "westeurope"
	size     = "Standard_B2s"
)

// TestMain keeps everything on this machine: proxies point at a closed
// loopback port (127.0.0.1 and localhost are exempt), and the azidentity
// credential chain is limited so nothing probes IMDS.
func TestMain(m *testing.M) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	closed := "http://" + ln.Addr().String()
	_ = ln.Close()
	for k, v := range map[string]string{
		"HTTPS_PROXY": closed, "HTTP_PROXY": closed, "https_proxy": closed, "http_proxy": closed,
		"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
		"AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential",
	} {
		_ = os.Setenv(k, v)
	}
	os.Exit(m.Run())
}

// env is a stand-in and the real SDK clients pointed at it.
type env struct {
	s     *Server
	hooks *StaticHooks
	cred  azcore.TokenCredential
	rf    *armresources.ClientFactory
	nf    *armnetwork.ClientFactory
	cf    *armcompute.ClientFactory
	key   string // an SSH public key, authorized_keys form
}

// newEnv starts a stand-in (opts may adjust its options) and signs in to
// it with a client secret credential, as the driver does.
func newEnv(t *testing.T, opts func(*Options)) *env {
	t.Helper()
	hooks := &StaticHooks{}
	o := Options{
		TenantID: tenantID, ClientID: clientID, ClientSecret: secret,
		Subscriptions: []string{subID},
		Locations:     []string{location, "northeurope"},
		VMSizes:       []string{size, "Standard_D2s_v5"},
		Hooks:         hooks,
	}
	if opts != nil {
		opts(&o)
	}
	s, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	cred, err := credential(s, tenantID, clientID, secret)
	if err != nil {
		t.Fatal(err)
	}
	co := &arm.ClientOptions{ClientOptions: policy.ClientOptions{Cloud: s.Cloud(), Transport: s.Transport()}}
	e := &env{s: s, hooks: hooks, cred: cred, key: sshKey(t)}
	if e.rf, err = armresources.NewClientFactory(subID, cred, co); err != nil {
		t.Fatal(err)
	}
	if e.nf, err = armnetwork.NewClientFactory(subID, cred, co); err != nil {
		t.Fatal(err)
	}
	if e.cf, err = armcompute.NewClientFactory(subID, cred, co); err != nil {
		t.Fatal(err)
	}
	return e
}

// credential is the driver's sign-in: a client secret credential on the
// stand-in's cloud, without instance discovery.
func credential(s *Server, tenant, client, sec string) (*azidentity.ClientSecretCredential, error) {
	return azidentity.NewClientSecretCredential(tenant, client, sec, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: s.Cloud(), Transport: s.Transport()},
		DisableInstanceDiscovery: true,
	})
}

// sshKey is a fresh ed25519 public key in authorized_keys form.
func sshKey(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

// ctx is a test context with a deadline well inside go test's.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// code is the ARM error code and HTTP status of err, or "" and 0.
func code(err error) (string, int) {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode, re.StatusCode
	}
	return "", 0
}

// wantCode fails t unless err is an azcore.ResponseError with code and
// status.
func wantCode(t *testing.T, err error, wantCode string, wantStatus int) {
	t.Helper()
	if c, st := code(err); c != wantCode || st != wantStatus {
		t.Fatalf("error = %v\nwant ResponseError %s (%d), got code %q status %d", err, wantCode, wantStatus, c, st)
	}
}

// idOf builds a resource ID in the test subscription.
func idOf(group, typ, name string) string {
	return "/subscriptions/" + subID + "/resourceGroups/" + group + "/providers/" + typ + "/" + name
}

// network creates group with a virtual network "vnet" (10.0.0.0/16) and subnet
// "default" (10.0.0.0/24), created with the SDK.
func (e *env) network(t *testing.T, group string) {
	t.Helper()
	c := ctx(t)
	if _, err := e.rf.NewResourceGroupsClient().CreateOrUpdate(c, group, armresources.ResourceGroup{Location: ptr(location)}, nil); err != nil {
		t.Fatal(err)
	}
	p, err := e.nf.NewVirtualNetworksClient().BeginCreateOrUpdate(c, group, "vnet", armnetwork.VirtualNetwork{
		Location: ptr(location),
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{
			AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{ptr("10.0.0.0/16")}},
			Subnets:      []*armnetwork.Subnet{{Name: ptr("default"), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: ptr("10.0.0.0/24")}}},
		},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PollUntilDone(c, nil); err != nil {
		t.Fatal(err)
	}
}

// nic creates NIC name in subnet "default", with public IP pip if not "".
func (e *env) nic(t *testing.T, group, name, pip string) armnetwork.Interface {
	t.Helper()
	c := ctx(t)
	props := &armnetwork.InterfaceIPConfigurationPropertiesFormat{
		Subnet: &armnetwork.Subnet{ID: ptr(idOf(group, "Microsoft.Network/virtualNetworks", "vnet") + "/subnets/default")},
	}
	if pip != "" {
		props.PublicIPAddress = &armnetwork.PublicIPAddress{ID: ptr(idOf(group, "Microsoft.Network/publicIPAddresses", pip))}
	}
	p, err := e.nf.NewInterfacesClient().BeginCreateOrUpdate(c, group, name, armnetwork.Interface{
		Location: ptr(location),
		Properties: &armnetwork.InterfacePropertiesFormat{
			IPConfigurations: []*armnetwork.InterfaceIPConfiguration{{Name: ptr("ipconfig1"), Properties: props}},
		},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.PollUntilDone(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res.Interface
}

// publicIP creates a Basic public IP with allocation alloc and DNS label.
func (e *env) publicIP(t *testing.T, group, name string, alloc armnetwork.IPAllocationMethod, label string) {
	t.Helper()
	c := ctx(t)
	props := &armnetwork.PublicIPAddressPropertiesFormat{PublicIPAllocationMethod: &alloc}
	if label != "" {
		props.DNSSettings = &armnetwork.PublicIPAddressDNSSettings{DomainNameLabel: ptr(label)}
	}
	p, err := e.nf.NewPublicIPAddressesClient().BeginCreateOrUpdate(c, group, name, armnetwork.PublicIPAddress{
		Location: ptr(location), SKU: &armnetwork.PublicIPAddressSKU{Name: ptr(armnetwork.PublicIPAddressSKUNameBasic)},
		Properties: props,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PollUntilDone(c, nil); err != nil {
		t.Fatal(err)
	}
}

// vmParams is a Linux VM on NIC nic, as the driver asks for one.
func (e *env) vmParams(group, nic, vmSize string) armcompute.VirtualMachine {
	return armcompute.VirtualMachine{
		Location: ptr(location),
		Tags:     map[string]*string{"docker-machine": ptr("yes")},
		Properties: &armcompute.VirtualMachineProperties{
			HardwareProfile: &armcompute.HardwareProfile{VMSize: ptr(armcompute.VirtualMachineSizeTypes(vmSize))},
			StorageProfile: &armcompute.StorageProfile{
				ImageReference: &armcompute.ImageReference{
					Publisher: ptr("Canonical"), Offer: ptr("ubuntu-24_04-lts"), SKU: ptr("server"), Version: ptr("latest"),
				},
				OSDisk: &armcompute.OSDisk{
					CreateOption: ptr(armcompute.DiskCreateOptionTypesFromImage),
					ManagedDisk:  &armcompute.ManagedDiskParameters{StorageAccountType: ptr(armcompute.StorageAccountTypesStandardSSDLRS)},
				},
			},
			OSProfile: &armcompute.OSProfile{
				ComputerName:  ptr("host1"),
				AdminUsername: ptr("docker-user"),
				CustomData:    ptr(base64.StdEncoding.EncodeToString([]byte("#cloud-config\n"))),
				LinuxConfiguration: &armcompute.LinuxConfiguration{
					DisablePasswordAuthentication: ptr(true),
					SSH: &armcompute.SSHConfiguration{PublicKeys: []*armcompute.SSHPublicKey{{
						Path: ptr("/home/docker-user/.ssh/authorized_keys"), KeyData: ptr(e.key),
					}}},
				},
			},
			NetworkProfile: &armcompute.NetworkProfile{NetworkInterfaces: []*armcompute.NetworkInterfaceReference{{
				ID: ptr(idOf(group, "Microsoft.Network/networkInterfaces", nic)),
			}}},
		},
	}
}

// createVM creates VM name from params and waits for it.
func (e *env) createVM(t *testing.T, group, name string, params armcompute.VirtualMachine) (armcompute.VirtualMachine, error) {
	t.Helper()
	p, err := e.cf.NewVirtualMachinesClient().BeginCreateOrUpdate(ctx(t), group, name, params, nil)
	if err != nil {
		return armcompute.VirtualMachine{}, err
	}
	res, err := p.PollUntilDone(ctx(t), nil)
	return res.VirtualMachine, err
}

// power is VM name's PowerState/... and ProvisioningState/... codes.
func (e *env) power(t *testing.T, group, name string) (power, prov string) {
	t.Helper()
	res, err := e.cf.NewVirtualMachinesClient().Get(ctx(t), group, name,
		&armcompute.VirtualMachinesClientGetOptions{Expand: ptr(armcompute.InstanceViewTypesInstanceView)})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range res.Properties.InstanceView.Statuses {
		switch c := str(st.Code); {
		case strings.HasPrefix(c, "PowerState/"):
			power = c
		case strings.HasPrefix(c, "ProvisioningState/"):
			prov = c
		}
	}
	return power, prov
}

// raw is an ARM request at path with a valid token, for checks the SDK
// hides (headers, status codes).
func (e *env) raw(t *testing.T, method, path, token string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), method, e.s.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.s.Transport().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// token is a bearer token for ARM on the stand-in.
func (e *env) token(t *testing.T) string {
	t.Helper()
	tk, err := e.cred.GetToken(ctx(t), policy.TokenRequestOptions{Scopes: []string{e.s.URL() + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	return tk.Token
}

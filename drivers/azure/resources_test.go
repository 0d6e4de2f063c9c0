package azure

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
)

// azureError is the error the SDK returns for Azure's answer status, code,
// message.
func azureError(t *testing.T, status int, code, message string) error {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, "https://management.azure.com/subscriptions/x/resourceGroups/g", nil)
	if err != nil {
		t.Fatal(err)
	}
	return runtime.NewResponseError(errorResponse(req, status, code, message))
}

func TestTransient(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
		want   bool
	}{
		{409, "AnotherOperationInProgress", true},
		{429, "RetryableError", true},
		{409, "Conflict", true},
		{400, "ReferencedResourceNotProvisioned", true},
		{409, "", true},
		{409, "OperationNotAllowed", false}, // quota
		{409, "ResourceGroupBeingDeleted", false},
		{400, "InvalidParameter", false},
		{404, "ResourceNotFound", false},
	} {
		if got := transient(azureError(t, tc.status, tc.code, "m")); got != tc.want {
			t.Errorf("transient(%d %s) = %v, want %v", tc.status, tc.code, got, tc.want)
		}
	}
	if transient(errors.New("dial tcp: refused")) || transient(context.Canceled) {
		t.Error("a non-Azure error is transient")
	}
}

func TestEnsure(t *testing.T) {
	conflict := func(t *testing.T) error { return azureError(t, 409, "AnotherOperationInProgress", "busy") }
	for _, tc := range []struct {
		name     string
		missing  bool
		noGet    bool
		gets     []bool                   // answers of get, in order
		puts     []func(*testing.T) error // answers of put, in order (nil is success)
		wantMade bool
		wantErr  string
		wantPuts int
	}{
		{name: "made", missing: true, puts: []func(*testing.T) error{nil}, wantMade: true, wantPuts: 1},
		{name: "found after a conflict", missing: true, gets: []bool{true}, puts: []func(*testing.T) error{conflict}, wantPuts: 1},
		{name: "made after a conflict", missing: true, gets: []bool{false}, puts: []func(*testing.T) error{conflict, nil}, wantMade: true, wantPuts: 2},
		{name: "own resource put again", missing: true, noGet: true, puts: []func(*testing.T) error{conflict, conflict, nil}, wantMade: true, wantPuts: 3},
		{name: "not missing: looked up first", missing: false, gets: []bool{true}, wantPuts: 0},
		{name: "other errors are not retried", missing: true, puts: []func(*testing.T) error{
			func(t *testing.T) error { return azureError(t, 409, "OperationNotAllowed", "quota") },
		}, wantErr: "quota", wantPuts: 1},
		{name: "gives up", missing: true, noGet: true, puts: []func(*testing.T) error{conflict, conflict, conflict, conflict, conflict, conflict, nil},
			wantErr: "busy", wantPuts: maxAttempts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &Driver{backoff: time.Millisecond}
			var puts, gets int
			var get func(context.Context) (bool, error)
			if !tc.noGet {
				get = func(context.Context) (bool, error) {
					if gets >= len(tc.gets) {
						t.Fatalf("get #%d: not expected", gets+1)
					}
					gets++
					return tc.gets[gets-1], nil
				}
			}
			made, err := d.ensure(t.Context(), tc.missing, get, func(context.Context) error {
				puts++
				if puts > len(tc.puts) {
					t.Fatalf("put #%d: not expected", puts)
				}
				if f := tc.puts[puts-1]; f != nil {
					return f(t)
				}
				return nil
			})
			if made != tc.wantMade || puts != tc.wantPuts {
				t.Errorf("made %v after %d puts, want %v after %d", made, puts, tc.wantMade, tc.wantPuts)
			}
			if (err != nil) != (tc.wantErr != "") || err != nil && !strings.Contains(oneLine(err).Error(), tc.wantErr) {
				t.Errorf("err %v, want one saying %q", err, tc.wantErr)
			}
		})
	}
	t.Run("context ends while waiting", func(t *testing.T) {
		d := &Driver{backoff: time.Hour}
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		_, err := d.ensure(ctx, true, nil, func(context.Context) error { return conflict(t) })
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "busy") {
			t.Errorf("err %v, want the deadline and the last conflict", err)
		}
	})
}

func TestOneLine(t *testing.T) {
	err := azureError(t, 409, "OperationNotAllowed", "Operation could not be completed\nas it results in exceeding quota.")
	got := oneLine(err)
	if got.Error() != "Operation could not be completed as it results in exceeding quota. (409 OperationNotAllowed)" {
		t.Errorf("oneLine = %q", got)
	}
	var re *azcore.ResponseError
	if !errors.As(got, &re) || re.StatusCode != 409 {
		t.Error("oneLine lost the ResponseError")
	}
	if oneLine(got) != got {
		t.Error("oneLine of a cloudError changed it")
	}
	plain := errors.New("dial tcp: refused")
	if oneLine(plain) != plain {
		t.Error("oneLine changed a non-Azure error")
	}
	wrapped := fail("create public IP \"m1-ip\"", err)
	if strings.Contains(wrapped.Error(), "\n") || !strings.HasPrefix(wrapped.Error(), `azure: create public IP "m1-ip": Operation could not`) ||
		!strings.HasSuffix(wrapped.Error(), "--azure-location") || !errors.As(wrapped, &re) {
		t.Errorf("fail = %q", wrapped)
	}
}

func TestHint(t *testing.T) {
	for _, tc := range []struct {
		status        int
		code, message string
		want          string
	}{
		{409, "OperationNotAllowed", "exceeding approved Total Regional Cores quota", "more quota"},
		{403, "AuthorizationFailed", "does not have authorization", "Contributor"},
		{409, "SkuNotAvailable", "not available in location", "--azure-size"},
		{409, "ZonalAllocationFailed", "", "--azure-availability-zone"},
		{404, "PlatformImageNotFound", "", "--azure-image"},
		{400, "InvalidParameter", "The image reference is not valid", "--azure-image"},
		{404, "SubscriptionNotFound", "", "--azure-subscription-id"},
		{409, "InvalidResourceGroupLocation", "", "--azure-location"},
		{409, "ResourceGroupBeingDeleted", "", "being deleted"},
		{400, "DnsRecordInUse", "", "--azure-dns"},
		{400, "PrivateIPAddressNotInSubnet", "", "--azure-private-ip-address"},
		{500, "InternalServerError", "oops", ""},
	} {
		got := hint(oneLine(azureError(t, tc.status, tc.code, tc.message)))
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("hint(%d %s) = %q, want one saying %q", tc.status, tc.code, got, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	c := &Config{ResourceGroup: "rg", VirtualNetwork: "net", SubnetName: "sub", AvailabilitySet: "as", SubscriptionID: "s", Location: "westus"}
	c.MachineName = "m1"
	n := c.names()
	if n.vm != "m1" || n.nic != "m1-nic" || n.ip != "m1-ip" || n.nsg != "m1-firewall" || !n.ownNSG || n.disk != "m1-osdisk" ||
		n.vnetGroup != "rg" || n.vnet != "net" || n.avset != "as" {
		t.Errorf("names = %+v", n)
	}
	if got := n.subnetID(); got != "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/net/subnets/sub" {
		t.Errorf("subnetID = %s", got)
	}
	c.VirtualNetwork, c.NSG, c.AvailabilityZone = "netrg:shared", "corp", "1"
	n = c.names()
	if n.vnetGroup != "netrg" || n.vnet != "shared" || n.nsg != "corp" || n.ownNSG || n.avset != "" {
		t.Errorf("names = %+v", n)
	}
}

func TestTags(t *testing.T) {
	c := &Config{Tags: map[string]string{"team": "infra", "Docker-Machine": "spoof", tagCreated: "true"}}
	c.MachineName = "m1"
	own := c.tags(false)
	if len(own) != 2 || val(own["team"]) != "infra" || val(own[tagMachine]) != "m1" || createdByMachine(own) {
		t.Errorf("own tags %v: want team and %s=m1 only", own, tagMachine)
	}
	shared := c.tags(true)
	if val(shared[tagMachine]) != "m1" || !createdByMachine(shared) {
		t.Errorf("shared tags %v", shared)
	}
	if createdByMachine(map[string]*string{"Docker-Machine-Created": to.Ptr("True")}) != true || createdByMachine(nil) {
		t.Error("createdByMachine ignores case or accepts nothing")
	}
	if !under("/a/nics/n1/ipConfigurations/ip1", "/A/NICS/N1") || under("/a/nics/n10/ipConfigurations/ip1", "/a/nics/n1") || under("/x", "") {
		t.Error("under")
	}
}

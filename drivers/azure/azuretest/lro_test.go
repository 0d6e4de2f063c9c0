package azuretest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
)

// TestStandInLongRunningOperations follows a PUT and a DELETE by hand, as
// the SDK's pollers do: headers, status documents and result codes.
func TestStandInLongRunningOperations(t *testing.T) {
	t.Parallel()
	const retry = 400 * time.Millisecond
	e := newEnv(t, func(o *Options) { o.RetryAfter = retry })
	e.network(t, "rg")
	tok := e.token(t)
	path := idOf("rg", "Microsoft.Network/networkSecurityGroups", "nsg") + "?api-version=2025-05-01"

	send := func(method, url string, body any) *http.Response {
		t.Helper()
		var b []byte
		if body != nil {
			b, _ = json.Marshal(body)
		}
		req, err := http.NewRequestWithContext(ctx(t), method, url, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := e.s.Transport().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = resp.Body.Close() })
		return resp
	}
	decode := func(resp *http.Response) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	state := func(m map[string]any) any { return m["properties"].(map[string]any)["provisioningState"] }
	checkRetry := func(what string, h http.Header) {
		t.Helper()
		if h.Get("retry-after-ms") != "400" || h.Get("Retry-After") != "1" {
			t.Errorf("%s: retry-after-ms %q, Retry-After %q; want 400 and 1", what, h.Get("retry-after-ms"), h.Get("Retry-After"))
		}
	}

	// PUT: 201, Azure-AsyncOperation, the resource already there, Updating.
	put := send(http.MethodPut, e.s.URL()+path, map[string]any{"location": location})
	async := put.Header.Get("Azure-AsyncOperation")
	if put.StatusCode != http.StatusCreated || !strings.HasPrefix(async, e.s.URL()+"/subscriptions/"+subID+"/providers/Microsoft.Network/locations/"+location+"/operations/") {
		t.Fatalf("PUT: %d, Azure-AsyncOperation %q", put.StatusCode, async)
	}
	checkRetry("PUT", put.Header)
	if got := state(decode(put)); got != "Updating" {
		t.Errorf("PUT answers provisioningState %v, want Updating", got)
	}
	if got := state(decode(send(http.MethodGet, e.s.URL()+path, nil))); got != "Updating" {
		t.Errorf("GET during the operation: provisioningState %v, want Updating", got)
	}
	st := send(http.MethodGet, async, nil)
	checkRetry("status InProgress", st.Header)
	if doc := decode(st); st.StatusCode != 200 || doc["status"] != "InProgress" {
		t.Errorf("status: %d %v, want 200 InProgress", st.StatusCode, doc)
	}
	time.Sleep(retry + 100*time.Millisecond)
	if doc := decode(send(http.MethodGet, async, nil)); doc["status"] != "Succeeded" || doc["endTime"] == nil {
		t.Errorf("status after the delay: %v, want Succeeded with an endTime", doc)
	}
	if got := state(decode(send(http.MethodGet, e.s.URL()+path, nil))); got != "Succeeded" {
		t.Errorf("GET after the operation: provisioningState %v, want Succeeded", got)
	}

	// DELETE: 202 with Location and Azure-AsyncOperation, no body.
	del := send(http.MethodDelete, e.s.URL()+path, nil)
	loc := del.Header.Get("Location")
	if del.StatusCode != http.StatusAccepted || !strings.Contains(loc, "/operationResults/") || del.Header.Get("Azure-AsyncOperation") == "" {
		t.Fatalf("DELETE: %d, Location %q, Azure-AsyncOperation %q", del.StatusCode, loc, del.Header.Get("Azure-AsyncOperation"))
	}
	if r := send(http.MethodGet, loc, nil); r.StatusCode != http.StatusAccepted || r.Header.Get("Location") != loc {
		t.Errorf("result during the operation: %d, Location %q; want 202 and itself", r.StatusCode, r.Header.Get("Location"))
	}
	time.Sleep(retry + 100*time.Millisecond)
	if r := send(http.MethodGet, loc, nil); r.StatusCode != http.StatusNoContent {
		t.Errorf("result after the operation: %d, want 204", r.StatusCode)
	}
	if r := send(http.MethodGet, e.s.URL()+path, nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("GET after the deletion: %d, want 404", r.StatusCode)
	}
}

// TestStandInConflict writes to a network while an earlier write of it,
// or of its subnet, is still running: 409 AnotherOperationInProgress, as
// the network resource provider answers; the first write still finishes.
func TestStandInConflict(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.RetryAfter = time.Second })
	e.network(t, "rg")
	c := ctx(t)
	vnets, subnets := e.nf.NewVirtualNetworksClient(), e.nf.NewSubnetsClient()
	v := armnetwork.VirtualNetwork{Location: ptr(location), Properties: &armnetwork.VirtualNetworkPropertiesFormat{
		AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{ptr("10.0.0.0/16")}},
		Subnets: []*armnetwork.Subnet{{Name: ptr("default"),
			Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: ptr("10.0.0.0/24")}}},
	}}
	first, err := vnets.BeginCreateOrUpdate(c, "rg", "vnet", v, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		do   func() error
	}{
		{"second PUT", func() error { _, err := vnets.BeginCreateOrUpdate(c, "rg", "vnet", v, nil); return err }},
		{"DELETE", func() error { _, err := vnets.BeginDelete(c, "rg", "vnet", nil); return err }},
		{"PUT of its subnet", func() error {
			_, err := subnets.BeginCreateOrUpdate(c, "rg", "vnet", "second", armnetwork.Subnet{
				Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: ptr("10.0.1.0/24")}}, nil)
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.do(), "AnotherOperationInProgress", http.StatusConflict) })
	}
	if _, err := first.PollUntilDone(c, nil); err != nil {
		t.Fatalf("the first write: %v", err)
	}
	if err := wait(vnets.BeginCreateOrUpdate(c, "rg", "vnet", v, nil)); err != nil {
		t.Errorf("a write after the first finished: %v", err)
	}

	// Concurrent PUTs of one new network: one wins, the others see 409.
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = vnets.BeginCreateOrUpdate(c, "rg", "race", v, nil)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch code, _ := code(err); {
		case err == nil:
			won++
		case code != "AnotherOperationInProgress":
			t.Errorf("concurrent PUT: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d concurrent PUTs were accepted, want 1: %v", won, errs)
	}
}

// TestStandInLatency checks Options.Latency and the request count.
func TestStandInLatency(t *testing.T) {
	t.Parallel()
	const latency = 80 * time.Millisecond
	e := newEnv(t, func(o *Options) { o.Latency = latency })
	c := ctx(t)
	groups := e.rf.NewResourceGroupsClient()
	e.token(t) // sign in first: sign-in has no latency and is not counted
	start := time.Now()
	if _, err := groups.Get(c, "missing", nil); err == nil {
		t.Fatal("GET of a missing group succeeded")
	}
	if took := time.Since(start); took < latency {
		t.Errorf("an ARM request took %v, want at least %v", took, latency)
	}
	if got := e.s.Requests(); got != 1 {
		t.Errorf("Requests() = %d, want 1", got)
	}
}

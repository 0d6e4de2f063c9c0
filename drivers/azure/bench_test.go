package azure

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/drivers/azure/azuretest"
)

// armLatency is what the stand-in adds to every ARM request in the
// benchmark, as a round trip to a distant region would.
const armLatency = 200 * time.Millisecond

// BenchmarkCreateStandIn times Create into a new resource group against the
// local ARM stand-in with armLatency added to every ARM call, through the
// real sign-in, clients and long-running operations. It reports the ARM
// requests made and the sequential round trips on the critical path
// (wall time over the latency): creating one resource after another would
// take about 8.
func BenchmarkCreateStandIn(b *testing.B) {
	for k, v := range offlineEnv {
		b.Setenv(k, v)
	}
	const tenant, client, secret = "11111111-2222-3333-4444-555555555555", "app", "s3cret"
	srv, err := azuretest.Start(azuretest.Options{
		TenantID: tenant, ClientID: client, ClientSecret: secret, Latency: armLatency, RetryAfter: 10 * time.Millisecond,
		Subscriptions: []string{testSub}, Locations: []string{"westus"}, VMSizes: []string{defaultSize}, Hooks: &azuretest.StaticHooks{},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	env := filepath.Join(b.TempDir(), "standin.json")
	raw, _ := json.Marshal(map[string]string{"resourceManagerEndpoint": srv.URL(), "activeDirectoryEndpoint": srv.URL() + "/"})
	if err := os.WriteFile(env, raw, 0o600); err != nil {
		b.Fatal(err)
	}
	var elapsed time.Duration
	var requests int
	for i := 0; b.Loop(); i++ {
		d := standInDriver(b, srv, fmt.Sprintf("bench%d", i), drivers.Options{flSubscriptionID: testSub, flTenantID: tenant,
			flClientID: client, flClientSecret: secret, flEnvironment: env, flResourceGroup: fmt.Sprintf("bench%d", i)})
		before := srv.Requests()
		start := time.Now()
		if err := d.Create(context.Background()); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		requests += srv.Requests() - before
	}
	n := float64(b.N)
	b.ReportMetric(float64(requests)/n, "arm-requests/op")
	b.ReportMetric(elapsed.Seconds()/n/armLatency.Seconds(), "critical-path-trips/op")
}

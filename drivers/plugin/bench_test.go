//go:build unix

package plugin

import (
	"context"
	"os/exec"
	"testing"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/drivers/drivertest"
)

// BenchmarkGetEndpoint: one typical call (the endpoint every env, ip, url
// and ssh asks for) over an in-process gRPC connection: the cost of the
// wire format and the config round trip, without a process.
func BenchmarkGetEndpoint(b *testing.B) {
	c := inProcess(b, drivertest.NewFake)
	cfg := fakeConfig(b, drivertest.Fake{BaseDriver: drivers.BaseDriver{MachineName: "bench", IPAddress: drivertest.FakeIP, SSHKeyPath: "/store/id"}, Created: true, Status: drivers.Running})
	ctx := context.Background()
	for b.Loop() {
		// A fresh config each time: the fake records its calls in it.
		if _, err := c.Driver(cfg).GetEndpoint(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExternalGetEndpoint: the same call to a driver process.
func BenchmarkExternalGetEndpoint(b *testing.B) {
	c, err := Launch(context.Background(), exec.Command(buildFake(b)), LaunchOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	cfg := fakeConfig(b, drivertest.Fake{BaseDriver: drivers.BaseDriver{IPAddress: drivertest.FakeIP}, Created: true, Status: drivers.Running})
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.Driver(cfg).GetEndpoint(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLaunch: starting a driver process, the handshake, one call
// (DriverName, as every command's first) and ending it: what each command
// pays for a plugin.
func BenchmarkLaunch(b *testing.B) {
	bin := buildFake(b)
	ctx := context.Background()
	for b.Loop() {
		c, err := Launch(ctx, exec.Command(bin), LaunchOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Driver(nil).DriverName(ctx); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

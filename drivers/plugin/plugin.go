// Package plugin runs machine drivers out of process with hashicorp/go-plugin
// over gRPC. Driver binaries call Serve; the host calls Launch and gets a
// drivers.Driver per machine from Client.Driver.
//
// The wire is the Driver service of proto/driver.proto (machine.driver.v1),
// plugin protocol 1 of go-plugin's versioned handshake. The server is
// stateless: every call carries the machine's driver config (the driver
// value's JSON), the server unmarshals it into a fresh driver, calls the
// method and sends the config back. One plugin process therefore serves every
// machine of a command. Driver authors see none of this: they implement
// drivers.Driver and call Serve (see drivers/README.md).
package plugin

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/machine-cli/machine/drivers"
	driverpb "github.com/machine-cli/machine/drivers/plugin/proto"
)

// ProtocolVersion is the plugin protocol this package speaks, as host and as
// driver: go-plugin's application protocol version, the second field of a
// plugin's handshake line. It names the service of proto/driver.proto.
const ProtocolVersion = 1

// Handshake is the go-plugin handshake shared by the host and driver
// binaries. It guards against running a plugin by hand; it is not security.
// The protocol version is not in it but in the plugin sets of both sides
// (see versionedPlugins), so that a driver of another protocol is told
// apart.
var Handshake = plugin.HandshakeConfig{
	MagicCookieKey:   "MACHINE_DRIVER_PLUGIN",
	MagicCookieValue: "6b1f0c3e9a4d27f58e0b3c1d9f7a2e64",
}

// ExternalPrefix starts the executable name of an external driver:
// machine-driver-NAME, found on PATH.
const ExternalPrefix = "machine-driver-"

// PluginName is the key of the driver plugin in the go-plugin plugin set.
const PluginName = "driver"

// DriverPlugin is the go-plugin plugin for a driver. Factory is needed on the
// server side only.
type DriverPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Factory makes a fresh driver value for each call.
	Factory func() drivers.Driver
}

var _ plugin.GRPCPlugin = (*DriverPlugin)(nil)

// GRPCServer registers the driver service on s.
func (p *DriverPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	driverpb.RegisterDriverServer(s, &server{factory: p.Factory})
	return nil
}

// GRPCClient returns a *Client using cc. Closing that Client does nothing:
// cc belongs to go-plugin.
func (p *DriverPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return &Client{cc: cc}, nil
}

// versionedPlugins is the plugin map of host and driver binaries, by the
// protocol versions they speak.
func versionedPlugins(factory func() drivers.Driver) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {PluginName: &DriverPlugin{Factory: factory}},
	}
}

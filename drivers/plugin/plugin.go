// Package plugin runs machine drivers out of process with hashicorp/go-plugin
// over gRPC. Driver binaries call Serve; the host calls Launch and gets a
// drivers.Driver per machine from Client.Driver.
//
// The server is stateless: every call carries the machine's driver config
// (the driver value's JSON), the server unmarshals it into a fresh driver,
// calls the method and sends the config back. One plugin process therefore
// serves every machine of a command.
package plugin

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/machine-cli/machine/drivers"
)

// Handshake is the go-plugin handshake shared by the host and driver
// binaries. It guards against running a plugin by hand; it is not security.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
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
	s.RegisterService(&serviceDesc, &server{factory: p.Factory})
	return nil
}

// GRPCClient returns a *Client using cc. Closing that Client does nothing:
// cc belongs to go-plugin.
func (p *DriverPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return &Client{cc: cc}, nil
}

// pluginSet is the plugin map of host and driver binaries.
func pluginSet(factory func() drivers.Driver) plugin.PluginSet {
	return plugin.PluginSet{PluginName: &DriverPlugin{Factory: factory}}
}

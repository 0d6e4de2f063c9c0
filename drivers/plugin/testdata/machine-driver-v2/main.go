// Command machine-driver-v2 is a driver built for a later plugin protocol,
// 2, that this machine does not speak: the plugin package's tests check that
// the host refuses it in one line naming both sides' versions. It serves
// drivertest.Fake under version 2 of the versioned handshake, as a driver
// made with a future release would.
package main

import (
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/machine-cli/machine/drivers/drivertest"
	"github.com/machine-cli/machine/drivers/plugin"
)

func main() {
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: plugin.Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{
			2: {plugin.PluginName: &plugin.DriverPlugin{Factory: drivertest.NewFake}},
		},
		GRPCServer: goplugin.DefaultGRPCServer,
	})
}

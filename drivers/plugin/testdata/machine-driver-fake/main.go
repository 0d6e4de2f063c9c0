// Command machine-driver-fake serves drivertest.Fake as an external driver
// plugin, for the plugin package's tests. It prints to stdout on every call
// to check that a plugin's stdout never reaches the host's.
package main

import (
	"fmt"
	"os"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/drivers/drivertest"
	"github.com/machine-cli/machine/drivers/plugin"
)

// Chatter is what the driver prints to stdout on each call.
const Chatter = "machine-driver-fake: chatter on stdout"

// Notice is what the driver shows the user on each call (plugin.Notify).
const Notice = "machine-driver-fake: a notice for the user"

func main() {
	fmt.Fprintln(os.Stderr, "machine-driver-fake: starting")
	plugin.Serve(func() drivers.Driver {
		fmt.Println(Chatter)
		plugin.Notify(Notice)
		return drivertest.NewFake()
	})
}

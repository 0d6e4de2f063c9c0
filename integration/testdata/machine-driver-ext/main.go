// Command machine-driver-ext is a third-party driver for the integration
// tests: an executable of its own, found on PATH, that reaches real test
// hosts over SSH as the generic driver does.
package main

import (
	"github.com/machine-cli/machine/drivers/generic"
	"github.com/machine-cli/machine/drivers/plugin"
)

func main() { plugin.Serve(generic.New) }

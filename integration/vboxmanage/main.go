// Command vboxmanage is the VBoxManage stand-in that the virtualbox
// driver's end-to-end test puts first on PATH as "VBoxManage" on machines
// without VirtualBox (internal/vboxstandin). Its state lives in
// $VBOX_STANDIN_HOME.
package main

import (
	"context"
	"os"

	"github.com/machine-cli/machine/internal/vboxstandin"
)

func main() {
	os.Exit(vboxstandin.Run(context.Background(), vboxstandin.Env{
		Home:   os.Getenv(vboxstandin.HomeEnv),
		Stdout: os.Stdout,
		Stderr: os.Stderr,
	}, os.Args[1:]))
}

package vmimage_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/machine-cli/machine/libmachine/cloudinit"
	"github.com/machine-cli/machine/libmachine/qemuimg"
	"github.com/machine-cli/machine/libmachine/vmimage"
)

// A local driver's create: the image fetched once into the store's cache,
// the machine's copy-on-write disk over it, and the seed of its first boot.
// (Compiled, not run: it would download Debian's image.)
func Example() {
	ctx := context.Background()
	storeRoot, machineDir := "/home/me/.docker/machine", "/home/me/.docker/machine/machines/dev"
	pubKey, _ := os.ReadFile(filepath.Join(machineDir, "id_rsa.pub"))

	url, err := vmimage.DefaultImageURL() // or --qemu-image-url
	if err != nil {
		panic(err)
	}
	var sum vmimage.Checksum // or vmimage.ParseChecksum(--qemu-image-checksum)
	fetcher := vmimage.NewFetcher(vmimage.CachePath(storeRoot), vmimage.Options{
		Progress:     os.Stderr, // in a driver plugin: vmimage.LineWriter(func(l string) { plugin.Notify(l) })
		ChecksumFlag: "--qemu-image-checksum",
	})
	img, err := fetcher.Fetch(ctx, vmimage.Source{URL: url, Checksum: sum})
	if err != nil {
		panic(err) // one line: not found, checksum mismatch, no checksum, no space, unreachable
	}

	qemuImg, err := qemuimg.Find() // names the package to install when missing
	if err != nil {
		panic(err)
	}
	if err := qemuImg.CreateOverlay(ctx, img.Path, filepath.Join(machineDir, "disk.qcow2"), 20000); err != nil {
		panic(err)
	}

	err = cloudinit.WriteSeed(filepath.Join(machineDir, "seed.iso"), cloudinit.Config{
		Hostname:          "dev",
		User:              "docker",
		SSHAuthorizedKeys: []string{string(pubKey)},
		NICs: []cloudinit.NIC{ // only for the swarm network; nil keeps DHCP on the first NIC
			{MAC: "52:54:00:12:34:56", DHCP: true},
			{Name: "swarm0", MAC: "52:54:00:ab:cd:ef", Addresses: []netip.Prefix{netip.MustParsePrefix("192.168.76.2/24")}},
		},
	})
	if err != nil {
		panic(err)
	}
}

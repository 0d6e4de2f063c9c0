package virtualbox

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/internal/retry"
	"github.com/machine-cli/machine/libmachine/vmimage"
	"github.com/machine-cli/machine/sshclient"
)

// A boot2docker machine (--virtualbox-boot2docker-url) boots the ISO from
// its DVD drive with BIOS firmware; its disk starts blank but for
// FormatMeMagic and a tar archive with the machine's SSH key, which
// boot2docker's automount script finds at boot: it formats the disk and
// unpacks the archive into /home/docker. Its host-only address comes from
// VirtualBox's DHCP server, so the driver reads it from the guest.
const (
	// ISOFile is the machine's copy of the boot2docker ISO.
	ISOFile = "boot2docker.iso"
	// formatMeFile is the raw image the disk is converted from; it is
	// removed once the disk is made.
	formatMeFile = "format-me.raw"
	// FormatMeMagic starts a disk that boot2docker formats at boot.
	FormatMeMagic = "boot2docker, please format-me"
	// formatMeRead is how much of the disk boot2docker's automount copies
	// out as the archive to unpack: the archive must fit in it.
	formatMeRead = 4096
	// boot2dockerOSType is VirtualBox's OS type for boot2docker, as
	// docker-machine set it.
	boot2dockerOSType = "Linux26_64"
	// guestIPBound bounds the wait for the guest's DHCP address.
	guestIPBound = time.Minute
	// hostOnlyGuestNIC is the guest's host-only interface on boot2docker.
	hostOnlyGuestNIC = "eth1"
)

// boot2docker reports whether the machine boots a boot2docker ISO.
func (d *Driver) boot2docker() bool { return d.Settings.Boot2DockerURL != "" }

// FormatMeDisk returns the raw disk image of a new boot2docker machine:
// a tar archive whose first entry is named FormatMeMagic (so the disk
// starts with it), then .ssh (0700) with authorized_keys and
// authorized_keys2 (0600) holding pubKey, padded with zeros to one MiB.
// The archive's entries fit in the first formatMeRead bytes.
func FormatMeDisk(pubKey string) ([]byte, error) {
	if !strings.HasSuffix(pubKey, "\n") {
		pubKey += "\n"
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mod := time.Unix(0, 0)
	entries := []struct {
		hdr  tar.Header
		data string
	}{
		{tar.Header{Name: FormatMeMagic, Mode: 0o644, Size: int64(len(FormatMeMagic)), ModTime: mod}, FormatMeMagic},
		{tar.Header{Name: ".ssh/", Typeflag: tar.TypeDir, Mode: 0o700, ModTime: mod}, ""},
		{tar.Header{Name: ".ssh/authorized_keys", Mode: 0o600, Size: int64(len(pubKey)), ModTime: mod}, pubKey},
		{tar.Header{Name: ".ssh/authorized_keys2", Mode: 0o600, Size: int64(len(pubKey)), ModTime: mod}, pubKey},
	}
	for _, e := range entries {
		hdr := e.hdr
		hdr.Format = tar.FormatUSTAR
		if err := tw.WriteHeader(&hdr); err != nil {
			return nil, fmt.Errorf("format-me disk: %w", err)
		}
		if _, err := tw.Write([]byte(e.data)); err != nil {
			return nil, fmt.Errorf("format-me disk: %w", err)
		}
	}
	if err := tw.Flush(); err != nil {
		return nil, fmt.Errorf("format-me disk: %w", err)
	}
	if buf.Len() > formatMeRead {
		return nil, fmt.Errorf("format-me disk: the SSH key makes the archive %d bytes, more than the %d boot2docker reads", buf.Len(), formatMeRead)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("format-me disk: %w", err)
	}
	disk := make([]byte, mib)
	copy(disk, buf.Bytes())
	return disk, nil
}

// makeFormatMeDisk writes the VDI disk at dst of a boot2docker machine
// with pubKey (FormatMeDisk, converted with `VBoxManage convertfromraw`
// from a file in the machine's directory) and grows it to sizeMB.
func (d *Driver) makeFormatMeDisk(ctx context.Context, vbm Runner, pubKey, dst string, sizeMB int) error {
	raw, err := FormatMeDisk(pubKey)
	if err != nil {
		return err
	}
	src := d.path(formatMeFile)
	if err := os.WriteFile(src, raw, 0o600); err != nil {
		return fmt.Errorf("disk: %w", err)
	}
	defer os.Remove(src)
	if _, err := vbm.Run(ctx, "convertfromraw", src, dst, "--format", FormatVDI); err != nil {
		return fmt.Errorf("disk: %w", err)
	}
	if _, err := vbm.Run(ctx, "modifymedium", "disk", dst, "--resize", strconv.Itoa(sizeMB)); err != nil {
		return fmt.Errorf("disk: %w", err)
	}
	return nil
}

// fetchISO gets the boot2docker ISO into the store's cache and copies it
// into the machine's directory (the cache may be cleaned; the VM must
// keep its DVD). boot2docker published no checksums, so an ISO without
// one is used unverified, which the fetch says.
func (d *Driver) fetchISO(ctx context.Context) (string, error) {
	img, err := vmimage.FetchRequest(ctx, d.StorePath, vmimage.Request{
		URL: d.Settings.Boot2DockerURL, Checksum: d.Settings.ImageChecksum,
		Default: func() (string, error) { return "", errors.New("no boot2docker ISO given") },
		URLFlag: FlagBoot2DockerURL, ChecksumFlag: FlagImageChecksum,
		ChecksumOptional: true,
	}, d.say)
	if err != nil {
		return "", err
	}
	if err := copyFile(img.Path, d.path(ISOFile)); err != nil {
		return "", fmt.Errorf("virtualbox: copy the ISO: %w", err)
	}
	return img.Path, nil
}

// copyFile copies src to dst (0600), streaming.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// ParseGuestIP reads the first IPv4 address of `ip addr show dev IF`.
func ParseGuestIP(out string) (string, bool) {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "inet" {
			if p, err := netip.ParsePrefix(f[1]); err == nil && p.Addr().Is4() {
				return p.Addr().String(), true
			}
		}
	}
	return "", false
}

// guestIP reads the guest's host-only address over SSH, as docker-machine
// did for boot2docker: `ip addr show dev eth1`.
func (d *Driver) guestIP(ctx context.Context) (string, error) {
	if d.readGuestIP != nil {
		return d.readGuestIP(ctx)
	}
	c, err := sshclient.Dial(ctx, sshclient.Config{
		Host: loopback, Port: d.SSHPort, User: SSHUser, KeyPath: d.SSHKeyPath,
		KnownHostsPath: d.path(knownHostsFile), DialTimeout: 10 * time.Second,
	})
	if err != nil {
		return "", fmt.Errorf("virtualbox: read %s's address: %w", d.MachineName, err)
	}
	defer c.Close()
	out, err := c.Output(ctx, "ip addr show dev "+hostOnlyGuestNIC)
	if err != nil {
		return "", fmt.Errorf("virtualbox: read %s's address (ip addr show dev %s): %w", d.MachineName, hostOnlyGuestNIC, err)
	}
	ip, ok := ParseGuestIP(string(out))
	if !ok {
		return "", fmt.Errorf("virtualbox: %s has no IPv4 address on %s (VirtualBox's DHCP server on the host-only network %s gives it one): %w",
			d.MachineName, hostOnlyGuestNIC, d.HostOnly.Name, errNoGuestIP)
	}
	return ip, nil
}

// errNoGuestIP: the guest's host-only interface has no address yet.
var errNoGuestIP = errors.New("no address yet")

// waitGuestIP waits for the guest's DHCP address on the host-only
// network and records it.
func (d *Driver) waitGuestIP(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(ctx, guestIPBound)
	defer cancel()
	var ip string
	err := retry.Poll(wctx, time.Second, 2*time.Second, func(ctx context.Context) error {
		var err error
		ip, err = d.guestIP(ctx)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	d.IPAddress = ip
	d.say(fmt.Sprintf("virtualbox: %s got %s from the host-only %s %s", d.MachineName, ip, d.HostOnly.Kind, d.HostOnly.Name))
	return nil
}

// GetIP is the machine's host-only address: the static one of a cloud
// image; a boot2docker machine's, read from the guest (DHCP may give it
// another after a restart).
func (d *Driver) GetIP(ctx context.Context) (string, error) {
	if !d.boot2docker() {
		return d.BaseDriver.GetIP(ctx)
	}
	st, err := d.GetState(ctx)
	if err != nil {
		return "", err
	}
	if st != drivers.Running {
		return "", fmt.Errorf("virtualbox: %s is %s; its address comes from DHCP once it runs (machine start %s)", d.MachineName, st, d.MachineName)
	}
	ip, err := d.guestIP(ctx)
	if err != nil {
		return "", err
	}
	d.IPAddress = ip
	return ip, nil
}

package qemu

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/drivers/plugin"
	"github.com/machine-cli/machine/internal/addrpool"
	"github.com/machine-cli/machine/internal/sshkey"
	"github.com/machine-cli/machine/internal/vmready"
	"github.com/machine-cli/machine/libmachine/cloudinit"
	"github.com/machine-cli/machine/libmachine/qemuimg"
	"github.com/machine-cli/machine/libmachine/vmimage"
)

// DriverName is the name users pass to `create -d`.
const DriverName = "qemu"

// The files the driver makes in the machine's directory, besides QEMU's
// own (PIDFile, QMPSocket, SerialLog, QEMULog, VarsFile).
const (
	// DiskFile is the machine's copy-on-write disk over the cached image.
	DiskFile = "disk.qcow2"
	// SeedFile is the cloud-init NoCloud seed ISO.
	SeedFile = "seed.iso"
	// MeshAddressFile records the machine's address on the store's mesh;
	// the allocation of a new machine's address reads every machine's.
	MeshAddressFile = "mesh-address"
	// KeyFile is the machine's SSH private key (KeyFile+".pub" beside it).
	KeyFile = "id_ed25519"
	// knownHostsFile is the store's known_hosts file of the machine
	// (libmachine/store.KnownHostsFile): the host key the driver sees
	// first is the one libmachine then requires.
	knownHostsFile = "known_hosts"
)

// The VM's user and networks.
const (
	// SSHUser is the user the seed makes, as docker-machine's boot2docker
	// user: it joins the image's "docker" group when Docker is installed
	// (cloudinit makes its own group its primary group).
	SSHUser = "docker"
	// loopback is where QEMU forwards the SSH and engine ports.
	loopback = "127.0.0.1"
	// meshPrefix is the mesh's subnet; machines get .2 to .254.
	meshPrefix = "192.168.76."
	meshBits   = 24
	// meshLockFile, in the store's root, serialises mesh allocations.
	meshLockFile = "qemu-mesh.lock"
)

// Bounds of the waits.
const (
	// bootBound bounds the wait for the SSH banner (a boot takes about a
	// minute under TCG, and two at once about 90 s).
	bootBound = 5 * time.Minute
	// loginBound bounds the wait for the first SSH login after the banner.
	loginBound = 2 * time.Minute
	// cloudInitBound bounds `cloud-init status --wait`.
	cloudInitBound = 5 * time.Minute
	// stopGrace is how long Stop waits for the ACPI power-down.
	stopGrace = 60 * time.Second
)

// Driver is the qemu driver: a local VM booting a cloud image under QEMU,
// configured by cloud-init, reached through loopback port forwards. Its
// exported fields are its configuration as stored in config.json.
type Driver struct {
	drivers.BaseDriver
	// Settings are the flag values.
	Settings Settings
	// EnginePort is the loopback port forwarded to the VM's dockerd.
	EnginePort int
	// Binary, Arch, Accel and Firmware are what the settings resolved to
	// (by PreCreateCheck).
	Binary   string
	Arch     string
	Accel    Accel
	Firmware Firmware
	// Image is the cached image the disk is an overlay of.
	Image string
	// MeshIP is the machine's address on the store's mesh, which other
	// machines (swarm) use.
	MeshIP string
}

var _ drivers.Driver = (*Driver)(nil)

// NewDriver returns a qemu driver for a new machine; it is a driver factory.
func NewDriver() drivers.Driver {
	return &Driver{BaseDriver: drivers.BaseDriver{SSHUser: SSHUser}}
}

// DriverName returns "qemu".
func (d *Driver) DriverName(context.Context) (string, error) { return DriverName, nil }

// GetCreateFlags returns the --qemu-* flags.
func (d *Driver) GetCreateFlags(context.Context) ([]drivers.Flag, error) { return Flags(), nil }

// SetConfigFromFlags reads and checks the flag values.
func (d *Driver) SetConfigFromFlags(_ context.Context, opts drivers.Options) error {
	s, err := SettingsFromFlags(opts)
	if err != nil {
		return err
	}
	d.Settings = s
	d.SSHUser = SSHUser
	return nil
}

func (d *Driver) dir() string             { return d.ResolveStorePath("") }
func (d *Driver) path(name string) string { return d.ResolveStorePath(name) }

// PreCreateCheck finds the binary, firmware and accelerator (showing the
// line about TCG's slow boots when auto falls back to it), checks that
// given ports are free, that qemu-img is installed and that the machine's
// directory is short enough for QEMU's control socket: before anything is
// made.
func (d *Driver) PreCreateCheck(ctx context.Context) error {
	r, err := Resolve(ctx, d.Settings, runtime.GOOS, runtime.GOARCH, "/")
	if err != nil {
		return err
	}
	if _, err := qemuimg.Find(); err != nil {
		return err
	}
	if n := len(d.path(QMPSocket)); n > 100 {
		return fmt.Errorf("the machine directory %s is too long for QEMU's control socket (%d bytes, at most 100): use a shorter store path (-s or MACHINE_STORAGE_PATH)", d.dir(), n)
	}
	if r.Warning != "" {
		plugin.Notify(r.Warning)
	}
	d.Binary, d.Arch, d.Accel, d.Firmware = r.Binary, r.Arch, r.Accel, r.Firmware
	return nil
}

// Create makes the machine: its SSH key, the image in the store's cache
// (downloaded and verified once), a copy-on-write disk over it, the seed,
// a mesh address; then boots the VM and waits until SSH logs in and
// cloud-init is done, so that provisioning starts on a ready host. A VM
// that never answers fails with its serial console's tail; libmachine
// then calls Remove.
func (d *Driver) Create(ctx context.Context) error {
	if d.Binary == "" {
		if err := d.PreCreateCheck(ctx); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(d.dir(), 0o700); err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	pub, err := d.ensureKey()
	if err != nil {
		return err
	}
	img, err := d.fetchImage(ctx)
	if err != nil {
		return err
	}
	d.Image = img.Path
	if d.SSHPort, d.EnginePort, err = Ports(d.Settings.SSHPort, d.Settings.EnginePort); err != nil {
		return err
	}
	d.IPAddress = loopback
	if d.MeshIP, err = d.allocateMeshIP(); err != nil {
		return err
	}
	tool, err := qemuimg.Find()
	if err != nil {
		return err
	}
	if err := tool.CreateOverlay(ctx, d.Image, d.path(DiskFile), int64(d.Settings.DiskSizeMB)); err != nil {
		return fmt.Errorf("qemu: disk: %w", err)
	}
	if err := cloudinit.WriteSeed(d.path(SeedFile), d.seedConfig(pub)); err != nil {
		return fmt.Errorf("qemu: seed: %w", err)
	}
	plugin.Notify(fmt.Sprintf("qemu: booting %s (%s, %d CPUs, %d MB)", d.MachineName, d.Accel, d.Settings.CPUs, d.Settings.MemoryMB))
	if err := d.boot(ctx); err != nil {
		return err
	}
	return d.waitReady(ctx)
}

// ensureKey makes the machine's ed25519 key pair, unless it has one, and
// returns the public key in authorized_keys form.
func (d *Driver) ensureKey() (string, error) {
	d.SSHKeyPath = d.path(KeyFile)
	pub, err := sshkey.Ensure(d.SSHKeyPath, "machine "+d.MachineName)
	if err != nil {
		return "", fmt.Errorf("qemu: %w", err)
	}
	return pub, nil
}

// fetchImage gets the image into the store's cache, with progress lines
// shown to the user.
func (d *Driver) fetchImage(ctx context.Context) (vmimage.Image, error) {
	src := vmimage.Source{URL: d.Settings.ImageURL}
	if src.URL == "" {
		u, err := vmimage.DefaultImageURL()
		if err != nil {
			return vmimage.Image{}, fmt.Errorf("%w; give an image with --%s", err, FlagImageURL)
		}
		src.URL = u
	}
	if d.Settings.ImageChecksum != "" {
		sum, err := vmimage.ParseChecksum(d.Settings.ImageChecksum)
		if err != nil {
			return vmimage.Image{}, fmt.Errorf("--%s: %w", FlagImageChecksum, err)
		}
		src.Checksum = sum
	}
	f := vmimage.NewFetcher(vmimage.CachePath(d.StorePath), vmimage.Options{
		Progress:     vmimage.LineWriter(plugin.Notify),
		ChecksumFlag: "--" + FlagImageChecksum,
	})
	img, err := f.Fetch(ctx, src)
	if err != nil {
		return vmimage.Image{}, fmt.Errorf("image: %w", err)
	}
	return img, nil
}

// meshPool is the store's pool of mesh addresses.
func (d *Driver) meshPool() addrpool.Pool {
	return addrpool.Pool{Store: d.StorePath, LockFile: meshLockFile, File: MeshAddressFile}
}

// allocateMeshIP gives the machine the lowest mesh address no other
// machine of the store has, recording it in the machine's directory under
// a store-wide lock (or returns the one it has).
func (d *Driver) allocateMeshIP() (string, error) {
	if d.MeshIP != "" {
		return d.MeshIP, nil
	}
	cands := make([]string, 0, 253)
	for n := 2; n < 255; n++ {
		cands = append(cands, meshPrefix+strconv.Itoa(n))
	}
	ip, err := d.meshPool().Allocate(d.MachineName, cands)
	if errors.Is(err, addrpool.ErrExhausted) {
		return "", fmt.Errorf("qemu: all %s0/%d mesh addresses are taken by the store's machines: remove one", meshPrefix, meshBits)
	}
	if err != nil {
		return "", fmt.Errorf("qemu: mesh %w", err)
	}
	return ip, nil
}

// macKey is the key of the machine's NIC MACs: stable for the machine,
// different across stores.
func (d *Driver) mac(nic string) string {
	return MAC(d.StorePath + "\x00" + d.MachineName + "\x00" + nic)
}

// seedConfig is the machine's first boot: its user and key, host name,
// DHCP on the user-mode NIC and its static address on the mesh.
func (d *Driver) seedConfig(pub string) cloudinit.Config {
	return cloudinit.Config{
		Hostname:          d.MachineName,
		User:              SSHUser,
		SSHAuthorizedKeys: []string{pub},
		NICs: []cloudinit.NIC{
			{Name: "lan0", MAC: d.mac("lan"), DHCP: true},
			{Name: "mesh0", MAC: d.mac("mesh"), Addresses: []netip.Prefix{netip.MustParsePrefix(d.MeshIP + "/" + strconv.Itoa(meshBits))}},
		},
	}
}

// config is the VM's QEMU configuration.
func (d *Driver) config() Config {
	return Config{
		Name: d.MachineName, Binary: d.Binary, Arch: d.Arch, Accel: d.Accel, Firmware: d.Firmware,
		CPUs: d.Settings.CPUs, MemoryMB: d.Settings.MemoryMB,
		Disk: d.path(DiskFile), Seed: d.path(SeedFile),
		SSHPort: d.SSHPort, EnginePort: d.EnginePort, Dir: d.dir(),
		MAC:  d.mac("lan"),
		Mesh: &Mesh{Group: MeshGroup(d.StorePath), MAC: d.mac("mesh")},
	}
}

func (d *Driver) sshAddr() string { return net.JoinHostPort(loopback, strconv.Itoa(d.SSHPort)) }

// boot starts QEMU and waits for the SSH banner, with progress.
func (d *Driver) boot(ctx context.Context) error {
	v, err := Start(ctx, d.config())
	if err != nil {
		return err
	}
	return v.WaitBoot(ctx, vmimage.LineWriter(plugin.Notify), d.sshAddr(), bootBound)
}

// waitReady logs in over SSH (recording the host key in the machine's
// known_hosts) and waits for cloud-init to finish.
func (d *Driver) waitReady(ctx context.Context) error {
	err := vmready.Wait(ctx, vmready.Config{
		Host: loopback, Port: d.SSHPort, User: SSHUser, KeyPath: d.SSHKeyPath,
		KnownHostsPath: d.path(knownHostsFile), Machine: d.MachineName,
		LoginBound: loginBound, CloudInitBound: cloudInitBound,
		Notify: plugin.Notify, Prefix: "qemu: ",
	})
	var le *vmready.LoginError
	if errors.As(err, &le) {
		return Open(d.dir()).bootError(le.Error())
	}
	return err
}

// vm is the machine's QEMU process.
func (d *Driver) vm() *VM { return Open(d.dir()) }

// Start boots the stopped VM with its disk and seed on its ports, and
// waits for its SSH banner. A port another program took since fails in
// one line.
func (d *Driver) Start(ctx context.Context) error {
	if d.Binary == "" || d.SSHPort == 0 {
		return fmt.Errorf("qemu: machine %q was never created: %w", d.MachineName, drivers.ErrNotFound)
	}
	if pid, err := d.vm().PID(); err != nil {
		return err
	} else if pid != 0 {
		return nil
	}
	if _, _, err := Ports(d.SSHPort, d.EnginePort); err != nil {
		return d.portsGone(err)
	}
	if err := d.boot(ctx); err != nil {
		return d.portsGone(err)
	}
	return nil
}

// portsGone rewords a port taken since create: the machine's ports are
// fixed (its certificate and clients' settings name them).
func (d *Driver) portsGone(err error) error {
	if !errors.Is(err, ErrPortTaken) {
		return err
	}
	return fmt.Errorf("qemu: the ports of %s (SSH 127.0.0.1:%d, engine 127.0.0.1:%d) are fixed at create, and one %w by another program since: end that program, or rm the machine and create it again",
		d.MachineName, d.SSHPort, d.EnginePort, ErrPortTaken)
}

// Stop powers the VM down through ACPI, quitting QEMU when the guest does
// not within a minute.
func (d *Driver) Stop(ctx context.Context) error {
	if err := d.vm().Stop(ctx, stopGrace); err != nil {
		return fmt.Errorf("qemu: stop: %w", err)
	}
	return nil
}

// Restart stops the VM and starts it again.
func (d *Driver) Restart(ctx context.Context) error {
	if err := d.Stop(ctx); err != nil {
		return err
	}
	return d.Start(ctx)
}

// Kill quits QEMU at once.
func (d *Driver) Kill(ctx context.Context) error {
	if err := d.vm().Kill(ctx); err != nil {
		return fmt.Errorf("qemu: kill: %w", err)
	}
	return nil
}

// Remove ends the VM at once (its disk goes, so there is nothing to shut
// down cleanly) and deletes what the driver made in the machine's
// directory: disk, seed, firmware variables, logs, mesh address. The
// cached image stays for other machines. A machine already gone is no
// error.
func (d *Driver) Remove(ctx context.Context) error {
	if d.MachineName == "" || d.StorePath == "" {
		return nil
	}
	if err := d.Kill(ctx); err != nil {
		return err
	}
	var errs []error
	for _, name := range []string{DiskFile, SeedFile, VarsFile, SerialLog, QEMULog, PIDFile, QMPSocket, MeshAddressFile} {
		if err := os.Remove(d.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("qemu: remove: %w", err)
	}
	return nil
}

// GetState reads the VM's state over QMP; Stopped when QEMU does not run.
func (d *Driver) GetState(ctx context.Context) (drivers.State, error) {
	st, err := d.vm().Status(ctx)
	switch st {
	case StatusRunning:
		return drivers.Running, nil
	case StatusPaused:
		return drivers.Paused, nil
	case StatusStopped:
		return drivers.Stopped, nil
	}
	return drivers.Error, err
}

// GetURL is the engine's loopback forward, tcp://127.0.0.1:EnginePort.
func (d *Driver) GetURL(ctx context.Context) (string, error) {
	ip, err := d.GetIP(ctx)
	if err != nil {
		return "", err
	}
	return drivers.DockerURL(ip, d.EnginePort), nil
}

// GetPrivateIP is the machine's mesh address, which swarm advertises.
func (d *Driver) GetPrivateIP(ctx context.Context) (string, error) {
	if d.MeshIP == "" {
		return d.GetIP(ctx)
	}
	return d.MeshIP, nil
}

// GetEndpoint returns the machine's addresses: loopback and the forwarded
// ports, fixed at create, so static.
func (d *Driver) GetEndpoint(ctx context.Context) (drivers.Endpoint, error) {
	return drivers.EndpointOf(ctx, d, true)
}

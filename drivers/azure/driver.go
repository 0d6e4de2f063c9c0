package azure

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"
	"golang.org/x/crypto/ssh"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/drivers/plugin"
	"github.com/machine-cli/machine/internal/fsutil"
)

const driverName = "azure"

// keyFile is the machine's SSH key in its store directory.
const keyFile = "id_ed25519"

// rollbackBound limits how long a failed Create spends deleting what it
// made, even when its own context has ended.
const rollbackBound = 10 * time.Minute

// Driver is the azure driver. Its JSON is Config (docker-machine's field
// names) plus AzureMade, the record of what Create made.
type Driver struct {
	Config
	// Made is what Create made; Remove deletes that.
	Made Made `json:"AzureMade,omitzero"`

	// connect signs in and makes the ARM clients; nil is the real path
	// (defaultConnect). Tests set it to clients on the SDK's fake servers.
	connect func(ctx context.Context) (*conn, error)
	// reachable waits until addr (host:port) accepts TCP connections; nil
	// is waitForSSH.
	reachable func(ctx context.Context, addr string) error
	// backoff is the first pause before a conflicting request is retried;
	// 0 is defaultBackoff.
	backoff time.Duration

	mu     sync.Mutex // guards Made while Create's steps run in parallel, and cached
	cached *conn      // the clients of this call
}

// Made records what Create made, so that a failed Create undoes exactly
// its own work and Remove deletes what belongs to this machine.
type Made struct {
	// Resource IDs of the machine's own resources, recorded just before
	// each is requested (Create first checks that none of them exists).
	VM       string `json:",omitempty"`
	OSDisk   string `json:",omitempty"`
	NIC      string `json:",omitempty"`
	PublicIP string `json:",omitempty"`
	// NSG is the network security group's ID when Create made it: the
	// machine's own NAME-firewall, or an --azure-nsg that did not exist.
	NSG string `json:",omitempty"`
	// The shared resources this machine's Create made (they carry the
	// docker-machine-created tag, which is what lets any machine's rm
	// delete them once unused).
	ResourceGroup   bool `json:",omitempty"`
	VirtualNetwork  bool `json:",omitempty"`
	Subnet          bool `json:",omitempty"`
	AvailabilitySet bool `json:",omitempty"`
}

func (m Made) empty() bool { return m == Made{} }

// conn are the clients one call uses: those of clients.go and the generic
// resources client, which lists what a resource group holds.
type conn struct {
	*clients
	resources *armresources.Client
}

var _ drivers.Driver = (*Driver)(nil)

// New returns an azure driver for a new machine; it is a driver factory.
func New() drivers.Driver {
	return &Driver{Config: Config{
		BaseDriver:      drivers.BaseDriver{SSHUser: defaultSSHUser, SSHPort: 22},
		Environment:     defaultEnvironment,
		ResourceGroup:   defaultResourceGroup,
		DockerPort:      defaultDockerPort,
		Location:        defaultLocation,
		Size:            defaultSize,
		Image:           defaultImage,
		VirtualNetwork:  defaultVNet,
		SubnetName:      defaultSubnet,
		SubnetPrefix:    defaultSubnetPrefix,
		AvailabilitySet: defaultAvailabilitySet,
		DiskSize:        defaultDiskSize,
		StorageType:     defaultStorageType,
		ManagedDisks:    true,
		FaultCount:      defaultFaultDomains,
		UpdateCount:     defaultUpdateDomains,
	}}
}

// DriverName returns "azure".
func (d *Driver) DriverName(context.Context) (string, error) { return driverName, nil }

// GetCreateFlags returns docker-machine's azure flags (see Flags).
func (d *Driver) GetCreateFlags(context.Context) ([]drivers.Flag, error) { return Flags(), nil }

// SetConfigFromFlags takes the flag values and checks them and the machine
// name; every error wraps drivers.ErrInvalidConfig.
//
// An explicit client secret is not part of the stored config, and each
// call gets a fresh driver; it is kept where azidentity looks for one, in
// this driver process's AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, for the
// later calls of the same command (the process ends with it).
func (d *Driver) SetConfigFromFlags(_ context.Context, opts drivers.Options) error {
	err := errors.Join(d.SetFlags(opts), ValidateName(d.MachineName))
	if err == nil && d.ClientSecret != "" {
		os.Setenv("AZURE_CLIENT_ID", d.ClientID)
		os.Setenv("AZURE_CLIENT_SECRET", d.ClientSecret)
	}
	return err
}

// PreCreateCheck checks, without calling Azure, what Create needs.
func (d *Driver) PreCreateCheck(context.Context) error { return d.check() }

// check is PreCreateCheck; errors wrap drivers.ErrInvalidConfig.
func (d *Driver) check() error {
	var errs []error
	invalid := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format+": %w", append(args, drivers.ErrInvalidConfig)...))
	}
	if err := ValidateName(d.MachineName); err != nil {
		errs = append(errs, err)
	}
	if d.SubscriptionID == "" {
		invalid("--%s (or AZURE_SUBSCRIPTION_ID) is required", flSubscriptionID)
	}
	if _, err := cloudConfig(d.Environment); err != nil {
		errs = append(errs, err)
	}
	if _, err := parseImage(d.Image); err != nil {
		errs = append(errs, err)
	}
	if d.Plan != "" && len(strings.Split(d.Plan, ":")) != 3 {
		invalid("--%s %q: want publisher:product:plan", flPlan, d.Plan)
	}
	for _, p := range d.OpenPorts {
		if _, _, err := parsePort(p); err != nil {
			invalid("--%s %q: %v", flOpenPort, p, err)
		}
	}
	if d.SSHUser == "" || d.SSHUser == "root" {
		invalid("--%s %q: Azure needs an administrator other than root", flSSHUser, d.SSHUser)
	}
	if d.ResourceGroup == "" || d.Location == "" || d.Size == "" || d.SubnetName == "" || vnetName(d.VirtualNetwork) == "" {
		invalid("resource group, location, size, virtual network and subnet must not be empty")
	}
	if d.CustomDataFile != "" {
		if fi, err := os.Stat(d.CustomDataFile); err != nil || fi.IsDir() {
			invalid("--%s %q: not a readable file", flCustomData, d.CustomDataFile)
		}
	}
	if d.SSHKeyPath == "" && (d.StorePath == "" || d.MachineName == "") {
		invalid("no machine directory to keep the SSH key in (store path or machine name missing)")
	}
	return errors.Join(errs...)
}

// Create makes the machine's resources, concurrently where they do not
// depend on each other, and waits until its SSH port answers:
//
//  1. look up, in parallel, everything Create might make or reuse (and
//     refuse when one of the machine's own resources already exists);
//  2. make the resource group when missing;
//  3. in parallel: the virtual network and subnet, the network security
//     group, the public IP, the availability set (each when missing);
//  4. the NIC;
//  5. the VM, then dial SSH (not ARM) on the address Azure gave in its
//     answer to the public IP's or the NIC's PUT.
//
// That is 5 sequential ARM round trips on the critical path into a new
// resource group and 4 into an existing one (a PUT counted with its
// polling, as one), plus retries after conflicts. Made one after the other
// (group, vnet, subnet, NSG, IP, availability set, NIC, VM) it would be 8
// PUTs, each after its own look-up. A Create that fails deletes what it
// made, last made first, and returns the cause.
func (d *Driver) Create(ctx context.Context) (err error) {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("azure: create: %w", err)
	}
	if err := d.check(); err != nil {
		return err
	}
	s, err := d.spec()
	if err != nil {
		return err
	}
	c, err := d.conn(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err == nil || d.Made.empty() {
			return
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackBound)
		defer cancel()
		if rerr := d.teardown(rctx, c, true); rerr != nil {
			err = &rollbackError{cause: err, rollback: rerr, machine: d.MachineName}
		}
	}()
	ip, err := d.build(ctx, c, s)
	if err != nil {
		return err
	}
	if ip == "" { // not in Azure's answers to the PUTs: read it
		if ip, err = d.GetIP(ctx); err != nil {
			return err
		}
	}
	port, _ := d.GetSSHPort(ctx)
	reach := d.reachable
	if reach == nil {
		reach = waitForSSH
	}
	return reach(ctx, sshAddr(ip, port))
}

// rollbackError is a failed Create whose rollback failed too: it names
// both and says what to do, on one line.
type rollbackError struct {
	cause, rollback error
	machine         string
}

func (e *rollbackError) Error() string {
	return fmt.Sprintf("%v (undoing the create failed too: %v; remove what is left with `machine rm -f %s`)", e.cause, e.rollback, e.machine)
}

func (e *rollbackError) Unwrap() []error { return []error{e.cause, e.rollback} }

// spec is what Create reads from the client's disk before calling Azure.
type spec struct {
	image      Image
	publicKey  string
	customData string
}

// spec reads the image, the custom data and the machine's SSH key, making
// the key when it does not exist yet.
func (d *Driver) spec() (spec, error) {
	var s spec
	var err error
	if s.image, err = parseImage(d.Image); err != nil {
		return s, err
	}
	if d.CustomDataFile != "" {
		b, err := os.ReadFile(d.CustomDataFile)
		if err != nil {
			return s, fmt.Errorf("azure: read --%s: %w", flCustomData, err)
		}
		s.customData = base64.StdEncoding.EncodeToString(b)
	}
	if s.publicKey, err = d.ensureKey(); err != nil {
		return s, err
	}
	return s, nil
}

// ensureKey makes an ed25519 key pair for the machine in its store
// directory, unless SSHKeyPath already names one, and returns the public
// key in authorized_keys form.
func (d *Driver) ensureKey() (string, error) {
	if d.SSHKeyPath == "" {
		d.SSHKeyPath = filepath.Join(d.StorePath, "machines", d.MachineName, keyFile)
	}
	pub, err := os.ReadFile(d.SSHKeyPath + ".pub")
	if err == nil {
		if _, err := os.Stat(d.SSHKeyPath); err != nil {
			return "", fmt.Errorf("azure: SSH key %s: %w", d.SSHKeyPath, err)
		}
		return strings.TrimSpace(string(pub)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("azure: SSH key: %w", err)
	}
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("azure: make an SSH key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(sk, "machine "+d.MachineName)
	if err != nil {
		return "", fmt.Errorf("azure: make an SSH key: %w", err)
	}
	spk, err := ssh.NewPublicKey(pk)
	if err != nil {
		return "", fmt.Errorf("azure: make an SSH key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(d.SSHKeyPath), 0o700); err != nil {
		return "", fmt.Errorf("azure: SSH key: %w", err)
	}
	if err := fsutil.WriteFileAtomic(d.SSHKeyPath, pem.EncodeToMemory(block), 0o600); err != nil {
		return "", fmt.Errorf("azure: SSH key: %w", err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(spk)))
	if err := fsutil.WriteFileAtomic(d.SSHKeyPath+".pub", []byte(line+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("azure: SSH key: %w", err)
	}
	return line, nil
}

// conn returns the clients of this call, signing in on first use.
func (d *Driver) conn(ctx context.Context) (*conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cached != nil {
		return d.cached, nil
	}
	connect := d.connect
	if connect == nil {
		connect = func(ctx context.Context) (*conn, error) { return defaultConnect(ctx, &d.Config) }
	}
	c, err := connect(ctx)
	if err != nil {
		return nil, err
	}
	d.cached = c
	return c, nil
}

// defaultConnect signs in as credential chooses and makes the clients.
func defaultConnect(ctx context.Context, c *Config) (*conn, error) {
	s, err := signInFor(c, tokenCache)
	if err != nil {
		return nil, err
	}
	return connectWith(ctx, c, s)
}

// connectWith signs in with s and makes the clients, on s's cloud and
// transport.
func connectWith(ctx context.Context, c *Config, s signIn) (*conn, error) {
	cr, err := credential(ctx, c, s)
	if err != nil {
		return nil, err
	}
	cred := &sharedToken{cred: cr}
	// Once, before the calls that run in parallel, so that a refused
	// sign-in is one error, not one per call; the clients reuse its token.
	if err := signInNow(ctx, cred, s); err != nil {
		return nil, err
	}
	return dial(c.SubscriptionID, cred, s.clientOptions())
}

// signInFor is how this machine's driver signs in: the cloud of
// --azure-environment, the OS's token cache, device code sign-ins kept in
// the store's azure directory, their messages shown with plugin.Notify,
// and the device code flow offered when the command has a terminal.
// tokenCache is the cache's source (tests: one that touches no keyring).
func signInFor(c *Config, tokenCache func() (azidentity.Cache, string)) (signIn, error) {
	cc, err := cloudConfig(c.Environment)
	if err != nil {
		return signIn{}, err
	}
	_, known := named[strings.ToLower(c.Environment)]
	cache, note := tokenCache()
	s := signIn{cloud: cc, custom: !known, cache: cache, notify: noteFirst(note, plugin.Notify), interactive: hasTerminal()}
	if c.StorePath != "" {
		s.storeDir = filepath.Join(c.StorePath, "azure")
	}
	return s, nil
}

// noteFirst returns notify that shows note (why a device code sign-in will
// not be remembered), when there is one, before the first message only:
// the note matters when the user is asked to sign in.
func noteFirst(note string, notify func(string)) func(string) {
	var once sync.Once
	return func(msg string) {
		if note != "" {
			once.Do(func() { notify(note) })
		}
		notify(msg)
	}
}

// hasTerminal says whether the process has a controlling terminal (the
// driver runs with its output piped, but in the user's session).
func hasTerminal() bool {
	f, err := os.Open("/dev/tty")
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// dial makes the clients for subscription, signed in with cred, through
// opts' cloud and transport.
func dial(subscription string, cred azcore.TokenCredential, opts azcore.ClientOptions) (*conn, error) {
	ao := &arm.ClientOptions{ClientOptions: opts}
	cl, err := newClients(subscription, cred, ao)
	if err != nil {
		return nil, err
	}
	rc, err := armresources.NewClient(subscription, cred, ao)
	if err != nil {
		return nil, fmt.Errorf("azure: resources client: %w", err)
	}
	return &conn{clients: cl, resources: rc}, nil
}

// record changes Made under the lock.
func (d *Driver) record(f func(m *Made)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(&d.Made)
}

// made returns a copy of Made.
func (d *Driver) made() Made {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.Made
}

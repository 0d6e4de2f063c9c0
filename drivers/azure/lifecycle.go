package azure

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"

	"github.com/machine-cli/machine/drivers"
)

const (
	// sshBound limits how long Create waits for the SSH port of a VM
	// Azure reports running.
	sshBound = 3 * time.Minute
	// sshDialTimeout limits one dial of the SSH port.
	sshDialTimeout = 5 * time.Second
	// sshRetryEvery is the pause between dials.
	sshRetryEvery = 2 * time.Second
)

// ref is a resource's group and name, from its ID in Made.
type ref struct{ group, name string }

// refOf parses a resource ID that Made recorded.
func refOf(id string) (ref, error) {
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return ref{}, fmt.Errorf("azure: the machine's config holds a bad resource ID %q: %w", id, err)
	}
	return ref{r.ResourceGroupName, r.Name}, nil
}

// notCreated is the error of an operation on a machine whose resource was
// never made (its create never ran or was undone).
func (d *Driver) notCreated(what string) error {
	return fmt.Errorf("azure: machine %q has no %s (it was never created, or its create failed): %w", d.MachineName, what, drivers.ErrNotFound)
}

// vm returns the machine's VM and the clients.
func (d *Driver) vm(ctx context.Context) (*conn, ref, error) {
	if d.Made.VM == "" {
		return nil, ref{}, d.notCreated("virtual machine")
	}
	r, err := refOf(d.Made.VM)
	if err != nil {
		return nil, ref{}, err
	}
	c, err := d.conn(ctx)
	return c, r, err
}

// vmFailed describes a failed call on the machine's VM; a VM that is gone
// wraps drivers.ErrNotFound.
func (d *Driver) vmFailed(op string, r ref, err error) error {
	if notFound(err) {
		return fmt.Errorf("azure: %s: virtual machine %q is gone from resource group %q (deleted outside machine?); remove the machine with `machine rm -f %s`: %w",
			op, r.name, r.group, d.MachineName, drivers.ErrNotFound)
	}
	return fail(fmt.Sprintf("%s virtual machine %q in resource group %q", op, r.name, r.group), err)
}

// GetState reads the VM's power state from its instance view. A VM that
// is gone is Error with an error wrapping drivers.ErrNotFound; a machine
// never created is None with such an error.
func (d *Driver) GetState(ctx context.Context) (drivers.State, error) {
	if d.Made.VM == "" {
		return drivers.None, d.notCreated("virtual machine")
	}
	c, r, err := d.vm(ctx)
	if err != nil {
		return drivers.Error, err
	}
	resp, err := c.vms.InstanceView(ctx, r.group, r.name, nil)
	if err != nil {
		return drivers.Error, d.vmFailed("state of", r, err)
	}
	return powerState(resp.Statuses)
}

// powerState maps the instance view's statuses to a state: the power
// state when there is one, else the provisioning state.
func powerState(statuses []*armcompute.InstanceViewStatus) (drivers.State, error) {
	var prov, provMsg string
	for _, s := range statuses {
		code := strings.ToLower(val(s.Code))
		if p, ok := strings.CutPrefix(code, "powerstate/"); ok {
			switch p {
			case "running":
				return drivers.Running, nil
			case "starting":
				return drivers.Starting, nil
			case "stopping", "deallocating":
				return drivers.Stopping, nil
			case "stopped", "deallocated":
				return drivers.Stopped, nil
			}
			return drivers.None, nil
		}
		if p, ok := strings.CutPrefix(code, "provisioningstate/"); ok {
			prov = p
			provMsg = val(s.Message)
			if provMsg == "" {
				provMsg = val(s.DisplayStatus)
			}
		}
	}
	switch {
	case strings.HasPrefix(prov, "failed"):
		return drivers.Error, fmt.Errorf("azure: the virtual machine failed to provision: %s", strings.Join(strings.Fields(provMsg), " "))
	case prov == "creating" || prov == "updating":
		return drivers.Starting, nil
	case prov == "deleting":
		return drivers.Stopping, nil
	}
	return drivers.None, nil
}

// Start starts the VM.
func (d *Driver) Start(ctx context.Context) error {
	c, r, err := d.vm(ctx)
	if err != nil {
		return err
	}
	if _, err := done(c.vms.BeginStart(ctx, r.group, r.name, nil)).wait(ctx); err != nil {
		return d.vmFailed("start", r, err)
	}
	return nil
}

// Stop deallocates the VM: it stops, and stops costing compute. A dynamic
// public IP is released until it starts again.
func (d *Driver) Stop(ctx context.Context) error {
	c, r, err := d.vm(ctx)
	if err != nil {
		return err
	}
	if _, err := done(c.vms.BeginDeallocate(ctx, r.group, r.name, nil)).wait(ctx); err != nil {
		return d.vmFailed("stop (deallocate)", r, err)
	}
	return nil
}

// Restart restarts the VM; one that is stopped is started.
func (d *Driver) Restart(ctx context.Context) error {
	c, r, err := d.vm(ctx)
	if err != nil {
		return err
	}
	_, err = done(c.vms.BeginRestart(ctx, r.group, r.name, nil)).wait(ctx)
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusConflict {
		// Azure refuses to restart a stopped or deallocated VM.
		return d.Start(ctx)
	}
	if err != nil {
		return d.vmFailed("restart", r, err)
	}
	return nil
}

// Kill powers the VM off without shutting it down; it stays allocated.
func (d *Driver) Kill(ctx context.Context) error {
	c, r, err := d.vm(ctx)
	if err != nil {
		return err
	}
	opts := &armcompute.VirtualMachinesClientBeginPowerOffOptions{SkipShutdown: to.Ptr(true)}
	if _, err := done(c.vms.BeginPowerOff(ctx, r.group, r.name, opts)).wait(ctx); err != nil {
		return d.vmFailed("power off", r, err)
	}
	return nil
}

// usesPrivateIP: clients reach the machine on its private address.
func (d *Driver) usesPrivateIP() bool { return d.UsePrivateIP || d.NoPublicIP }

// GetIP returns the public IP's address, or the private one with
// --azure-use-private-ip or --azure-no-public-ip. It is read live: a
// dynamic address changes when the VM is deallocated.
func (d *Driver) GetIP(ctx context.Context) (string, error) {
	if d.usesPrivateIP() {
		return d.GetPrivateIP(ctx)
	}
	if d.Made.PublicIP == "" {
		return "", d.notCreated("public IP")
	}
	r, err := refOf(d.Made.PublicIP)
	if err != nil {
		return "", err
	}
	c, err := d.conn(ctx)
	if err != nil {
		return "", err
	}
	resp, err := c.publicIPs.Get(ctx, r.group, r.name, nil)
	if notFound(err) {
		return "", fmt.Errorf("azure: public IP %q is gone from resource group %q (deleted outside machine?): %w", r.name, r.group, drivers.ErrNotFound)
	}
	if err != nil {
		return "", fail(fmt.Sprintf("read public IP %q", r.name), err)
	}
	if resp.Properties == nil || val(resp.Properties.IPAddress) == "" {
		return "", fmt.Errorf("azure: public IP %q has no address now (a dynamic address is released while the machine is stopped); start it with `machine start %s`", r.name, d.MachineName)
	}
	return *resp.Properties.IPAddress, nil
}

// GetPrivateIP returns the NIC's address in the virtual network, which
// other machines (swarm) use.
func (d *Driver) GetPrivateIP(ctx context.Context) (string, error) {
	if d.Made.NIC == "" {
		return "", d.notCreated("network interface")
	}
	r, err := refOf(d.Made.NIC)
	if err != nil {
		return "", err
	}
	c, err := d.conn(ctx)
	if err != nil {
		return "", err
	}
	resp, err := c.nics.Get(ctx, r.group, r.name, nil)
	if notFound(err) {
		return "", fmt.Errorf("azure: network interface %q is gone from resource group %q (deleted outside machine?): %w", r.name, r.group, drivers.ErrNotFound)
	}
	if err != nil {
		return "", fail(fmt.Sprintf("read network interface %q", r.name), err)
	}
	if addr := privateAddress(resp.Interface); addr != "" {
		return addr, nil
	}
	return "", fmt.Errorf("azure: network interface %q has no private address yet", r.name)
}

// privateAddress is the private address of nic's primary IP configuration,
// else of its first one that has one, else "".
func privateAddress(nic armnetwork.Interface) string {
	if nic.Properties == nil {
		return ""
	}
	var first string
	for _, ipc := range nic.Properties.IPConfigurations {
		if ipc == nil || ipc.Properties == nil || val(ipc.Properties.PrivateIPAddress) == "" {
			continue
		}
		if val(ipc.Properties.Primary) {
			return *ipc.Properties.PrivateIPAddress
		}
		if first == "" {
			first = *ipc.Properties.PrivateIPAddress
		}
	}
	return first
}

// GetSSHHostname returns GetIP.
func (d *Driver) GetSSHHostname(ctx context.Context) (string, error) { return d.GetIP(ctx) }

// GetURL returns tcp://IP:DockerPort.
func (d *Driver) GetURL(ctx context.Context) (string, error) {
	ip, err := d.GetIP(ctx)
	if err != nil {
		return "", err
	}
	return drivers.DockerURL(ip, d.dockerPort()), nil
}

// GetEndpoint returns the machine's addresses, read once each. They are
// not static: a dynamic public IP changes across a deallocation.
func (d *Driver) GetEndpoint(ctx context.Context) (drivers.Endpoint, error) {
	s := &snapshot{Driver: d}
	if d.usesPrivateIP() {
		s.priv, s.privErr = d.GetPrivateIP(ctx)
		s.ip, s.ipErr = s.priv, s.privErr
	} else {
		_ = parallel(
			func() error { s.ip, s.ipErr = d.GetIP(ctx); return nil },
			func() error { s.priv, s.privErr = d.GetPrivateIP(ctx); return nil },
		)
	}
	return drivers.EndpointOf(ctx, s, false)
}

// snapshot is the driver with its addresses read once, for GetEndpoint.
type snapshot struct {
	*Driver
	ip, priv       string
	ipErr, privErr error
}

func (s *snapshot) GetIP(context.Context) (string, error)          { return s.ip, s.ipErr }
func (s *snapshot) GetPrivateIP(context.Context) (string, error)   { return s.priv, s.privErr }
func (s *snapshot) GetSSHHostname(context.Context) (string, error) { return s.ip, s.ipErr }
func (s *snapshot) GetURL(context.Context) (string, error) {
	if s.ipErr != nil {
		return "", s.ipErr
	}
	return drivers.DockerURL(s.ip, s.dockerPort()), nil
}

func sshAddr(ip string, port int) string { return net.JoinHostPort(ip, strconv.Itoa(port)) }

// waitForSSH dials addr until it accepts a TCP connection, for at most
// sshBound. The error is one line naming addr and the last reason.
func waitForSSH(ctx context.Context, addr string) error {
	last := drivers.WaitTCP(ctx, addr, sshBound, sshDialTimeout, sshRetryEvery)
	if last == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("azure: the VM runs but its SSH port %s did not answer: %v: %w", addr, last, err)
	}
	return fmt.Errorf("azure: the VM runs but its SSH port %s did not answer within %v: %w; check the network security group and the image's SSH server", addr, sshBound, last)
}

package libmachine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/machine-cli/machine/certs"
	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/internal/fsutil"
	"github.com/machine-cli/machine/libmachine/host"
	"github.com/machine-cli/machine/libmachine/store"
	"github.com/machine-cli/machine/provision"
	"github.com/machine-cli/machine/sshclient"
)

// DefaultInstallURL is the Docker install script used when none is given.
const DefaultInstallURL = "https://get.docker.com"

// CreateOptions describe a machine to create.
type CreateOptions struct {
	Name          string
	DriverName    string
	DriverOptions drivers.Options
	Engine        host.EngineOptions
	// TLSSANs are extra names and addresses for the server certificate.
	TLSSANs []string
	// Swarm puts the machine in a swarm-mode cluster after provisioning.
	Swarm SwarmOptions
	// HostKey pins the machine's SSH host key ("ssh-ed25519 AAAA...");
	// empty trusts the key the host presents on first connection.
	HostKey string
}

// rollbackTimeout bounds the clean-up after a failed create, which runs
// even when the create's context was canceled (Ctrl-C).
const rollbackTimeout = 2 * time.Minute

// Create makes a machine: driver create, certificates, provisioning. On
// failure it undoes what it made, on the host and in the store, and returns
// the cause.
func (c *Client) Create(ctx context.Context, opts CreateOptions) (_ *Machine, err error) {
	name := opts.Name
	if err := host.ValidateNewName(name); err != nil {
		return nil, err
	}
	if err := opts.Swarm.Validate(); err != nil {
		return nil, err
	}
	if opts.Swarm.Join == name {
		return nil, fmt.Errorf("--swarm-join %s: a machine cannot join its own swarm; use --swarm-init", name)
	}
	if err := c.Store.CreateMachineDir(name); err != nil {
		if errors.Is(err, store.ErrExists) {
			return nil, fmt.Errorf("machine %q already exists; remove it with `machine rm %s` or pick another name", name, name)
		}
		return nil, err
	}
	// Held until the create, or its rollback, is over: an rm or a swarm
	// change of this name waits for it.
	unlock, err := c.Store.Lock(name)
	if err != nil {
		_ = c.Store.Remove(name)
		return nil, err
	}
	defer unlock()
	var (
		m        *Machine // not the result: a failed create returns nil, the rollback needs m
		d        drivers.Driver
		created  bool
		ssh      *sshclient.Client
		touched  bool
		joined   bool
		stepName = "prepare"
	)
	defer func() {
		if err == nil {
			return
		}
		if stepName == "" {
			err = fmt.Errorf("create %s: %w", name, err)
		} else {
			err = fmt.Errorf("create %s: %s: %w", name, stepName, err)
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		if joined {
			c.logf("Taking %s out of the swarm...", name)
			if lerr := c.SwarmLeave(rctx, m, true); lerr != nil {
				c.logf("warning: leave the swarm: %v", lerr)
			}
		}
		var se *provision.StepError
		if touched && ssh != nil && (!errors.As(err, &se) || se.BackedUp) {
			c.restoreHost(rctx, c.runner(name, ssh), name, fmt.Sprintf("Putting back the configuration %s found on the host...", name))
		}
		if ssh != nil {
			ssh.Close()
		}
		if created {
			c.logf("Removing what the driver created for %s...", name)
			if rerr := d.Remove(rctx); rerr != nil {
				c.logf("warning: driver remove: %v", rerr)
			}
		}
		if rerr := c.Store.Remove(name); rerr != nil {
			c.logf("warning: remove %s from the store: %v", name, rerr)
		}
	}()

	stepName = "certificates"
	cp, err := c.EnsureCerts()
	if err != nil {
		return nil, err
	}

	stepName = "driver"
	initial, _ := json.Marshal(map[string]string{"MachineName": name, "StorePath": c.Store.Root})
	d, err = c.Plugins.Driver(ctx, opts.DriverName, initial)
	if err != nil {
		return nil, err
	}
	if err = d.SetConfigFromFlags(ctx, opts.DriverOptions); err != nil {
		return nil, err
	}
	stepName = "pre-create check"
	if err = d.PreCreateCheck(ctx); err != nil {
		return nil, err
	}
	engine := opts.Engine
	engine.TlsVerify = true
	if engine.InstallURL == "" {
		engine.InstallURL = DefaultInstallURL
	}
	m = &Machine{Host: c.newHost(name, opts.DriverName, &engine, cp), Driver: d}
	// A driver that knows its address before creating anything (generic)
	// is checked now; the others once they have one, below.
	var checked *drivers.Endpoint
	if ep, eperr := d.GetEndpoint(ctx); eperr == nil {
		stepName = ""
		if err = c.checkHostFree(name, ep); err != nil {
			return nil, err
		}
		checked = &ep
	}

	c.logf("Creating machine %s with the %s driver...", name, opts.DriverName)
	stepName = "driver create"
	created = true
	if err = d.Create(ctx); err != nil {
		return nil, err
	}
	// Saved now so that a crash from here on leaves a config that
	// `rm -f` can use to clean up what the driver made.
	if err = c.Save(m); err != nil {
		return nil, err
	}

	stepName = "certificates"
	ep, err := c.recordEndpoint(ctx, m)
	if err != nil {
		return nil, err
	}
	// Checked again only when the driver's create changed the address.
	if checked == nil || checked.SSHHostname != ep.SSHHostname || checked.SSHPort != ep.SSHPort || checked.IP != ep.IP {
		stepName = ""
		if err = c.checkHostFree(name, ep); err != nil {
			return nil, err
		}
		stepName = "certificates"
	}
	ip := ep.IP
	hosts := serverHosts(name, ep, opts.TLSSANs)
	m.HostOptions.AuthOptions.ServerCertSANs = append([]string{}, opts.TLSSANs...)
	mc := c.CertPaths(name)
	if err = copyClientCerts(cp, mc); err != nil {
		return nil, err
	}
	c.logf("Generating the server certificate for %s (%s)...", name, ip)
	if err = certs.NewServerCert(cp.CACert, cp.CAKey, mc.ServerCert, mc.ServerKey, certOrg()+"."+name, hosts); err != nil {
		return nil, err
	}

	stepName = "ssh"
	c.logf("Connecting to %s over SSH...", name)
	ssh, err = c.dialSSH(ctx, name, ep, opts.HostKey)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err == nil {
			ssh.Close()
		}
	}()

	stepName = "provision"
	dockerURL := ep.URL
	port, err := urlPort(dockerURL)
	if err != nil {
		return nil, err
	}
	m.HostOptions.EngineOptions.TlsPort = port
	popts, err := c.provisionOptions(m, mc, dockerURL, port)
	if err != nil {
		return nil, err
	}
	// Marks the machine as half-made until the create ends, so that an rm
	// after a killed create puts the host back (see Remove).
	if err = fsutil.WriteFileAtomic(c.Store.MachinePath(name, store.ProvisioningFile), nil, 0o600); err != nil {
		return nil, err
	}
	touched = true
	stepName = "" // provision's errors name their step
	if err = provision.Provision(ctx, c.runner(name, ssh), popts); err != nil {
		return nil, err
	}
	if opts.Swarm.Enabled() {
		stepName = "swarm"
		joined = true
		if err = c.SwarmUp(ctx, m, ssh, opts.Swarm); err != nil {
			return nil, err
		}
	}
	stepName = "save"
	if err = c.Save(m); err != nil {
		return nil, err
	}
	// Created: what the host held before is no longer needed. A backup
	// left behind costs disk space only, so this is a warning.
	if derr := provision.DiscardBackup(ctx, c.runner(name, ssh), name); derr != nil {
		c.logf("warning: %v", derr)
	}
	if rerr := os.Remove(c.Store.MachinePath(name, store.ProvisioningFile)); rerr != nil {
		c.logf("warning: %v", rerr)
	}
	c.logf("Docker is up and running on %s (%s).", name, dockerURL)
	// Only a machine that was made gets a context; a failed create has
	// returned above.
	c.registerContext(name, opts.DriverName, dockerURL)
	return m, nil
}

// provisionOptions gathers what the provisioner needs for m.
func (c *Client) provisionOptions(m *Machine, mc MachineCerts, dockerURL string, port int) (provision.Options, error) {
	read := func(p string) ([]byte, error) {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read certificate: %w", err)
		}
		return b, nil
	}
	ca, err := read(mc.CACert)
	if err != nil {
		return provision.Options{}, err
	}
	sc, err := read(mc.ServerCert)
	if err != nil {
		return provision.Options{}, err
	}
	sk, err := read(mc.ServerKey)
	if err != nil {
		return provision.Options{}, err
	}
	tc, err := c.clientTLS(m.Name)
	if err != nil {
		return provision.Options{}, err
	}
	return provision.Options{
		MachineName: m.Name,
		DriverName:  m.DriverName,
		Engine:      m.HostOptions.EngineOptions,
		EnginePort:  port,
		CACert:      ca,
		ServerCert:  sc,
		ServerKey:   sk,
		WaitTLS: func(ctx context.Context) error {
			return pingEngine(ctx, dockerURL, tc)
		},
		Log: c.Log,
	}, nil
}

// newHost builds the config of a new machine in docker-machine's shape.
func (c *Client) newHost(name, driverName string, engine *host.EngineOptions, cp certs.Paths) *host.Host {
	mc := c.CertPaths(name)
	return &host.Host{
		ConfigVersion: host.ConfigVersion,
		DriverName:    driverName,
		Name:          name,
		HostOptions: &host.Options{
			EngineOptions: engine,
			SwarmOptions: &host.SwarmOptions{
				Host:     "tcp://0.0.0.0:3376",
				Image:    "swarm:latest",
				Strategy: "spread",
			},
			AuthOptions: &host.AuthOptions{
				CertDir:          c.Store.CertsDir(),
				CaCertPath:       cp.CACert,
				CaPrivateKeyPath: cp.CAKey,
				ClientCertPath:   cp.ClientCert,
				ClientKeyPath:    cp.ClientKey,
				ServerCertPath:   mc.ServerCert,
				ServerKeyPath:    mc.ServerKey,
				ServerCertSANs:   []string{},
				StorePath:        mc.Dir,
			},
		},
	}
}

// copyClientCerts puts the store's CA and client pair in the machine's
// directory, which DOCKER_CERT_PATH points at.
func copyClientCerts(cp certs.Paths, mc MachineCerts) error {
	for _, f := range []struct {
		from, to string
		perm     os.FileMode
	}{{cp.CACert, mc.CACert, 0o644}, {cp.ClientCert, mc.ClientCert, 0o644}, {cp.ClientKey, mc.ClientKey, 0o600}} {
		b, err := os.ReadFile(f.from)
		if err != nil {
			return fmt.Errorf("copy certificates: %w", err)
		}
		if err := fsutil.WriteFileAtomic(f.to, b, f.perm); err != nil {
			return fmt.Errorf("copy certificates: %w", err)
		}
	}
	return nil
}

// marshalDriver returns the driver's config for config.json.
func marshalDriver(d drivers.Driver) (json.RawMessage, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode driver config: %w", err)
	}
	return b, nil
}

// urlPort returns the port of a tcp://host:port URL.
func urlPort(dockerURL string) (int, error) {
	u, err := url.Parse(dockerURL)
	if err != nil {
		return 0, fmt.Errorf("docker URL %q: %w", dockerURL, err)
	}
	_, p, err := net.SplitHostPort(u.Host)
	if err != nil {
		return 0, fmt.Errorf("docker URL %q: %w", dockerURL, err)
	}
	return strconv.Atoi(p)
}

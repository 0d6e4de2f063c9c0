package provision

import (
	"context"
	"fmt"
	"strings"

	"github.com/machine-cli/machine/libmachine/host"
)

// certsProbe learns what InstallCerts needs of a provisioned host in one
// round trip: the login user, Docker's units and whether machine's drop-in
// (docker-machine's has the same path) points dockerd at the certificates.
var certsProbe = section("uid") + "\nid -u\n" +
	section("os-release") + "\n" + osReleaseScript + "\n" +
	section("dropin") + "\n[ -f " + DropInPath + " ] && echo present || true\n" +
	dockerProbe

// InstallCerts replaces the CA and server certificate of dockerd on a host
// that Provision provisioned (opts.CACert, ServerCert and ServerKey; the
// other certificates, the drop-in and the engine's settings stay), restarts
// dockerd on them and waits until it answers over TLS (opts.WaitTLS, with
// the client certificate that goes with the new CA). It uses MachineName,
// EnginePort (or Engine.TlsPort), the certificates, WaitTLS and Log of opts.
//
// As Provision does, it first records what it will replace on the host
// (BackedUpPaths and the units' states): the caller ends it with Restore,
// which puts the earlier certificates back and restarts dockerd on them, or
// DiscardBackup. Errors are *StepError.
func InstallCerts(ctx context.Context, c Runner, opts Options) error {
	p := newRun(c, opts)
	return p.runSteps(ctx, "", []step{
		{"check options", p.checkCerts},
		{"detect docker", p.detectDocker},
		{"back up", p.backup},
		{"write certificates", p.writeCerts},
		{"start docker", p.startDocker},
	})
}

// checkCerts checks the options InstallCerts uses.
func (p *run) checkCerts(context.Context) error {
	return p.checkOptions(host.ValidateName, true)
}

// detectDocker learns the login user and Docker's units, and checks that
// dockerd runs with machine's drop-in, which names the certificates'
// paths.
func (p *run) detectDocker(ctx context.Context) error {
	sec, err := p.probe(ctx, certsProbe)
	if err != nil {
		return err
	}
	// The OS tells which firewall startDocker keeps dockerd's port open in;
	// on an OS machine does not know (a docker-machine host, say) the
	// firewall is left as provisioning left it.
	if rel, err := ParseOSRelease([]byte(sec["os-release"])); err == nil {
		p.os, _ = SelectOS(rel)
	}
	switch {
	case p.docker.dockerd == "" || !p.docker.units["docker.service"]:
		return fmt.Errorf("the host has no dockerd under systemd (docker.service): provision it again with `machine provision %s`", p.opts.MachineName)
	case strings.TrimSpace(sec["dropin"]) != "present":
		return fmt.Errorf("dockerd on the host does not run with machine's TLS settings (%s is missing): provision it again with `machine provision %s`", DropInPath, p.opts.MachineName)
	}
	return nil
}

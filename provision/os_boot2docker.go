package provision

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/machine-cli/machine/libmachine/host"
	"github.com/machine-cli/machine/sshclient"
)

// boot2dockerFamily is boot2docker, the Tiny Core Linux ISO that
// docker-machine booted in VirtualBox: Docker comes with the ISO, there is
// no package manager, no systemd and no firewall. dockerd runs from the
// init script /etc/init.d/docker, which sources Boot2DockerProfilePath;
// the certificates live beside it, on the persistent disk.
type boot2dockerFamily struct{}

func (boot2dockerFamily) Family() string                       { return "boot2docker" }
func (boot2dockerFamily) IDs() []string                        { return []string{"boot2docker"} }
func (boot2dockerFamily) PackageManager() string               { return "" }
func (boot2dockerFamily) DockerPackages() []string             { return nil }
func (boot2dockerFamily) Firewalls() []string                  { return nil }
func (f boot2dockerFamily) forRelease(OSRelease) OSProvisioner { return f }

// DistroDocker: boot2docker has no packages; Docker comes with the ISO.
func (boot2dockerFamily) DistroDocker() error { return errBoot2DockerInstall }

func (boot2dockerFamily) PackageInstallScript() string {
	return failScript(errBoot2DockerInstall.Error())
}

func (boot2dockerFamily) PackageUpgradeScript() string {
	return failScript(ErrBoot2DockerUpgrade.Error())
}

// errBoot2DockerInstall refuses installing Docker on boot2docker by any
// method but the ISO's own.
var errBoot2DockerInstall = errors.New("boot2docker comes with Docker in its ISO and has no package manager; leave --engine-install-url unset (or \"none\")")

// ErrBoot2DockerUpgrade is Upgrade's error on boot2docker: its Docker is
// the ISO's, which docker-machine replaced by downloading a newer ISO.
var ErrBoot2DockerUpgrade = errors.New("boot2docker's Docker comes with its ISO and cannot be upgraded in place; create the machine again with a newer ISO (--virtualbox-boot2docker-url)")

// Paths machine writes on a boot2docker host, where docker-machine wrote
// them: /var/lib/boot2docker is on the persistent disk.
const (
	Boot2DockerCACertPath     = "/var/lib/boot2docker/ca.pem"
	Boot2DockerServerCertPath = "/var/lib/boot2docker/server.pem"
	Boot2DockerServerKeyPath  = "/var/lib/boot2docker/server-key.pem"
	Boot2DockerProfilePath    = "/var/lib/boot2docker/profile"
	// boot2dockerHostnamePath is the name boot2docker sets at boot.
	boot2dockerHostnamePath = "/var/lib/boot2docker/etc/hostname"
	// boot2dockerInit is the init script that runs dockerd.
	boot2dockerInit = "/etc/init.d/docker"
	// boot2dockerLog is where boot2docker's init script logs dockerd.
	boot2dockerLog = "/var/lib/boot2docker/docker.log"
)

// checkBoot2DockerInstall accepts the install URLs that mean "the ISO's
// Docker": "none" and the default URL (the flag's default, which the user
// did not choose).
func checkBoot2DockerInstall(u string) error {
	if u == "" || u == "none" || u == DefaultInstallURL {
		return nil
	}
	return fmt.Errorf("install URL %q: %w", u, errBoot2DockerInstall)
}

// RenderBoot2DockerProfile renders Boot2DockerProfilePath, the shell
// variables boot2docker's init script reads, as docker-machine wrote
// them: DOCKER_HOST with the TLS listener, DOCKER_TLS=auto with CACERT,
// SERVERCERT and SERVERKEY (the script adds --tlsverify and the three
// files), DOCKER_STORAGE, and EXTRA_ARGS with the other engine options
// (labels, registries, --engine-opt flags). The init script splits
// EXTRA_ARGS on blanks, so an option holding a blank, a quote or a shell
// pattern character is refused; the engine env becomes exported
// variables.
func RenderBoot2DockerProfile(opts Options) (string, error) {
	e := opts.Engine
	if e == nil {
		e = &host.EngineOptions{}
	}
	// lines are EXTRA_ARGS's lines: a flag and its value on one line, as
	// docker-machine wrote them.
	var lines [][]string
	flag := func(name string, values ...string) {
		for _, v := range values {
			lines = append(lines, []string{name, v})
		}
	}
	if opts.DriverName != "" {
		flag("--label", "provider="+opts.DriverName)
	}
	flag("--label", e.Labels...)
	flag("--insecure-registry", e.InsecureRegistry...)
	flag("--registry-mirror", e.RegistryMirror...)
	flag("--dns", e.Dns...)
	if e.GraphDir != "" {
		flag("--data-root", e.GraphDir)
	}
	if e.LogLevel != "" {
		flag("--log-level", e.LogLevel)
	}
	if e.Ipv6 {
		lines = append(lines, []string{"--ipv6"})
	}
	if e.SelinuxEnabled {
		lines = append(lines, []string{"--selinux-enabled"})
	}
	for _, f := range e.ArbitraryFlags {
		f = strings.TrimLeft(f, "-")
		if f == "" {
			return "", fmt.Errorf("an engine option (--engine-opt) is empty")
		}
		lines = append(lines, []string{"--" + f})
	}
	for _, a := range append(slices.Concat(lines...), e.StorageDriver) {
		if strings.ContainsFunc(a, func(r rune) bool { return r <= ' ' || strings.ContainsRune(`'"\$*?[]`+"`", r) }) {
			return "", fmt.Errorf("engine option %q: boot2docker splits its options on blanks; use no blanks, quotes, $ or pattern characters", a)
		}
	}

	var b strings.Builder
	b.WriteString("# Written by machine; it rewrites this file when it provisions the host.\n")
	b.WriteString("EXTRA_ARGS='\n")
	for _, l := range lines {
		b.WriteString(strings.Join(l, " ") + "\n")
	}
	b.WriteString("'\n")
	fmt.Fprintf(&b, "CACERT=%s\nSERVERCERT=%s\nSERVERKEY=%s\n", Boot2DockerCACertPath, Boot2DockerServerCertPath, Boot2DockerServerKeyPath)
	fmt.Fprintf(&b, "DOCKER_HOST='-H tcp://0.0.0.0:%s'\n", strconv.Itoa(enginePort(opts)))
	b.WriteString("DOCKER_TLS=auto\n")
	if e.StorageDriver != "" {
		fmt.Fprintf(&b, "DOCKER_STORAGE=%s\n", e.StorageDriver)
	}
	for _, kv := range e.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || !validKey(k) {
			return "", fmt.Errorf("engine env %q: want KEY=VALUE", kv)
		}
		b.WriteString("export " + sshclient.ShellQuote(kv) + "\n")
	}
	return b.String(), nil
}

// boot2dockerRestart restarts dockerd through boot2docker's init script.
const boot2dockerRestart = boot2dockerInit + " restart"

// boot2dockerHostnameScript names a boot2docker host now and at its next
// boot (boot2docker sets the name from boot2dockerHostnamePath).
func boot2dockerHostnameScript(name string) string {
	q := sshclient.ShellQuote(name)
	return "{ /usr/bin/sethostname " + q + " 2>/dev/null || hostname " + q + "; }\n" +
		"mkdir -p " + boot2dockerHostnamePath[:strings.LastIndex(boot2dockerHostnamePath, "/")] + "\n" +
		"printf '%s\\n' " + q + " > " + boot2dockerHostnamePath + "\n"
}

package provision

import (
	"errors"
	"slices"
	"strings"
)

// rhelFamily is Red Hat Enterprise Linux and its rebuilds (CentOS Stream,
// Rocky Linux, AlmaLinux, Oracle Linux): dnf, firewalld. Their own
// repositories hold no Docker (podman-docker is Podman behind a docker
// command), so they refuse the install URL "distro" and say what to use:
// Docker's install script, the default, which adds Docker's repository and
// installs docker-ce from it on RHEL, CentOS and Rocky; on the others,
// which that script refuses, docker-ce installed by hand from Docker's
// repository.
type rhelFamily struct{ rel OSRelease }

func (rhelFamily) Family() string           { return "rhel" }
func (rhelFamily) IDs() []string            { return []string{"rhel", "centos", "rocky", "almalinux", "ol"} }
func (rhelFamily) PackageManager() string   { return "dnf" }
func (rhelFamily) DockerPackages() []string { return nil }
func (rhelFamily) Firewalls() []string      { return []string{"firewalld"} }
func (rhelFamily) forRelease(rel OSRelease) OSProvisioner {
	return rhelFamily{rel: rel}
}

// installScriptIDs are the IDs Docker's install script supports in this
// family; it refuses the others ("Unsupported distribution").
var installScriptIDs = []string{"rhel", "centos", "rocky"}

func (f rhelFamily) DistroDocker() error {
	name := f.rel.PrettyName
	if name == "" {
		name = "Red Hat Enterprise Linux"
	}
	msg := name + ` has no Docker in its own repositories (podman-docker is Podman, not Docker), so the install URL "distro" cannot install it: `
	if slices.Contains(installScriptIDs, strings.ToLower(f.rel.ID)) {
		return errors.New(msg + `use Docker's install script, the default install URL (` + DefaultInstallURL + `), which adds Docker's repository`)
	}
	return errors.New(msg + `install docker-ce from Docker's repository first (dnf install -y dnf-plugins-core && dnf config-manager --add-repo https://download.docker.com/linux/rhel/docker-ce.repo && dnf install -y docker-ce docker-ce-cli containerd.io), then create the machine again; Docker's install script does not support ` + f.rel.ID)
}

func (f rhelFamily) PackageInstallScript() string { return failScript(f.DistroDocker().Error()) }
func (f rhelFamily) PackageUpgradeScript() string { return failScript(f.DistroDocker().Error()) }

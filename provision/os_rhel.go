package provision

import "errors"

// rhelFamily is Red Hat Enterprise Linux and its rebuilds (CentOS Stream,
// Rocky Linux, AlmaLinux, Oracle Linux): dnf, firewalld. Their own
// repositories hold no Docker (podman-docker is Podman behind a docker
// command), so they refuse the install URL "distro": Docker's install
// script, the default, adds Docker's repository and installs docker-ce
// from it.
type rhelFamily struct{ rel OSRelease }

func (rhelFamily) Family() string           { return "rhel" }
func (rhelFamily) IDs() []string            { return []string{"rhel", "centos", "rocky", "almalinux", "ol"} }
func (rhelFamily) PackageManager() string   { return "dnf" }
func (rhelFamily) DockerPackages() []string { return nil }
func (rhelFamily) Firewalls() []string      { return []string{"firewalld"} }
func (rhelFamily) forRelease(rel OSRelease) OSProvisioner {
	return rhelFamily{rel: rel}
}

func (f rhelFamily) DistroDocker() error {
	name := f.rel.PrettyName
	if name == "" {
		name = "Red Hat Enterprise Linux"
	}
	return errors.New(name + ` has no Docker in its own repositories (podman-docker is Podman, not Docker), so the install URL "distro" cannot install it: use Docker's install script, the default install URL (` + DefaultInstallURL + `), which adds Docker's repository`)
}

func (f rhelFamily) PackageInstallScript() string { return failScript(f.DistroDocker().Error()) }
func (f rhelFamily) PackageUpgradeScript() string { return failScript(f.DistroDocker().Error()) }

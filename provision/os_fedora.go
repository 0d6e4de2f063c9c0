package provision

// fedoraFamily is Fedora: Docker is Fedora's moby-engine package (engine
// and CLI), installed with dnf; the firewall is firewalld. (Docker's own
// docker-ce comes from Docker's repository, which the install script adds;
// "distro" keeps to Fedora's.)
type fedoraFamily struct{}

func (fedoraFamily) Family() string                       { return "fedora" }
func (fedoraFamily) IDs() []string                        { return []string{"fedora"} }
func (fedoraFamily) PackageManager() string               { return "dnf" }
func (fedoraFamily) DockerPackages() []string             { return []string{"moby-engine"} }
func (fedoraFamily) DistroDocker() error                  { return nil }
func (fedoraFamily) Firewalls() []string                  { return []string{"firewalld"} }
func (f fedoraFamily) forRelease(OSRelease) OSProvisioner { return f }

func (fedoraFamily) PackageInstallScript() string {
	return `dnf install -y moby-engine`
}

func (fedoraFamily) PackageUpgradeScript() string {
	return `dnf upgrade -y --refresh moby-engine`
}

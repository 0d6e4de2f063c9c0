package provision

// debianFamily is Debian, Ubuntu and their derivatives: Docker is the
// docker.io package, installed with apt-get; the firewall is ufw (or
// firewalld, which Debian and Ubuntu package too).
type debianFamily struct{}

func (debianFamily) Family() string                       { return "debian" }
func (debianFamily) IDs() []string                        { return []string{"debian", "ubuntu"} }
func (debianFamily) PackageManager() string               { return "apt-get" }
func (debianFamily) DistroDocker() error                  { return nil }
func (debianFamily) Firewalls() []string                  { return []string{"ufw", "firewalld"} }
func (f debianFamily) forRelease(OSRelease) OSProvisioner { return f }

// DockerPackages: docker.io is the engine (and, up to Debian 12 and Ubuntu
// 24.04, the CLI); Debian 13 packages the CLI apart, as docker-cli, which
// swarm joins need on the host.
func (debianFamily) DockerPackages() []string { return []string{"docker.io", "docker-cli"} }

// debianPackages picks the Docker packages the host's repositories hold:
// docker-cli only where it exists.
const debianPackages = `export DEBIAN_FRONTEND=noninteractive
apt-get update -q
pkgs=docker.io
if apt-cache show docker-cli >/dev/null 2>&1; then pkgs="$pkgs docker-cli"; fi
`

func (debianFamily) PackageInstallScript() string {
	return debianPackages + `apt-get install -y -q -o DPkg::Lock::Timeout=120 $pkgs`
}

func (debianFamily) PackageUpgradeScript() string {
	return debianPackages + `apt-get install -y -q -o DPkg::Lock::Timeout=120 --only-upgrade $pkgs`
}

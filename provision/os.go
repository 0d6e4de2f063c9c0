package provision

import (
	"fmt"
	"slices"
	"strings"
)

// OSProvisioner is what provisioning needs to know about one OS family. The
// rest of provisioning (hostname, certificates, the systemd drop-in) is the
// same for every family so far; a family without systemd would add a
// method here for configuring the service.
type OSProvisioner interface {
	// Family is the family's name as ID_LIKE spells it ("debian"): an OS
	// whose ID_LIKE names it belongs to the family.
	Family() string
	// IDs are the os-release IDs the family handles by name.
	IDs() []string
	// PackageInstallScript returns a shell script, run as root, that
	// installs Docker from the OS's own packages (install URL "distro").
	PackageInstallScript() string
	// PackageUpgradeScript returns a shell script, run as root, that
	// upgrades the OS's Docker packages to the newest its repositories
	// hold (`machine upgrade` of a machine installed with "distro").
	PackageUpgradeScript() string
}

// families are the OS families provision supports, in order of preference.
// Add a family by implementing OSProvisioner and listing it here.
var families = []OSProvisioner{debianFamily{}}

// SelectOS picks the provisioner for the OS: one whose IDs hold the OS's
// ID, else the first whose Family is in ID_LIKE (closest first).
func SelectOS(rel OSRelease) (OSProvisioner, error) {
	id := strings.ToLower(rel.ID)
	for _, f := range families {
		if slices.Contains(f.IDs(), id) {
			return f, nil
		}
	}
	for _, like := range rel.IDLike {
		for _, f := range families {
			if strings.EqualFold(like, f.Family()) {
				return f, nil
			}
		}
	}
	var names []string
	for _, f := range families {
		names = append(names, f.IDs()...)
	}
	return nil, fmt.Errorf("unsupported OS %s (ID=%s); supported: %s", rel.PrettyName, rel.ID, strings.Join(names, ", "))
}

// debianFamily is Debian, Ubuntu and their derivatives.
type debianFamily struct{}

func (debianFamily) Family() string { return "debian" }
func (debianFamily) IDs() []string  { return []string{"debian", "ubuntu"} }

func (debianFamily) PackageInstallScript() string {
	return `export DEBIAN_FRONTEND=noninteractive
apt-get update -q && apt-get install -y -q -o DPkg::Lock::Timeout=120 docker.io`
}

func (debianFamily) PackageUpgradeScript() string {
	return `export DEBIAN_FRONTEND=noninteractive
apt-get update -q && apt-get install -y -q -o DPkg::Lock::Timeout=120 --only-upgrade docker.io`
}

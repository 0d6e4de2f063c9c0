package provision

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/machine-cli/machine/sshclient"
)

// OSProvisioner is what provisioning needs to know about one OS family: how
// it installs and upgrades Docker from its own packages and which firewalls
// it runs. The rest of provisioning (hostname, certificates, the systemd
// drop-in) is the same for every family but boot2docker, which has no
// systemd: provision runs its dockerd through its init script and profile
// (os_boot2docker.go).
//
// SelectOS returns a family bound to the host's os-release; the families
// are this package's own (the interface has an unexported method).
type OSProvisioner interface {
	// Family is the family's name as ID_LIKE spells it ("debian", "rhel",
	// "fedora", "suse"): an OS whose ID_LIKE names it belongs to the family.
	Family() string
	// IDs are the os-release IDs the family handles by name.
	IDs() []string
	// PackageManager is the command that installs the family's packages
	// ("apt-get", "dnf", "zypper").
	PackageManager() string
	// DockerPackages are the OS's own Docker packages that a "distro"
	// install installs and `machine upgrade` upgrades (those of them the
	// host's repositories hold); none when DistroDocker returns an error.
	DockerPackages() []string
	// DistroDocker returns nil when the OS's own repositories hold Docker,
	// else an error that says what to install it with instead.
	DistroDocker() error
	// PackageInstallScript returns a shell script, run as root, that
	// installs Docker from the OS's own packages (install URL "distro").
	// When it fails, the last line of its stderr says why.
	PackageInstallScript() string
	// PackageUpgradeScript returns a shell script, run as root, that
	// upgrades the OS's Docker packages to the newest its repositories
	// hold (`machine upgrade` of a machine installed with "distro").
	// When it fails, the last line of its stderr says why.
	PackageUpgradeScript() string
	// Firewalls name the host firewalls provisioning looks for, in order:
	// the first one active gets the engine and swarm ports opened (see
	// firewallScript for the names known).
	Firewalls() []string

	// forRelease returns the family bound to the host's os-release.
	forRelease(rel OSRelease) OSProvisioner
}

// families are the OS families provision supports, in order of preference.
// Add a family by implementing OSProvisioner in its own os_NAME.go and
// listing it here.
var families = []OSProvisioner{debianFamily{}, rhelFamily{}, fedoraFamily{}, suseFamily{}, boot2dockerFamily{}}

// SelectOS picks the provisioner for the OS: one whose IDs hold the OS's
// ID, else the first whose Family is in ID_LIKE (closest first). An OS of
// no family is an error naming it and the supported IDs.
func SelectOS(rel OSRelease) (OSProvisioner, error) {
	id := strings.ToLower(rel.ID)
	for _, f := range families {
		if slices.Contains(f.IDs(), id) {
			return f.forRelease(rel), nil
		}
	}
	for _, like := range rel.IDLike {
		for _, f := range families {
			if strings.EqualFold(like, f.Family()) {
				return f.forRelease(rel), nil
			}
		}
	}
	return nil, fmt.Errorf("unsupported OS %s (ID=%s); supported: %s, and OSes whose ID_LIKE names %s",
		rel.PrettyName, rel.ID, strings.Join(SupportedIDs(), ", "), strings.Join(familyNames(), ", "))
}

// SupportedIDs are the os-release IDs of every supported OS, by family.
func SupportedIDs() []string {
	var ids []string
	for _, f := range families {
		ids = append(ids, f.IDs()...)
	}
	return ids
}

func familyNames() []string {
	var names []string
	for _, f := range families {
		names = append(names, f.Family())
	}
	return names
}

// osReleaseScript prints the host's os-release.
const osReleaseScript = "cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null || true"

// DetectOS reads the os-release of the host c is connected to and selects
// its family.
func DetectOS(ctx context.Context, c Runner) (OSProvisioner, OSRelease, error) {
	out, err := c.Output(ctx, "sh -c "+sshclient.ShellQuote(osReleaseScript))
	if err != nil {
		return nil, OSRelease{}, fmt.Errorf("read /etc/os-release: %w", err)
	}
	rel, err := ParseOSRelease(out)
	if err != nil {
		return nil, OSRelease{}, fmt.Errorf("read /etc/os-release: %w", err)
	}
	os, err := SelectOS(rel)
	return os, rel, err
}

// failScript is a script that fails with msg as its last line of stderr.
func failScript(msg string) string {
	return "echo " + sshclient.ShellQuote(msg) + " >&2\nexit 1"
}

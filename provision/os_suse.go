package provision

import (
	"strconv"

	"github.com/machine-cli/machine/sshclient"
)

// suseFamily is openSUSE Leap, openSUSE Tumbleweed and SUSE Linux
// Enterprise Server: Docker is the docker package, installed with zypper;
// the firewall is firewalld (SUSE's since 15). SLES has the docker package
// in its Containers module, which must be added first; the older
// SuSEfirewall2 (SLES 12, Leap 42) is not supported.
type suseFamily struct{ rel OSRelease }

func (suseFamily) Family() string           { return "suse" }
func (suseFamily) IDs() []string            { return []string{"opensuse-leap", "opensuse-tumbleweed", "sles"} }
func (suseFamily) PackageManager() string   { return "zypper" }
func (suseFamily) DockerPackages() []string { return []string{"docker"} }
func (suseFamily) DistroDocker() error      { return nil }
func (suseFamily) Firewalls() []string      { return []string{"firewalld", "SuSEfirewall2"} }
func (suseFamily) forRelease(rel OSRelease) OSProvisioner {
	return suseFamily{rel: rel}
}

// zypperNotFound is zypper's exit status when no repository provides a
// package (ZYPPER_EXIT_INF_CAP_NOT_FOUND).
const zypperNotFound = 104

func (f suseFamily) PackageInstallScript() string { return f.zypper("install") }
func (f suseFamily) PackageUpgradeScript() string { return f.zypper("update") }

// zypper runs `zypper COMMAND docker`, waiting up to two minutes for
// another zypper to finish, and when no repository has the package says
// where it is.
func (f suseFamily) zypper(command string) string {
	return `export ZYPP_LOCK_TIMEOUT=120
status=0
zypper --non-interactive ` + command + ` docker || status=$?
if [ "$status" -eq ` + strconv.Itoa(zypperNotFound) + ` ]; then
  echo ` + f.notFound() + ` >&2
fi
exit "$status"`
}

// notFound is the shell words of the line that says where the docker
// package is: on SLES, in the Containers module.
func (f suseFamily) notFound() string {
	const msg = "the docker package is in none of the host's repositories"
	if f.rel.ID != "sles" {
		return sshclient.ShellQuote(msg + " (zypper repos lists them)")
	}
	version := f.rel.VersionID
	if version == "" {
		version = "VERSION"
	}
	return sshclient.ShellQuote(msg+": add SLES's Containers module first (SUSEConnect -p sle-module-containers/"+version+"/") +
		`"$(uname -m)"` + sshclient.ShellQuote(")")
}

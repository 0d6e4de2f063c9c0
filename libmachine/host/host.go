// Package host is the machine model: what a machine's config.json holds, in
// docker-machine's shape (ConfigVersion 3), so that stores written by
// docker-machine 0.16 and rancher/machine read the same and ours read back
// there. It is a leaf package: it imports nothing of drivers or provision.
package host

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// ConfigVersion is the config.json version we read and write.
const ConfigVersion = 3

// Host is one machine, as stored in its config.json.
type Host struct {
	ConfigVersion int
	// Driver is the driver's own configuration, kept as the driver wrote it.
	Driver      json.RawMessage
	DriverName  string
	HostOptions *Options
	Name        string
	// Endpoint is the driver's drivers.Endpoint as of the last create or
	// start (ours; docker-machine ignores it). When the driver called it
	// static, commands that only need addresses read it instead of starting
	// the driver.
	Endpoint json.RawMessage `json:"MachineEndpoint,omitempty"`
}

// Options are the driver-independent settings of a machine.
type Options struct {
	Driver        string
	Memory        int
	Disk          int
	EngineOptions *EngineOptions
	SwarmOptions  *SwarmOptions
	AuthOptions   *AuthOptions
}

// EngineOptions configure dockerd on the machine.
type EngineOptions struct {
	ArbitraryFlags   []string
	Dns              []string `json:"Dns"` //nolint:revive // docker-machine's name
	GraphDir         string
	Env              []string
	Ipv6             bool
	InsecureRegistry []string
	Labels           []string
	LogLevel         string
	StorageDriver    string
	SelinuxEnabled   bool
	TlsVerify        bool `json:"TlsVerify"` //nolint:revive // docker-machine's name
	RegistryMirror   []string
	InstallURL       string
	// TlsPort is the engine's TCP port (ours; docker-machine keeps it in the
	// driver's EnginePort).
	TlsPort int `json:",omitempty"` //nolint:revive
}

// SwarmOptions hold docker-machine's standalone-swarm settings (read and kept
// for compatibility) and our swarm-mode settings.
type SwarmOptions struct {
	IsSwarm            bool
	Address            string
	Discovery          string
	Agent              bool
	Master             bool
	Host               string
	Image              string
	Strategy           string
	Heartbeat          int
	Overcommit         float64
	ArbitraryFlags     []string
	ArbitraryJoinFlags []string
	Env                []string
	IsExperimental     bool
	// Mode records the machine's swarm-mode membership (ours;
	// docker-machine ignores the field). Nil when not in a swarm.
	Mode *SwarmMode `json:"SwarmMode,omitempty"`
}

// SwarmMode is what a machine's config records of its swarm-mode
// membership. The live role is asked of the engine; this record names the
// swarm and lets a manager remove the node when the machine is gone.
type SwarmMode struct {
	// Cluster names the swarm by its first machine.
	Cluster string
	// NodeID is the machine's node in the swarm.
	NodeID string
	// Manager is the role the machine joined with.
	Manager bool `json:",omitempty"`
	// AdvertiseAddr is the address the node advertises to the swarm.
	AdvertiseAddr string `json:",omitempty"`
	// Labels are the node labels set when it joined.
	Labels []string `json:",omitempty"`
}

// AuthOptions are the paths of the certificates a machine uses.
type AuthOptions struct {
	CertDir              string
	CaCertPath           string
	CaPrivateKeyPath     string
	CaCertRemotePath     string
	ServerCertPath       string
	ServerKeyPath        string
	ClientKeyPath        string
	ServerCertRemotePath string
	ServerKeyRemotePath  string
	ClientCertPath       string
	ServerCertSANs       []string
	StorePath            string
}

var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9.-]*$`)

// ErrInvalidName is wrapped by ValidateName's errors.
var ErrInvalidName = fmt.Errorf("invalid machine name")

// ValidateName checks a machine name against docker-machine's rule.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: the name is empty", ErrInvalidName)
	}
	if !validName.MatchString(name) {
		return fmt.Errorf("%w %q: use letters, digits, '.' and '-', starting with a letter or digit", ErrInvalidName, name)
	}
	return nil
}

// MaxNameLength is the longest name a new machine may have: the name
// becomes the host's name and a DNS label, which hold at most 63 bytes (a
// Linux host name at most 64, an Azure VM name at most 64).
const MaxNameLength = 63

// ValidateNewName checks the name of a machine about to be created:
// ValidateName's rule and at most MaxNameLength characters. Names of
// existing machines are only held to ValidateName, so that a store written
// by another tool stays usable.
func ValidateNewName(name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if len(name) > MaxNameLength {
		return fmt.Errorf("%w %q: %d characters, at most %d are allowed (it becomes the host name)", ErrInvalidName, name, len(name), MaxNameLength)
	}
	return nil
}

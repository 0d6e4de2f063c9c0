package virtualbox

import (
	"encoding/json"
	"strings"
)

// dockerMachineConfig is what docker-machine's virtualbox driver kept in a
// machine's config.json besides the BaseDriver fields: its flag values as
// top-level fields.
type dockerMachineConfig struct {
	CPU                 int
	Memory              int
	DiskSize            int
	NatNicType          string
	HostDNSResolver     bool
	HostOnlyCIDR        string
	HostOnlyNicType     string
	HostOnlyPromiscMode string
	UIType              string
	HostOnlyNoDHCP      bool
	NoShare             bool
	DNSProxy            bool
	NoVTXCheck          bool
	ShareFolder         string
	Boot2DockerImportVM string
}

// dockerMachineEnginePort is the port docker-machine's machines serve
// Docker on, at their host-only address.
const dockerMachineEnginePort = 2376

// UnmarshalJSON reads the driver's config; a machine docker-machine made
// (its config has "HostOnlyCIDR" at the top and no "Settings") gets its
// flag values from docker-machine's fields, so that ls, ip, env, ssh,
// stop, start and rm work on it.
func (d *Driver) UnmarshalJSON(data []byte) error {
	type plain Driver
	if err := json.Unmarshal(data, (*plain)(d)); err != nil {
		return err
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return err
	}
	if _, ours := keys["Settings"]; ours {
		return nil
	}
	if _, theirs := keys["HostOnlyCIDR"]; !theirs {
		return nil
	}
	var dm dockerMachineConfig
	if err := json.Unmarshal(data, &dm); err != nil {
		return err
	}
	d.Settings = Settings{
		MemoryMB: dm.Memory, CPUs: dm.CPU, DiskSizeMB: dm.DiskSize, ImportVM: dm.Boot2DockerImportVM,
		HostDNSResolver: dm.HostDNSResolver, NATNicType: dm.NatNicType, HostOnlyCIDR: dm.HostOnlyCIDR,
		HostOnlyNicType: dm.HostOnlyNicType, HostOnlyPromisc: dm.HostOnlyPromiscMode, UIType: strings.TrimSpace(dm.UIType),
		HostOnlyNoDHCP: dm.HostOnlyNoDHCP, NoShare: dm.NoShare, DNSProxy: dm.DNSProxy, NoVTXCheck: dm.NoVTXCheck,
		ShareFolder: dm.ShareFolder,
	}
	if d.Settings.UIType == "" {
		d.Settings.UIType = DefaultUIType
	}
	d.DockerMachine = true
	if d.EnginePort == 0 {
		d.EnginePort = dockerMachineEnginePort
	}
	return nil
}

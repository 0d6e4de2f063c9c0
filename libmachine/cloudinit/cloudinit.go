// Package cloudinit writes the NoCloud seed that configures a local VM's
// first boot from a cloud image: an ISO 9660 image labelled "cidata" holding
// user-data (the machine's user, its SSH key, the host name), meta-data (the
// instance ID and host name) and, when asked for, network-config (version 2:
// NICs matched by MAC address, with DHCP or static addresses).
package cloudinit

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"

	"golang.org/x/crypto/ssh"
	"gopkg.in/yaml.v3"
)

// Names in the seed.
const (
	// VolumeLabel is the label cloud-init's NoCloud data source looks for.
	VolumeLabel = "cidata"
	// UserDataFile is the #cloud-config user data.
	UserDataFile = "user-data"
	// MetaDataFile is the instance's meta data.
	MetaDataFile = "meta-data"
	// NetworkConfigFile is the network configuration, version 2.
	NetworkConfigFile = "network-config"
)

// Config is what a machine's first boot sets up.
type Config struct {
	// Hostname is the machine's host name (letters, digits and hyphens).
	Hostname string
	// User is the account made for the machine's SSH login, with
	// passwordless sudo and no password. Its primary group has its name;
	// when the image has that group already (docker.io's "docker"), the
	// user joins it.
	User string
	// SSHAuthorizedKeys are the public keys (authorized_keys lines) that
	// log in as User.
	SSHAuthorizedKeys []string
	// NICs, when not empty, replace cloud-init's default network (DHCP on
	// the first NIC) with this configuration; list every NIC that should
	// come up, the first one too.
	NICs []NIC
}

// NIC is one network interface of the machine.
type NIC struct {
	// Name is the interface's name in the guest; cloud-init renames the
	// NIC with MAC to it (set-name). Empty means "eth<index>".
	Name string
	// MAC is the NIC's hardware address, as given to the hypervisor.
	MAC string
	// DHCP asks for an IPv4 address by DHCP.
	DHCP bool
	// Addresses are static addresses with their prefix length, for example
	// 192.168.76.2/24 on a network that joins the local VMs.
	Addresses []netip.Prefix
}

// userData is the #cloud-config document; field order is output order.
type userData struct {
	Hostname       string `yaml:"hostname"`
	ManageEtcHosts bool   `yaml:"manage_etc_hosts"`
	// Locale C.UTF-8 exists on every image; without it cloud-init on a
	// minimal Debian image tries a locale that is not generated and ends
	// in "status: error".
	Locale         string     `yaml:"locale"`
	SSHPwauth      bool       `yaml:"ssh_pwauth"`
	DisableRoot    bool       `yaml:"disable_root"`
	PackageUpdate  bool       `yaml:"package_update"`
	PackageUpgrade bool       `yaml:"package_upgrade"`
	Users          []userSpec `yaml:"users"`
}

type userSpec struct {
	Name string `yaml:"name"`
	// PrimaryGroup and Groups both name the user's own group: useradd
	// fails on a group of the user's name that the image already has
	// (user "docker" on an image with docker.io, whose group is "docker"),
	// unless it is given as the primary group; and cloud-init creates a
	// missing primary group only when it is also listed in groups.
	PrimaryGroup      string   `yaml:"primary_group"`
	Groups            []string `yaml:"groups"`
	Shell             string   `yaml:"shell"`
	Sudo              quoted   `yaml:"sudo"`
	LockPasswd        bool     `yaml:"lock_passwd"`
	SSHAuthorizedKeys []string `yaml:"ssh_authorized_keys"`
}

type metaData struct {
	InstanceID    string `yaml:"instance-id"`
	LocalHostname string `yaml:"local-hostname"`
}

type networkConfig struct {
	Version   int                 `yaml:"version"`
	Ethernets map[string]ethernet `yaml:"ethernets"` // yaml.v3 sorts map keys
}

type ethernet struct {
	Match     match    `yaml:"match"`
	SetName   string   `yaml:"set-name"`
	DHCP4     bool     `yaml:"dhcp4"`
	Addresses []string `yaml:"addresses,omitempty"`
}

type match struct {
	MACAddress quoted `yaml:"macaddress"`
}

// quoted is a string written in double quotes: a MAC address of digits
// only would otherwise be a base-60 number to YAML 1.1 readers (PyYAML, so
// cloud-init), and a sudo rule reads better quoted.
type quoted string

// MarshalYAML writes q double-quoted.
func (q quoted) MarshalYAML() (any, error) {
	return &yaml.Node{Kind: yaml.ScalarNode, Style: yaml.DoubleQuotedStyle, Value: string(q)}, nil
}

var (
	hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	userRE     = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	ifnameRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,14}$`)
)

// Validate checks the config, naming the first problem.
func (c Config) Validate() error {
	if !hostnameRE.MatchString(c.Hostname) {
		return fmt.Errorf("host name %q: want letters, digits and inner hyphens, at most 63", c.Hostname)
	}
	if !userRE.MatchString(c.User) {
		return fmt.Errorf("user %q: want lower-case letters, digits, '_' and '-', starting with a letter or '_'", c.User)
	}
	if len(c.SSHAuthorizedKeys) == 0 {
		return errors.New("no SSH public key for the machine's user")
	}
	for _, k := range c.SSHAuthorizedKeys {
		k = strings.TrimSpace(k)
		if _, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(k)); err != nil || len(rest) != 0 || strings.ContainsAny(k, "\r\n") {
			return fmt.Errorf("SSH public key %q: want one authorized_keys line", k)
		}
	}
	names := map[string]bool{}
	macs := map[string]bool{}
	for i, n := range c.NICs {
		name := n.name(i)
		if !ifnameRE.MatchString(name) {
			return fmt.Errorf("NIC %d: name %q: want a letter then letters, digits, '_' or '-', at most 15", i, name)
		}
		hw, err := net.ParseMAC(n.MAC)
		if err != nil || len(hw) != 6 {
			return fmt.Errorf("NIC %s: MAC address %q: want six bytes like 52:54:00:12:34:56", name, n.MAC)
		}
		if names[name] || macs[hw.String()] {
			return fmt.Errorf("NIC %s (%s): the name or MAC address is used twice", name, hw)
		}
		names[name], macs[hw.String()] = true, true
		if !n.DHCP && len(n.Addresses) == 0 {
			return fmt.Errorf("NIC %s: neither DHCP nor a static address", name)
		}
		for _, a := range n.Addresses {
			if !a.IsValid() {
				return fmt.Errorf("NIC %s: an invalid address", name)
			}
		}
	}
	return nil
}

// name returns the NIC's name, defaulting to eth<i>.
func (n NIC) name(i int) string {
	if n.Name != "" {
		return n.Name
	}
	return fmt.Sprintf("eth%d", i)
}

// UserData renders user-data, a #cloud-config document.
func (c Config) UserData() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	keys := make([]string, len(c.SSHAuthorizedKeys))
	for i, k := range c.SSHAuthorizedKeys {
		keys[i] = strings.TrimSpace(k)
	}
	doc := userData{
		Hostname:       c.Hostname,
		ManageEtcHosts: true,
		Locale:         "C.UTF-8",
		SSHPwauth:      false,
		DisableRoot:    true,
		PackageUpdate:  false,
		PackageUpgrade: false,
		Users: []userSpec{{
			Name:              c.User,
			PrimaryGroup:      c.User,
			Groups:            []string{c.User},
			Shell:             "/bin/bash",
			Sudo:              quoted("ALL=(ALL) NOPASSWD:ALL"),
			LockPasswd:        true,
			SSHAuthorizedKeys: keys,
		}},
	}
	return render("#cloud-config\n", doc)
}

// NetworkConfig renders network-config (version 2), or nil when the
// config has no NICs and cloud-init's default network applies.
func (c Config) NetworkConfig() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if len(c.NICs) == 0 {
		return nil, nil
	}
	doc := networkConfig{Version: 2, Ethernets: map[string]ethernet{}}
	for i, n := range c.NICs {
		hw, _ := net.ParseMAC(n.MAC) // Validate checked it
		e := ethernet{Match: match{MACAddress: quoted(hw.String())}, SetName: n.name(i), DHCP4: n.DHCP}
		for _, a := range n.Addresses {
			e.Addresses = append(e.Addresses, a.String())
		}
		doc.Ethernets[n.name(i)] = e
	}
	return render("", doc)
}

// MetaData renders meta-data. Its instance-id is InstanceID: the same
// config keeps it across boots (cloud-init does not redo the first boot,
// so the SSH host keys stay), a changed one makes cloud-init apply it.
func (c Config) MetaData() ([]byte, error) {
	id, err := c.InstanceID()
	if err != nil {
		return nil, err
	}
	return render("", metaData{InstanceID: id, LocalHostname: c.Hostname})
}

// InstanceID is "<hostname>-<12 hex digits>", the digits from a hash of
// user-data and network-config.
func (c Config) InstanceID() (string, error) {
	ud, err := c.UserData()
	if err != nil {
		return "", err
	}
	nc, err := c.NetworkConfig()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write(ud)
	h.Write([]byte{0})
	h.Write(nc)
	return c.Hostname + "-" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

// render marshals doc as YAML after header.
func render(header string, doc any) ([]byte, error) {
	var b strings.Builder
	b.WriteString(header)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("render cloud-init data: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render cloud-init data: %w", err)
	}
	return []byte(b.String()), nil
}

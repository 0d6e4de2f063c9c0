package virtualbox

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"strings"
)

// NetworksConf is where VirtualBox on Linux, macOS and Solaris reads the
// ranges host-only networks may use (since 6.1.28).
const NetworksConf = "/etc/vbox/networks.conf"

// defaultAllowed is what VirtualBox allows without a networks.conf.
var defaultAllowed = []netip.Prefix{netip.MustParsePrefix("192.168.56.0/21")}

// AllowedRanges reads the host-only ranges VirtualBox allows from the
// networks.conf at path: the prefixes on its lines that start with "*"
// ("* 10.0.0.0/8 192.168.0.0/16", one or more lines); without the file,
// VirtualBox's default 192.168.56.0/21. from says where they came from.
func AllowedRanges(path string) (allowed []netip.Prefix, from string, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return defaultAllowed, "VirtualBox's default, as " + path + " does not exist", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", path, err)
	}
	for line := range strings.Lines(string(data)) {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "*" {
			continue
		}
		for _, f := range fields[1:] {
			if p, err := netip.ParsePrefix(f); err == nil {
				allowed = append(allowed, p.Masked())
			}
		}
	}
	return allowed, path, nil
}

// checkAllowed checks that the network of cidr lies inside a range
// VirtualBox allows, before anything is created: VirtualBox would refuse
// the interface's address with E_ACCESSDENIED. The error names the line
// to add to networks.conf.
func checkAllowed(cidr netip.Prefix, path string) error {
	allowed, from, err := AllowedRanges(path)
	if err != nil {
		return err
	}
	network := cidr.Masked()
	for _, a := range allowed {
		if a.Addr().Is4() && a.Bits() <= network.Bits() && a.Contains(network.Addr()) {
			return nil
		}
	}
	ranges := make([]string, len(allowed))
	for i, a := range allowed {
		ranges[i] = a.String()
	}
	if len(ranges) == 0 {
		ranges = []string{"none"}
	}
	return fmt.Errorf("--%s %s is outside the host-only ranges VirtualBox allows (%s; %s): add the line \"* %s\" to %s (as root), or give a CIDR inside them",
		FlagHostOnlyCIDR, cidr, strings.Join(ranges, " "), from, network, path)
}

// networksConfApplies reports whether VirtualBox checks networks.conf on
// the host: on Linux, macOS and Solaris since 6.1.28.
func networksConfApplies(goos string, v Version) bool {
	return goos != "windows" && v.AtLeast(6, 1, 28)
}

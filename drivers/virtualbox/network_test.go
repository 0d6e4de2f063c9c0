package virtualbox

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestLayout(t *testing.T) {
	for _, tc := range []struct {
		cidr, server, lower, upper, first, last string
		n                                       int
	}{
		{"192.168.59.1/24", "192.168.59.2", "192.168.59.100", "192.168.59.254", "192.168.59.3", "192.168.59.99", 97},
		{"192.168.59.5/24", "192.168.59.1", "192.168.59.100", "192.168.59.254", "192.168.59.2", "192.168.59.99", 97},
		{"192.168.56.1/21", "192.168.56.2", "192.168.63.100", "192.168.63.254", "192.168.56.3", "192.168.63.99", 1889},
		{"192.168.59.1/26", "192.168.59.2", "192.168.59.32", "192.168.59.62", "192.168.59.3", "192.168.59.31", 29},
		{"10.0.0.1/8", "10.0.0.2", "10.255.255.100", "10.255.255.254", "10.0.0.3", "10.0.16.2", 4096},
	} {
		t.Run(tc.cidr, func(t *testing.T) {
			p := layout(netip.MustParsePrefix(tc.cidr))
			if p.server.String() != tc.server || p.lower.String() != tc.lower || p.upper.String() != tc.upper ||
				len(p.static) != tc.n || p.static[0] != tc.first || p.static[len(p.static)-1] != tc.last {
				t.Errorf("server %s range %s-%s, %d static %s..%s", p.server, p.lower, p.upper, len(p.static), p.static[0], p.static[len(p.static)-1])
			}
			if slices.Contains(p.static, netip.MustParsePrefix(tc.cidr).Addr().String()) {
				t.Error("the host's address is handed out")
			}
		})
	}
}

// TestEnsure: the host-only network for a CIDR is found or made, its DHCP
// server added, enabled or disabled as asked; the commands are exact.
func TestEnsure(t *testing.T) {
	cidr := netip.MustParsePrefix("192.168.59.1/24")
	for _, tc := range []struct {
		name    string
		version string
		goos    string
		noDHCP  bool
		setup   func(f *fakeVBox)
		want    []string
		host    HostOnly
		static  int
		err     string
		note    string
	}{
		{name: "new interface", version: "6.1.50r161033", want: []string{
			"list hostonlyifs", "hostonlyif create", "hostonlyif ipconfig vboxnet0 --ip 192.168.59.1 --netmask 255.255.255.0", "list dhcpservers",
			"dhcpserver add --netname HostInterfaceNetworking-vboxnet0 --ip 192.168.59.2 --netmask 255.255.255.0 --lowerip 192.168.59.100 --upperip 192.168.59.254 --enable"},
			host: HostOnly{Kind: KindInterface, Name: "vboxnet0", Created: true, DHCPAdded: true}, static: 97},
		{name: "existing interface, its DHCP server off", version: "7.0.14r161095",
			setup: func(f *fakeVBox) {
				f.ifs = ParseHostOnlyIfs(readFile(f.t, "hostonlyifs-6.1.txt"))
				f.dhcp = ParseDHCPServers(readFile(f.t, "dhcpservers-6.1.txt"))
			},
			want: []string{"list hostonlyifs", "list dhcpservers", "dhcpserver modify --netname HostInterfaceNetworking-vboxnet1 --enable"},
			host: HostOnly{Kind: KindInterface, Name: "vboxnet1"}, static: 97},
		{name: "existing interface and DHCP server of another layout", version: "7.0.14r161095",
			setup: func(f *fakeVBox) {
				f.ifs = ParseHostOnlyIfs(readFile(f.t, "hostonlyifs-6.1.txt"))
				f.dhcp = []DHCPServer{{NetworkName: "HostInterfaceNetworking-vboxnet1", Server: netip.MustParseAddr("192.168.59.17"),
					Lower: netip.MustParseAddr("192.168.59.50"), Upper: netip.MustParseAddr("192.168.59.254"), Mask: "255.255.255.0", Enabled: true}}
			},
			want: []string{"list hostonlyifs", "list dhcpservers"},
			host: HostOnly{Kind: KindInterface, Name: "vboxnet1"}, static: 46},
		{name: "no DHCP", version: "7.0.14r161095", noDHCP: true,
			setup: func(f *fakeVBox) {
				f.ifs = ParseHostOnlyIfs(readFile(f.t, "hostonlyifs-6.1.txt"))
				f.dhcp = []DHCPServer{{NetworkName: "HostInterfaceNetworking-vboxnet1", Server: netip.MustParseAddr("192.168.59.2"),
					Lower: netip.MustParseAddr("192.168.59.100"), Upper: netip.MustParseAddr("192.168.59.254"), Mask: "255.255.255.0", Enabled: true}}
			},
			want: []string{"list hostonlyifs", "list dhcpservers", "dhcpserver modify --netname HostInterfaceNetworking-vboxnet1 --disable"},
			host: HostOnly{Kind: KindInterface, Name: "vboxnet1"}, static: 97},
		{name: "no DHCP, none there", version: "6.1.50r161033", noDHCP: true,
			want: []string{"list hostonlyifs", "hostonlyif create", "hostonlyif ipconfig vboxnet0 --ip 192.168.59.1 --netmask 255.255.255.0", "list dhcpservers"},
			host: HostOnly{Kind: KindInterface, Name: "vboxnet0", Created: true}, static: 97},
		{name: "refused by networks.conf", version: "6.1.50r161033",
			setup: func(f *fakeVBox) { f.failWith("hostonlyif ipconfig", "error-accessdenied.txt") },
			want:  []string{"list hostonlyifs", "hostonlyif create", "hostonlyif ipconfig vboxnet0 --ip 192.168.59.1 --netmask 255.255.255.0"},
			host:  HostOnly{Kind: KindInterface, Name: "vboxnet0", Created: true},
			err:   `VirtualBox refused 192.168.59.1/24 for the host-only interface vboxnet0 (E_ACCESSDENIED): add the line "* 192.168.59.0/24" to /etc/vbox/networks.conf (as root)`},
		{name: "macOS, new network", version: "7.0.14r161095", goos: "darwin", want: []string{
			"list hostonlynets", "hostonlynet add --name machine-192.168.59.0-24 --netmask 255.255.255.0 --lower-ip 192.168.59.100 --upper-ip 192.168.59.254 --enable"},
			host: HostOnly{Kind: KindNetwork, Name: "machine-192.168.59.0-24", Created: true}, static: 97},
		{name: "macOS, no DHCP asked", version: "7.0.14r161095", goos: "darwin", noDHCP: true, want: []string{
			"list hostonlynets", "hostonlynet add --name machine-192.168.59.0-24 --netmask 255.255.255.0 --lower-ip 192.168.59.100 --upper-ip 192.168.59.254 --enable"},
			host: HostOnly{Kind: KindNetwork, Name: "machine-192.168.59.0-24", Created: true}, static: 97,
			note: "--virtualbox-hostonly-no-dhcp does nothing on VirtualBox 7's host-only networks (macOS)"},
		{name: "macOS, existing network", version: "7.0.14r161095", goos: "darwin",
			setup: func(f *fakeVBox) {
				f.nets = []HostOnlyNet{{Name: "HostNetwork", Enabled: true, Mask: "255.255.255.0", Lower: netip.MustParseAddr("192.168.59.2"), Upper: netip.MustParseAddr("192.168.59.199")}}
			},
			want: []string{"list hostonlynets"},
			host: HostOnly{Kind: KindNetwork, Name: "HostNetwork"}, static: 0},
		{name: "macOS before 7", version: "6.1.50r161033", goos: "darwin", want: []string{
			"list hostonlyifs", "hostonlyif create", "hostonlyif ipconfig vboxnet0 --ip 192.168.59.1 --netmask 255.255.255.0", "list dhcpservers",
			"dhcpserver add --netname HostInterfaceNetworking-vboxnet0 --ip 192.168.59.2 --netmask 255.255.255.0 --lowerip 192.168.59.100 --upperip 192.168.59.254 --enable"},
			host: HostOnly{Kind: KindInterface, Name: "vboxnet0", Created: true, DHCPAdded: true}, static: 97},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, tc.version)
			if tc.goos != "" {
				h.goos = tc.goos
			}
			if tc.setup != nil {
				tc.setup(h.fake)
			}
			v, _ := ParseVersion(tc.version)
			var notes []string
			n := network{vbm: h.fake, goos: h.goos, version: v, networksConf: NetworksConf, say: func(s string) { notes = append(notes, s) }}
			var got HostOnly
			p, err := n.ensure(t.Context(), cidr, tc.noDHCP, &got)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") {
					t.Errorf("err = %v, want one line with %q", err, tc.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			var cmds []string
			for _, c := range h.fake.calls {
				cmds = append(cmds, strings.Join(c, " "))
			}
			if !slices.Equal(cmds, tc.want) {
				t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(cmds, "\n"), strings.Join(tc.want, "\n"))
			}
			if got != tc.host {
				t.Errorf("host-only %+v, want %+v", got, tc.host)
			}
			if got := strings.Join(notes, "\n"); tc.note != "" && !strings.Contains(got, tc.note) || tc.note == "" && got != "" {
				t.Errorf("notes %q, want %q", got, tc.note)
			}
			if tc.err == "" && len(p.static) != tc.static {
				t.Errorf("%d static addresses, want %d", len(p.static), tc.static)
			}
		})
	}
}

func TestAllowedRanges(t *testing.T) {
	got, from, err := AllowedRanges("testdata/networks.conf")
	if err != nil || from != "testdata/networks.conf" || len(got) != 3 || got[0].String() != "10.0.0.0/8" || got[1].String() != "192.168.0.0/16" {
		t.Errorf("= %v, %q, %v", got, from, err)
	}
	got, from, err = AllowedRanges("testdata/none.conf")
	if err != nil || len(got) != 1 || got[0].String() != "192.168.56.0/21" || !strings.Contains(from, "default") {
		t.Errorf("without the file = %v, %q, %v", got, from, err)
	}
	for cidr, ok := range map[string]bool{"192.168.56.1/24": true, "192.168.63.1/24": true, "192.168.64.1/24": false, "192.168.56.1/20": false, "192.168.99.1/24": false} {
		if err := checkAllowed(netip.MustParsePrefix(cidr), "testdata/none.conf"); (err == nil) != ok {
			t.Errorf("%s: %v, want allowed %v", cidr, err, ok)
		}
	}
	if networksConfApplies("windows", Version{Major: 7}) || networksConfApplies("linux", Version{Major: 6, Minor: 1, Patch: 26}) || !networksConfApplies("darwin", Version{Major: 6, Minor: 1, Patch: 28}) {
		t.Error("networksConfApplies")
	}
}

// TestHostInterfaces: the host's interfaces come with their addresses and
// flags; every host has its loopback.
func TestHostInterfaces(t *testing.T) {
	ifs, err := hostInterfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Loop && slices.Contains(i.Addrs, netip.MustParsePrefix("127.0.0.1/8")) {
			return
		}
	}
	t.Errorf("no loopback with 127.0.0.1/8 among %+v", ifs)
}

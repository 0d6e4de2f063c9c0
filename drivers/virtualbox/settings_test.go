package virtualbox

import (
	"errors"
	"strings"
	"testing"

	"github.com/machine-cli/machine/drivers"
)

// TestFlags: docker-machine's flags with its VIRTUALBOX_* variables and
// defaults, plus the image flags.
func TestFlags(t *testing.T) {
	want := map[string][2]string{ // flag: variable, default
		FlagMemory:          {"VIRTUALBOX_MEMORY_SIZE", "1024"},
		FlagCPUCount:        {"VIRTUALBOX_CPU_COUNT", "1"},
		FlagDiskSize:        {"VIRTUALBOX_DISK_SIZE", "20000"},
		FlagBoot2DockerURL:  {"VIRTUALBOX_BOOT2DOCKER_URL", ""},
		FlagImportVM:        {"VIRTUALBOX_BOOT2DOCKER_IMPORT_VM", ""},
		FlagHostDNSResolver: {"VIRTUALBOX_HOST_DNS_RESOLVER", ""},
		FlagNATNicType:      {"VIRTUALBOX_NAT_NICTYPE", "82540EM"},
		FlagHostOnlyCIDR:    {"VIRTUALBOX_HOSTONLY_CIDR", "192.168.59.1/24"},
		FlagHostOnlyNicType: {"VIRTUALBOX_HOSTONLY_NIC_TYPE", "82540EM"},
		FlagHostOnlyPromisc: {"VIRTUALBOX_HOSTONLY_NIC_PROMISC", "deny"},
		FlagUIType:          {"VIRTUALBOX_UI_TYPE", "headless"},
		FlagHostOnlyNoDHCP:  {"VIRTUALBOX_HOSTONLY_NO_DHCP", ""},
		FlagNoShare:         {"VIRTUALBOX_NO_SHARE", ""},
		FlagNoDNSProxy:      {"VIRTUALBOX_NO_DNS_PROXY", ""},
		FlagDNSProxy:        {"VIRTUALBOX_DNS_PROXY", ""},
		FlagNoVTXCheck:      {"VIRTUALBOX_NO_VTX_CHECK", ""},
		FlagShareFolder:     {"VIRTUALBOX_SHARE_FOLDER", ""},
		FlagImageURL:        {"VIRTUALBOX_IMAGE_URL", ""},
		FlagImageChecksum:   {"VIRTUALBOX_IMAGE_CHECKSUM", ""},
	}
	flags := Flags()
	if len(flags) != len(want) {
		t.Errorf("%d flags, want %d", len(flags), len(want))
	}
	for _, f := range flags {
		w, ok := want[f.Name]
		if !ok {
			t.Errorf("unexpected flag %s", f.Name)
			continue
		}
		if f.EnvVar != w[0] || f.Default != w[1] || f.Usage == "" {
			t.Errorf("flag %s: %s %q, want %s %q", f.Name, f.EnvVar, f.Default, w[0], w[1])
		}
	}
}

func TestSettingsFromFlags(t *testing.T) {
	defaults := Settings{MemoryMB: 1024, CPUs: 1, DiskSizeMB: 20000, NATNicType: "82540EM", HostOnlyCIDR: "192.168.59.1/24",
		HostOnlyNicType: "82540EM", HostOnlyPromisc: "deny", UIType: "headless", DNSProxy: true}
	for _, tc := range []struct {
		name string
		opts drivers.Options
		want func(*Settings)
		errs []string
	}{
		{name: "defaults", opts: drivers.Options{}, want: func(*Settings) {}},
		{name: "values, as JSON brings them", opts: drivers.Options{
			FlagMemory: float64(4096), FlagCPUCount: -1, FlagDiskSize: "40000", FlagHostOnlyCIDR: "192.168.56.1/24",
			FlagNATNicType: "VIRTIO", FlagHostOnlyNicType: "am79c973", FlagHostOnlyPromisc: "allow-vms", FlagUIType: "gui",
			FlagHostOnlyNoDHCP: true, FlagNoShare: true, FlagNoDNSProxy: true, FlagHostDNSResolver: "true", FlagNoVTXCheck: true,
			FlagShareFolder: `C:\Projects:projects`, FlagImageURL: "https://example.test/d.vmdk", FlagImageChecksum: "sha256:ab"},
			want: func(s *Settings) {
				*s = Settings{MemoryMB: 4096, CPUs: -1, DiskSizeMB: 40000, HostOnlyCIDR: "192.168.56.1/24", NATNicType: "virtio",
					HostOnlyNicType: "Am79C973", HostOnlyPromisc: "allow-vms", UIType: "gui", HostOnlyNoDHCP: true, NoShare: true,
					HostDNSResolver: true, NoVTXCheck: true, ShareFolder: `C:\Projects:projects`,
					ImageURL: "https://example.test/d.vmdk", ImageChecksum: "sha256:ab"}
			}},
		{name: "docker-machine 0.5's --virtualbox-dns-proxy", opts: drivers.Options{FlagDNSProxy: true}, want: func(*Settings) {}},
		{name: "import", opts: drivers.Options{FlagImportVM: "old-vm"}, want: func(s *Settings) { s.ImportVM = "old-vm" }},
		{name: "every invalid value", opts: drivers.Options{
			FlagMemory: 64, FlagCPUCount: 0, FlagDiskSize: 100, FlagNATNicType: "e1000", FlagHostOnlyPromisc: "all",
			FlagUIType: "vnc", FlagHostOnlyCIDR: "192.168.59.0/24", FlagShareFolder: "/srv", FlagImageURL: "ftp://x/y"},
			errs: []string{"--virtualbox-memory 64: give at least 256 (MB)", "--virtualbox-cpu-count 0: give at least 1, or -1",
				"--virtualbox-disk-size 100: give at least 1024 (MB)", `--virtualbox-nat-nictype "e1000": use Am79C970A, Am79C973`,
				`--virtualbox-hostonly-nicpromisc "all": use deny, allow-vms, allow-all`, `--virtualbox-ui-type "vnc": use headless, gui, sdl, separate`,
				`--virtualbox-hostonly-cidr: "192.168.59.0/24" is the network's address: give the host's address on it, such as 192.168.59.1/24`,
				`--virtualbox-share-folder "/srv": give DIR:NAME`, `--virtualbox-image-url "ftp://x/y": give an http(s) URL or a local path`}},
		{name: "CIDRs", opts: drivers.Options{FlagHostOnlyCIDR: "fd00::1/64"}, errs: []string{"give an IPv4 CIDR"}},
		{name: "relative share", opts: drivers.Options{FlagShareFolder: "src:src"}, errs: []string{`--virtualbox-share-folder "src:src": give the directory's absolute path`}},
		{name: "Windows share", opts: drivers.Options{FlagShareFolder: `\\?\c:\Users:c/Users`}, want: func(s *Settings) { s.ShareFolder = `\\?\c:\Users:c/Users` }},
		{name: "CIDR broadcast", opts: drivers.Options{FlagHostOnlyCIDR: "192.168.59.255/24"}, errs: []string{"broadcast address"}},
		{name: "CIDR not one", opts: drivers.Options{FlagHostOnlyCIDR: "192.168.59.1"}, errs: []string{`"192.168.59.1" is not a CIDR`}},
		{name: "DNS proxy both ways", opts: drivers.Options{FlagDNSProxy: true, FlagNoDNSProxy: true}, errs: []string{"contradict each other"}},
		{name: "import and image", opts: drivers.Options{FlagImportVM: "old", FlagImageURL: "/i.raw"}, errs: []string{"both name the machine's disk"}},
		{name: "boot2docker", opts: drivers.Options{FlagBoot2DockerURL: "https://github.com/boot2docker/boot2docker/releases/download/v19.03.12/boot2docker.iso"},
			errs: []string{"boot2docker (its last release is from 2020) has no systemd, which machine's provisioner needs"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := SettingsFromFlags(tc.opts)
			if len(tc.errs) > 0 {
				if !errors.Is(err, drivers.ErrInvalidConfig) {
					t.Fatalf("err = %v, want ErrInvalidConfig", err)
				}
				for _, e := range tc.errs {
					if !strings.Contains(err.Error(), e) {
						t.Errorf("err lacks %q:\n%v", e, err)
					}
				}
				if len(tc.errs) == 1 && strings.Contains(err.Error(), "\n") {
					t.Errorf("err is not one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := defaults
			tc.want(&want)
			if s != want {
				t.Errorf("settings = %+v\nwant       %+v", s, want)
			}
		})
	}
}

func TestSplitShareFolder(t *testing.T) {
	for in, want := range map[string][2]string{
		"/srv/p:projects": {"/srv/p", "projects"}, `C:\Users:c/Users`: {`C:\Users`, "c/Users"}, "/x:": {"/x", ""},
	} {
		if dir, name, ok := SplitShareFolder(in); !ok || dir != want[0] || name != want[1] {
			t.Errorf("%q: %q %q %v", in, dir, name, ok)
		}
	}
	for goos, want := range map[string][2]string{"linux": {"/home", "hosthome"}, "darwin": {"/Users", "Users"}, "windows": {`C:\Users`, "c/Users"}} {
		if dir, name := DefaultShare(goos); dir != want[0] || name != want[1] {
			t.Errorf("%s: %s %s", goos, dir, name)
		}
	}
}

package virtualbox

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/internal/vmready"
	"github.com/machine-cli/machine/sshclient/sshtest"
)

// TestFormatMeDisk reads the disk back: it starts with the magic string,
// its tar archive holds .ssh (0700) and both key files (0600) with the
// key, within the 4 KiB boot2docker's automount copies out, and the image
// is a whole MiB of zeros after it.
func TestFormatMeDisk(t *testing.T) {
	for _, tc := range []struct{ name, key string }{
		{"ed25519", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG0r0x machine dev\n"},
		{"no final newline", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG0r0x machine dev"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			disk, err := FormatMeDisk(tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if len(disk) != mib {
				t.Errorf("disk is %d bytes, want %d", len(disk), mib)
			}
			if !bytes.HasPrefix(disk, []byte(FormatMeMagic)) {
				t.Errorf("disk starts %q, want %q", disk[:40], FormatMeMagic)
			}
			want := strings.TrimSuffix(tc.key, "\n") + "\n"
			type entry struct {
				mode int64
				typ  byte
				data string
			}
			wantEntries := map[string]entry{
				FormatMeMagic:           {0o644, tar.TypeReg, FormatMeMagic},
				".ssh/":                 {0o700, tar.TypeDir, ""},
				".ssh/authorized_keys":  {0o600, tar.TypeReg, want},
				".ssh/authorized_keys2": {0o600, tar.TypeReg, want},
			}
			// What boot2docker unpacks: the first 4 KiB.
			tr := tar.NewReader(bytes.NewReader(disk[:formatMeRead]))
			var names []string
			for {
				hdr, err := tr.Next()
				if err == io.EOF || (err != nil && len(names) == len(wantEntries)) {
					break
				}
				if err != nil {
					t.Fatalf("after %q: %v", names, err)
				}
				data, err := io.ReadAll(tr)
				if err != nil {
					t.Fatal(err)
				}
				names = append(names, hdr.Name)
				w, ok := wantEntries[hdr.Name]
				if !ok || hdr.Mode != w.mode || hdr.Typeflag != w.typ || string(data) != w.data {
					t.Errorf("entry %q: mode %o type %c data %q; want %+v", hdr.Name, hdr.Mode, hdr.Typeflag, data, w)
				}
			}
			if strings.Join(names, ",") != FormatMeMagic+",.ssh/,.ssh/authorized_keys,.ssh/authorized_keys2" {
				t.Errorf("entries %q", names)
			}
		})
	}
	t.Run("a key too long for boot2docker's 4 KiB", func(t *testing.T) {
		_, err := FormatMeDisk("ssh-rsa " + strings.Repeat("A", 2000))
		if err == nil || !strings.Contains(err.Error(), "more than the 4096 boot2docker reads") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestParseGuestIP(t *testing.T) {
	for _, tc := range []struct{ name, out, want string }{
		{"boot2docker eth1", `4: eth1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast state UP group default qlen 1000
    link/ether 08:00:27:a1:b2:c3 brd ff:ff:ff:ff:ff:ff
    inet 192.168.59.101/24 brd 192.168.59.255 scope global eth1
       valid_lft forever preferred_lft forever
    inet6 fe80::a00:27ff:fea1:b2c3/64 scope link
       valid_lft forever preferred_lft forever
`, "192.168.59.101"},
		{"no address yet", "4: eth1: <BROADCAST,MULTICAST,UP> mtu 1500\n    link/ether 08:00:27:a1:b2:c3 brd ff:ff:ff:ff:ff:ff\n    inet6 fe80::1/64 scope link\n", ""},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseGuestIP(tc.out)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("ParseGuestIP = %q, %v; want %q", got, ok, tc.want)
			}
		})
	}
}

// isoFile writes a stand-in boot2docker ISO (its bytes do not matter to
// VirtualBox's fake) and returns its path.
func isoFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "boot2docker.iso")
	if err := os.WriteFile(p, append([]byte("CD001"), make([]byte, 4096)...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCreateBoot2Docker: a boot2docker machine's VM boots the ISO (copied
// into the machine's directory) from its DVD with BIOS firmware, with a
// format-me disk and no seed, on a host-only network with DHCP and no
// static address; the commands of the create (failing at startvm) and of
// the Remove after it are golden, and Remove leaves nothing.
func TestCreateBoot2Docker(t *testing.T) {
	h := newHost(t, "7.0.14r161095")
	h.fake.failWith("startvm", "error-no-vmx.txt")
	d := h.driver(t, "dev")
	if err := d.SetConfigFromFlags(t.Context(), drivers.Options{FlagBoot2DockerURL: isoFile(t)}); err != nil {
		t.Fatal(err)
	}
	if err := d.PreCreateCheck(t.Context()); err != nil {
		t.Fatal(err)
	}
	err := d.Create(t.Context())
	if err == nil || !strings.Contains(err.Error(), "VT-x/AMD-V is not available (VERR_VMX_NO_VMX)") {
		t.Fatalf("create = %v", err)
	}
	golden(t, "create-boot2docker.golden", h.fake.rendered(d))
	if d.IPAddress != "" || exists(d.path(AddressFile)) || exists(d.path(SeedFile)) || exists(d.path(formatMeFile)) {
		t.Errorf("address %q; address file, seed or raw disk left: %v %v %v", d.IPAddress, exists(d.path(AddressFile)), exists(d.path(SeedFile)), exists(d.path(formatMeFile)))
	}
	if iso, err := os.ReadFile(d.path(ISOFile)); err != nil || !bytes.HasPrefix(iso, []byte("CD001")) {
		t.Errorf("the machine's ISO: %v", err)
	}
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	back := NewDriver().(*Driver)
	if err := json.Unmarshal(data, back); err != nil {
		t.Fatal(err)
	}
	h.wire(back)
	h.fake.reset()
	if err := back.Remove(t.Context()); err != nil {
		t.Fatal(err)
	}
	golden(t, "remove-boot2docker.golden", h.fake.rendered(back))
	if len(h.fake.vms) != 0 || len(h.fake.ifs) != 0 || len(h.fake.dhcp) != 0 {
		t.Errorf("left in VirtualBox: vms %v, interfaces %v, DHCP %v", h.fake.vms, h.fake.ifs, h.fake.dhcp)
	}
	left, _ := os.ReadDir(d.dir())
	for _, e := range left {
		if e.Name() != KeyFile && e.Name() != KeyFile+".pub" {
			t.Errorf("left in the machine's directory: %s", e.Name())
		}
	}
}

// TestBoot2DockerEndpoint: a boot2docker machine's address is read from
// the running guest each time, so its endpoint is not static; a stopped
// machine has none.
func TestBoot2DockerEndpoint(t *testing.T) {
	h := newHost(t, "7.0.14r161095")
	d := h.driver(t, "dev")
	if err := d.SetConfigFromFlags(t.Context(), drivers.Options{FlagBoot2DockerURL: "/isos/boot2docker.iso"}); err != nil {
		t.Fatal(err)
	}
	d.SSHPort, d.EnginePort, d.SSHKeyPath = 40022, 40376, d.path(KeyFile)
	h.fake.vms["dev"] = &fakeVM{name: "dev", state: "poweroff", cfg: filepath.Join(d.dir(), "dev", "dev.vbox")}
	guest := "192.168.59.101"
	d.readGuestIP = func(context.Context) (string, error) { return guest, nil }

	if _, err := d.GetEndpoint(t.Context()); err == nil || !strings.Contains(err.Error(), "dev is Stopped; its address comes from DHCP once it runs") {
		t.Errorf("endpoint of a stopped machine: %v", err)
	}
	h.fake.vms["dev"].state = "running"
	ep, err := d.GetEndpoint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := drivers.Endpoint{IP: guest, PrivateIP: guest, URL: "tcp://127.0.0.1:40376", SSHHostname: "127.0.0.1",
		SSHPort: 40022, SSHUser: "docker", SSHKeyPath: d.path(KeyFile), Static: false}
	if ep != want {
		t.Errorf("endpoint = %+v, want %+v", ep, want)
	}
	guest = "192.168.59.102" // DHCP gave another after a restart
	if ip, err := d.GetIP(t.Context()); err != nil || ip != guest {
		t.Errorf("GetIP = %q, %v; want %s", ip, err, guest)
	}
	d.readGuestIP = func(context.Context) (string, error) { return "", errNoGuestIP }
	if _, err := d.GetIP(t.Context()); !errors.Is(err, errNoGuestIP) {
		t.Errorf("GetIP without an address = %v", err)
	}
}

// TestBoot2DockerArm64: boot2docker's ISOs are x86-64; an arm64 host
// refuses the flag before anything is made.
func TestBoot2DockerArm64(t *testing.T) {
	h := newHost(t, "7.0.14r161095")
	d := h.driver(t, "dev")
	d.goarch = "arm64"
	if err := d.SetConfigFromFlags(t.Context(), drivers.Options{FlagBoot2DockerURL: "/isos/boot2docker.iso"}); err != nil {
		t.Fatal(err)
	}
	err := d.PreCreateCheck(t.Context())
	if !errors.Is(err, drivers.ErrInvalidConfig) || !strings.Contains(err.Error(), "boot2docker's ISOs are for x86-64 only and this host is arm64") {
		t.Fatalf("err = %v", err)
	}
}

// TestBoot2DockerGuestIPOverSSH: the wait after boot logs in without
// waiting for cloud-init (boot2docker has none), and the address is read
// with `ip addr show dev eth1` over SSH (an SSH server whose `ip` prints
// what boot2docker's does).
func TestBoot2DockerGuestIPOverSSH(t *testing.T) {
	bin := t.TempDir()
	ipScript := "#!/bin/sh\n[ \"$*\" = 'addr show dev eth1' ] || exit 1\ncat <<'X'\n4: eth1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast state UP\n    link/ether 08:00:27:a1:b2:c3 brd ff:ff:ff:ff:ff:ff\n    inet 192.168.59.101/24 brd 192.168.59.255 scope global eth1\nX\n"
	if err := os.WriteFile(filepath.Join(bin, "ip"), []byte(ipScript), 0o755); err != nil {
		t.Fatal(err)
	}
	srv := sshtest.NewServer(t, sshtest.Options{Env: []string{"PATH=" + bin + ":" + os.Getenv("PATH")}})
	h := newHost(t, "7.0.14r161095")
	d := h.driver(t, "dev")
	if err := d.SetConfigFromFlags(t.Context(), drivers.Options{FlagBoot2DockerURL: "/isos/boot2docker.iso"}); err != nil {
		t.Fatal(err)
	}
	d.SSHPort, d.SSHKeyPath = srv.Port, srv.ClientKeyPath
	d.HostOnly = HostOnly{Kind: KindInterface, Name: "vboxnet0"}
	if err := vmready.Wait(t.Context(), vmready.Config{Host: loopback, Port: d.SSHPort, User: SSHUser, KeyPath: d.SSHKeyPath,
		KnownHostsPath: d.path(knownHostsFile), Machine: "dev", LoginBound: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if err := d.waitGuestIP(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d.IPAddress != "192.168.59.101" {
		t.Errorf("address %q", d.IPAddress)
	}
	if cmds := strings.Join(srv.Commands(), "\n"); cmds != "ip addr show dev eth1" {
		t.Errorf("commands run: %q", cmds)
	}
	if !strings.Contains(h.notes.String(), "dev got 192.168.59.101 from the host-only interface vboxnet0") {
		t.Errorf("notes:\n%s", h.notes)
	}
}

// TestBoot2DockerISOUnverified: an ISO served without a checksum (as
// boot2docker's releases are) is fetched, said to be unverified, and
// copied into the machine's directory; a given checksum that does not
// match fails.
func TestBoot2DockerISOUnverified(t *testing.T) {
	iso := append([]byte("CD001"), make([]byte, 8192)...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v19.03.12/boot2docker.iso" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(iso)
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name, checksum, want string
	}{
		{name: "no checksum anywhere", want: "No checksum is published beside " + srv.URL + "/v19.03.12/boot2docker.iso"},
		{name: "a wrong checksum given", checksum: "sha256:" + strings.Repeat("0", 64), want: "checksum mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, "7.0.14r161095")
			d := h.driver(t, "dev")
			opts := drivers.Options{FlagBoot2DockerURL: srv.URL + "/v19.03.12/boot2docker.iso"}
			if tc.checksum != "" {
				opts[FlagImageChecksum] = tc.checksum
			}
			if err := d.SetConfigFromFlags(t.Context(), opts); err != nil {
				t.Fatal(err)
			}
			_, err := d.fetchISO(t.Context())
			if tc.checksum != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("fetch = %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(h.notes.String(), tc.want) {
				t.Errorf("notes lack %q:\n%s", tc.want, h.notes)
			}
			if got, err := os.ReadFile(d.path(ISOFile)); err != nil || !bytes.Equal(got, iso) {
				t.Errorf("the machine's ISO differs from the served one (%v)", err)
			}
		})
	}
}

package cloudinit

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// Two public keys (ssh-keygen -t ed25519 / -t rsa -b 1024, made for these
// tests; the private halves were deleted).
const (
	keyEd25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK1PHBxoVONIYqQ8tIrs6IRtVO5CIvtTdNxiq9g8Y/4S machine-dev"
	keyRSA     = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC1k6SUjts8MxpzOczo8Ad8zf55T8D3EtRXlqarZqi41C5thpMw9WDeMsBEjdAzox099W/d0qENAU3HeZNZ0PVp5k0MsCBR9YnYYztUhxnM/lhX60dGpE9/G05FqeeK0ZYKxQ+NERY0MQOtVxAepuPokJzpL4JMXCdKl2US7Dugmw== machine-dev-rsa"
)

// configs are the cases with golden files under testdata/<name>/.
var configs = []struct {
	name string
	cfg  Config
}{
	{"plain", Config{Hostname: "dev", User: "docker", SSHAuthorizedKeys: []string{keyEd25519}}},
	{"two keys", Config{Hostname: "dev-2", User: "machine", SSHAuthorizedKeys: []string{keyEd25519 + "\n", keyRSA}}},
	{"swarm network", Config{
		Hostname:          "q1",
		User:              "docker",
		SSHAuthorizedKeys: []string{keyEd25519},
		NICs: []NIC{
			{MAC: "52:54:00:12:34:56", DHCP: true},
			{Name: "swarm0", MAC: "52:54:00:AB:CD:EF", Addresses: []netip.Prefix{netip.MustParsePrefix("192.168.76.2/24")}},
		},
	}},
}

func TestRender(t *testing.T) {
	for _, tc := range configs {
		t.Run(tc.name, func(t *testing.T) {
			files, err := tc.cfg.Files()
			if err != nil {
				t.Fatal(err)
			}
			want := []string{MetaDataFile, UserDataFile}
			if len(tc.cfg.NICs) > 0 {
				want = append(want, NetworkConfigFile)
			}
			if len(files) != len(want) {
				t.Errorf("Files has %d files, want %v", len(files), want)
			}
			for _, name := range want {
				data, ok := files[name]
				if !ok {
					t.Fatalf("Files lacks %s", name)
				}
				var doc map[string]any
				if err := yaml.Unmarshal(data, &doc); err != nil {
					t.Errorf("%s is not YAML: %v", name, err)
				}
				golden(t, filepath.Join(strings.ReplaceAll(tc.name, " ", "-"), name), data)
			}
			if !bytes.HasPrefix(files[UserDataFile], []byte("#cloud-config\n")) {
				t.Error("user-data does not start with #cloud-config")
			}
		})
	}
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (-update rewrites it)\ngot:\n%s\nwant:\n%s", p, got, want)
	}
}

func TestInstanceID(t *testing.T) {
	base := configs[0].cfg
	id, err := base.InstanceID()
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := base.InstanceID(); again != id {
		t.Errorf("the same config gave instance IDs %s and %s", id, again)
	}
	if !strings.HasPrefix(id, "dev-") || len(id) != len("dev-")+12 {
		t.Errorf("InstanceID = %q, want dev-<12 hex digits>", id)
	}
	changed := map[string]Config{}
	c := base
	c.Hostname = "other"
	changed["host name"] = c
	c = base
	c.SSHAuthorizedKeys = []string{keyRSA}
	changed["key"] = c
	c = base
	c.User = "admin"
	changed["user"] = c
	c = base
	c.NICs = []NIC{{MAC: "52:54:00:00:00:01", DHCP: true}}
	changed["network"] = c
	for what, c := range changed {
		if other, err := c.InstanceID(); err != nil || other == id {
			t.Errorf("a changed %s kept the instance ID %s (%v)", what, id, err)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := configs[2].cfg
	for _, tc := range []struct {
		name   string
		change func(c *Config)
		errHas string
	}{
		{"an empty host name", func(c *Config) { c.Hostname = "" }, `host name ""`},
		{"an underscore in the host name", func(c *Config) { c.Hostname = "my_vm" }, `host name "my_vm"`},
		{"a trailing hyphen", func(c *Config) { c.Hostname = "vm-" }, `host name "vm-"`},
		{"a 64-character host name", func(c *Config) { c.Hostname = strings.Repeat("a", 64) }, "at most 63"},
		{"an upper-case user", func(c *Config) { c.User = "Docker" }, `user "Docker"`},
		{"root-like user with a space", func(c *Config) { c.User = "a b" }, `user "a b"`},
		{"no key", func(c *Config) { c.SSHAuthorizedKeys = nil }, "no SSH public key"},
		{"a private key", func(c *Config) { c.SSHAuthorizedKeys = []string{"-----BEGIN OPENSSH PRIVATE KEY-----"} }, "want one authorized_keys line"},
		{"two keys in one string", func(c *Config) { c.SSHAuthorizedKeys = []string{keyEd25519 + "\n" + keyRSA} }, "want one authorized_keys line"},
		{"a bad MAC", func(c *Config) { c.NICs = []NIC{{MAC: "52:54:00", DHCP: true}} }, `MAC address "52:54:00"`},
		{"an 8-byte MAC", func(c *Config) { c.NICs = []NIC{{MAC: "52:54:00:00:00:00:00:01", DHCP: true}} }, "want six bytes"},
		{"a MAC used twice", func(c *Config) {
			c.NICs = []NIC{{MAC: "52:54:00:00:00:01", DHCP: true}, {MAC: "52:54:00:00:00:01", DHCP: true}}
		}, "used twice"},
		{"a name used twice", func(c *Config) {
			c.NICs = []NIC{{Name: "eth1", MAC: "52:54:00:00:00:01", DHCP: true}, {MAC: "52:54:00:00:00:02", DHCP: true}}
		}, "used twice"},
		{"a bad NIC name", func(c *Config) { c.NICs = []NIC{{Name: "0bad", MAC: "52:54:00:00:00:01", DHCP: true}} }, `name "0bad"`},
		{"a NIC without addresses", func(c *Config) { c.NICs = []NIC{{MAC: "52:54:00:00:00:01"}} }, "neither DHCP nor a static address"},
		{"an invalid address", func(c *Config) { c.NICs = []NIC{{MAC: "52:54:00:00:00:01", Addresses: []netip.Prefix{{}}}} }, "an invalid address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			c.NICs = append([]NIC(nil), ok.NICs...)
			tc.change(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("Validate = %v, want an error with %q", err, tc.errHas)
			}
			if _, ferr := c.Files(); ferr == nil {
				t.Error("Files rendered an invalid config")
			}
			if werr := WriteSeed(filepath.Join(t.TempDir(), "seed.iso"), c); werr == nil {
				t.Error("WriteSeed wrote an invalid config")
			}
		})
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("the swarm config: %v", err)
	}
}

// readISO returns the files and the volume label of the ISO at p, as
// go-diskfs reads it.
func readISO(t *testing.T, p string) (map[string][]byte, string) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := iso9660.Read(file.New(f, true), fi.Size(), 0, 0)
	if err != nil {
		t.Fatalf("go-diskfs reads %s: %v", p, err)
	}
	entries, err := fsys.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		data, err := fsys.ReadFile(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = data
	}
	return files, fsys.Label()
}

// pvdLabel reads the volume identifier from the primary volume descriptor
// (sector 16, bytes 40-71). go-diskfs pads it with NULs where ECMA-119 has
// spaces; blkid, which cloud-init asks for LABEL=cidata, reads both.
func pvdLabel(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	pvd := data[16*2048:]
	if pvd[0] != 1 || string(pvd[1:6]) != "CD001" {
		t.Fatalf("no primary volume descriptor at sector 16: % x", pvd[:8])
	}
	return strings.TrimRight(string(pvd[40:72]), " \x00")
}

// blkid probes the ISO at p as cloud-init's NoCloud source finds its seed
// (blkid -t TYPE=iso9660 / LABEL=cidata) and returns its type and label.
func blkid(t *testing.T, p string) (typ, label string) {
	t.Helper()
	out, err := exec.Command("blkid", "-p", "-o", "export", p).CombinedOutput()
	if err != nil {
		t.Fatalf("blkid -p %s: %v\n%s", p, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "TYPE="); ok {
			typ = v
		}
		if v, ok := strings.CutPrefix(line, "LABEL="); ok {
			label = v
		}
	}
	return typ, label
}

// xorrisoExtract extracts the ISO at p with xorriso (Rock Ridge names), an
// ISO reader independent of go-diskfs.
func xorrisoExtract(t *testing.T, p string) map[string][]byte {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command("xorriso", "-osirrox", "on", "-indev", p, "-extract", "/", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xorriso (scripts/ensure-deps.sh installs it): %v\n%s", err, msg)
	}
	files := map[string][]byte{}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = data
	}
	return files
}

func TestWriteSeed(t *testing.T) {
	for _, tc := range configs {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "seed.iso")
			if err := WriteSeed(p, tc.cfg); err != nil {
				t.Fatal(err)
			}
			want, err := tc.cfg.Files()
			if err != nil {
				t.Fatal(err)
			}
			got, label := readISO(t, p)
			if strings.TrimRight(label, "\x00") != VolumeLabel {
				t.Errorf("go-diskfs reads the label %q, want %q", label, VolumeLabel)
			}
			if typ, l := blkid(t, p); typ != "iso9660" || l != VolumeLabel {
				t.Errorf("blkid finds a %q labelled %q, want an iso9660 labelled %q", typ, l, VolumeLabel)
			}
			if l := pvdLabel(t, p); l != VolumeLabel {
				t.Errorf("the primary volume descriptor has the label %q, want %q", l, VolumeLabel)
			}
			for reader, got := range map[string]map[string][]byte{"go-diskfs": got, "xorriso": xorrisoExtract(t, p)} {
				if len(got) != len(want) {
					t.Errorf("%s reads %d files, want %d", reader, len(got), len(want))
				}
				for name, data := range want {
					if !bytes.Equal(got[name], data) {
						t.Errorf("%s reads %s as %q, want %q", reader, name, got[name], data)
					}
				}
			}
			if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o644 {
				t.Errorf("seed mode %v (%v), want 0644", fi.Mode().Perm(), err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("WriteSeed left %d entries in the directory, want only the seed", len(entries))
			}
		})
	}
}

func TestWriteSeedReplaces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "seed.iso")
	if err := WriteSeed(p, configs[0].cfg); err != nil {
		t.Fatal(err)
	}
	if err := WriteSeed(p, configs[2].cfg); err != nil {
		t.Fatal(err)
	}
	got, _ := readISO(t, p)
	if _, ok := got[NetworkConfigFile]; !ok || !bytes.Contains(got[MetaDataFile], []byte("local-hostname: q1")) {
		t.Errorf("the rewritten seed holds %v, want the second config's files", got)
	}
	// A failure keeps the old seed whole and leaves no temporary file.
	bad := configs[0].cfg
	bad.Hostname = "bad_name"
	if err := WriteSeed(p, bad); err == nil {
		t.Fatal("WriteSeed wrote an invalid config")
	}
	if again, _ := readISO(t, p); !bytes.Equal(again[MetaDataFile], got[MetaDataFile]) {
		t.Error("a failed WriteSeed changed the seed")
	}
	if err := WriteSeed(filepath.Join(dir, "missing", "seed.iso"), configs[0].cfg); err == nil {
		t.Error("WriteSeed into a missing directory succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("WriteSeed left %d entries in the directory, want only the seed", len(entries))
	}
}

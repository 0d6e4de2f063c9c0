package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/libmachine"
	"github.com/machine-cli/machine/provision"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestRenderLS(t *testing.T) {
	statuses := []libmachine.Status{
		{Name: "n1", DriverName: "generic", State: drivers.Running, URL: "tcp://10.0.0.5:2376", DockerVersion: "v27.3.1", Labels: []string{"env=prod"}, ResponseTime: 41 * time.Millisecond},
		{Name: "n2", DriverName: "generic", State: drivers.Stopped, ResponseTime: 2 * time.Millisecond},
		{Name: "broken", State: drivers.Error, Error: `machine "broken": config.json is corrupt`},
		{Name: "swarm01", DriverName: "azure", State: drivers.Running, URL: "tcp://10.0.0.6:2376", DockerVersion: "Unknown", Error: "docker at 10.0.0.6:2376: connection refused", Cluster: "swarm01", ResponseTime: 3 * time.Second},
		{Name: "swarm02", DriverName: "generic", State: drivers.Running, URL: "tcp://10.0.0.7:2376", Swarm: "swarm01: manager", DockerVersion: "v27.3.1", Cluster: "swarm01", Labels: []string{"env=dev"}, Manager: true, ResponseTime: 95 * time.Millisecond},
		{Name: "slow", DriverName: "generic", State: drivers.Timeout, URL: "tcp://10.0.0.8:2376", DockerVersion: "Unknown", Error: "context deadline exceeded", ResponseTime: 3 * time.Second},
	}
	tests := []struct {
		name       string
		dockerHost string
		filters    []string
		format     string
		golden     string
	}{
		{"all", "", nil, "", "ls.golden"},
		{"active", "tcp://10.0.0.5:2376", nil, "", "ls-active.golden"},
		{"filtered", "", []string{"state=running", "driver=generic"}, "", "ls-filtered.golden"},
		{"by swarm, case-insensitive", "", []string{"swarm=SWARM01"}, "", "ls-swarm.golden"},
		{"by label", "", []string{"label=env=prod", "label=env=DEV"}, "", "ls-label.golden"},
		{"by label key", "", []string{"label=env"}, "", "ls-label.golden"},
		{"by name, a regular expression", "", []string{"name=^n[0-9]$"}, "", "ls-name.golden"},
		{"by state timeout", "", []string{"state=Timeout"}, "", "ls-timeout.golden"},
		{"table format", "", nil, `table {{.Name}}\t{{.State}}\t{{.ResponseTime}}`, "ls-format-table.golden"},
		{"active fields", "tcp://10.0.0.7:2376", nil, "{{.Name}} {{.Active}} {{.ActiveHost}} {{.ActiveSwarm}}", "ls-format-active.golden"},
		{"a machine that timed out is not active", "tcp://10.0.0.8:2376", nil, "{{.Name}} {{.Active}} {{.ActiveHost}}", "ls-format-inactive.golden"},
		{"plain format with escapes", "", []string{"driver=generic"}, `{{.Name}}\n\t{{.DriverName}}`, "ls-format-plain.golden"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := libmachine.ParseFilter(tc.filters)
			if err != nil {
				t.Fatal(err)
			}
			var kept []libmachine.Status
			for _, s := range statuses {
				if f.Match(s) {
					kept = append(kept, s)
				}
			}
			format, err := parseLSFormat(tc.format)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := format.render(&buf, lsRows(kept, tc.dockerHost)); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.golden, buf.Bytes())
		})
	}
}

func TestParseLSFormatErrors(t *testing.T) {
	for _, f := range []string{"{{.Name", "{{.Nope}}", "table {{.Nope}}", "{{.Name}} {{.State.Bogus}}"} {
		if _, err := parseLSFormat(f); err == nil || !strings.HasPrefix(err.Error(), "--format: ") {
			t.Errorf("parseLSFormat(%q): error %v, want one about --format", f, err)
		}
	}
}

func TestRenderInspect(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, format, golden string
		wantErr              bool
	}{
		{"json", "", "inspect.golden", false},
		{"ip", "{{.Driver.IPAddress}}", "inspect-ip.golden", false},
		{"port is an integer", "{{.Driver.SSHPort}} {{.HostOptions.EngineOptions.TlsVerify}}", "inspect-port.golden", false},
		{"json func", "{{json .HostOptions.EngineOptions.Labels}}", "inspect-jsonfunc.golden", false},
		{"missing key", "{{.Nope}}", "", true},
		{"bad template", "{{.Driver", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := renderInspect(raw, tc.format)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("no error, output %q", out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.golden, out)
		})
	}
}

func TestRenderUpgrade(t *testing.T) {
	deb := func(v string) provision.Version { return provision.Version{Name: "docker.io", Version: v} }
	var out bytes.Buffer
	for _, tc := range []struct {
		name string
		v    provision.Versions
	}{
		{"n1", provision.Versions{Old: deb("20.10.24+dfsg1-1+deb12u1+b6"), New: deb("20.10.24+dfsg1-1+deb12u1+b6+machinetest1")}},
		{"n2", provision.Versions{Old: deb("20.10.24+dfsg1-1+deb12u1+b6"), New: deb("20.10.24+dfsg1-1+deb12u1+b6")}},
		{"n3", provision.Versions{Old: deb("20.10.24+dfsg1-1+deb12u1+b6"), New: provision.Version{Name: "docker-ce", Version: "5:27.3.1-1~debian.12~bookworm"}}},
		{"n4", provision.Versions{Old: provision.Version{Name: "Docker", Version: "27.3.1"}, New: provision.Version{Name: "Docker", Version: "27.4.0"}}},
	} {
		out.WriteString(upgradeLine(tc.name, tc.v) + "\n")
	}
	golden(t, "upgrade.golden", out.Bytes())
}

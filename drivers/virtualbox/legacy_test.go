package virtualbox

import (
	"encoding/json"
	"testing"

	"github.com/machine-cli/machine/drivers"
)

// TestDockerMachineConfig: a machine docker-machine made keeps its
// addresses (the engine on its host-only address, port 2376; SSH on its
// loopback forward) and flag values, also after a save and a reload.
func TestDockerMachineConfig(t *testing.T) {
	d := NewDriver().(*Driver)
	if err := json.Unmarshal([]byte(readFile(t, "docker-machine-config.json")), d); err != nil {
		t.Fatal(err)
	}
	check := func(d *Driver) {
		t.Helper()
		ep, err := d.GetEndpoint(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		want := drivers.Endpoint{IP: "192.168.99.100", PrivateIP: "192.168.99.100", URL: "tcp://192.168.99.100:2376", SSHHostname: "127.0.0.1",
			SSHPort: 50073, SSHUser: "docker", SSHKeyPath: "/Users/me/.docker/machine/machines/default/id_rsa", Static: true}
		if ep != want {
			t.Errorf("endpoint = %+v\nwant       %+v", ep, want)
		}
		if d.Settings.UIType != "headless" || d.Settings.MemoryMB != 2048 || d.Settings.CPUs != 2 || d.Settings.HostOnlyCIDR != "192.168.99.1/24" || !d.Settings.DNSProxy {
			t.Errorf("settings = %+v", d.Settings)
		}
	}
	check(d)
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	again := NewDriver().(*Driver)
	if err := json.Unmarshal(data, again); err != nil {
		t.Fatal(err)
	}
	check(again)
	// Our own config is read as it is.
	ours := NewDriver().(*Driver)
	if err := json.Unmarshal([]byte(`{"MachineName":"dev","Settings":{"UIType":"gui"},"EnginePort":40376,"IPAddress":"192.168.59.3"}`), ours); err != nil {
		t.Fatal(err)
	}
	if u, _ := ours.GetURL(t.Context()); u != "tcp://127.0.0.1:40376" || ours.DockerMachine || ours.Settings.UIType != "gui" {
		t.Errorf("ours: %s %+v", u, ours)
	}
}

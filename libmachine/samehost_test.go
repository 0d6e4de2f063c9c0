package libmachine

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/machine-cli/machine/drivers"
	"github.com/machine-cli/machine/libmachine/host"
	"github.com/machine-cli/machine/libmachine/store"
)

func TestCheckHostFree(t *testing.T) {
	c := &Client{Store: store.New(t.TempDir())}
	save := func(name string, ep *drivers.Endpoint, driver string) {
		t.Helper()
		if err := c.Store.CreateMachineDir(name); err != nil {
			t.Fatal(err)
		}
		h := &host.Host{ConfigVersion: host.ConfigVersion, Name: name, DriverName: "generic", Driver: json.RawMessage(driver),
			HostOptions: &host.Options{EngineOptions: &host.EngineOptions{}, SwarmOptions: &host.SwarmOptions{}, AuthOptions: &host.AuthOptions{}}}
		if ep != nil {
			h.Endpoint, _ = json.Marshal(ep)
		}
		if err := c.Store.Save(h); err != nil {
			t.Fatal(err)
		}
	}
	save("ours", &drivers.Endpoint{IP: "10.0.0.5", SSHHostname: "10.0.0.5", SSHPort: 22, Static: true}, `{}`)
	save("byname", &drivers.Endpoint{IP: "10.0.0.9", SSHHostname: "Box.Example.test", SSHPort: 2222}, `{}`)
	// A docker-machine config: no endpoint of ours, the address in the driver's JSON.
	save("dm", nil, `{"IPAddress":"2001:db8::7","SSHPort":0,"SSHUser":"root"}`)
	save("new", &drivers.Endpoint{IP: "10.0.0.5", SSHHostname: "10.0.0.5", SSHPort: 22}, `{}`) // the machine being created

	tests := []struct {
		name  string
		ep    drivers.Endpoint
		taken string // the machine named in the refusal, "" when free
	}{
		{"same address and port", drivers.Endpoint{IP: "10.0.0.5", SSHHostname: "10.0.0.5", SSHPort: 22}, "ours"},
		{"port 0 is 22", drivers.Endpoint{SSHHostname: "10.0.0.5"}, "ours"},
		{"other port on the same address", drivers.Endpoint{SSHHostname: "10.0.0.5", SSHPort: 2200}, ""},
		{"other address", drivers.Endpoint{SSHHostname: "10.0.0.6", SSHPort: 22}, ""},
		{"host name in another case", drivers.Endpoint{SSHHostname: "box.example.test.", SSHPort: 2222}, "byname"},
		{"docker-machine store, IPv6 in another form", drivers.Endpoint{SSHHostname: "2001:db8:0::7", SSHPort: 22}, "dm"},
		{"no address yet", drivers.Endpoint{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := c.checkHostFree("new", tc.ep)
			if tc.taken == "" {
				if err != nil {
					t.Fatalf("refused a free host: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrHostTaken) {
				t.Fatalf("err = %v, want ErrHostTaken", err)
			}
			for _, want := range []string{`machine "` + tc.taken + `"`, "machine provision " + tc.taken, "machine rm " + tc.taken} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q: %v", want, err)
				}
			}
		})
	}
}

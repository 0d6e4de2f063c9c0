package libmachine

import (
	"strings"
	"testing"

	"github.com/machine-cli/machine/libmachine/host"
)

func TestSwarmOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    SwarmOptions
		wantErr string
	}{
		{"none", SwarmOptions{}, ""},
		{"init", SwarmOptions{Init: true, AdvertiseAddr: "10.0.0.5", DefaultAddrPool: []string{"10.20.0.0/16"}, Labels: []string{"a=b"}}, ""},
		{"join manager", SwarmOptions{Join: "swarm01", Manager: true}, ""},
		{"init and join", SwarmOptions{Init: true, Join: "swarm01"}, "exclude each other"},
		{"manager without join", SwarmOptions{Manager: true}, "--swarm-manager needs --swarm-join"},
		{"pool on join", SwarmOptions{Join: "swarm01", DefaultAddrPool: []string{"10.20.0.0/16"}}, "--swarm-init only"},
		{"advertise without swarm", SwarmOptions{AdvertiseAddr: "10.0.0.5"}, "need --swarm-init or --swarm-join"},
		{"bad join name", SwarmOptions{Join: "bad_name"}, "invalid machine name"},
		{"bad label", SwarmOptions{Init: true, Labels: []string{"=x"}}, "key=value"},
		{"bad pool", SwarmOptions{Init: true, DefaultAddrPool: []string{"10.20.0.0"}}, "not a CIDR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestRouteSource(t *testing.T) {
	tests := []struct{ out, want string }{
		{"10.0.0.7 dev eth0 src 10.0.0.9 uid 0 \\    cache ", "10.0.0.9"},
		{"172.29.100.2 via 172.29.100.1 dev eth1 src 172.29.100.4 uid 0", "172.29.100.4"},
		{"local 127.0.0.1 dev lo src 127.0.0.1 uid 0", "127.0.0.1"},
		{"RTNETLINK answers: Network is unreachable", ""},
		{"10.0.0.7 dev eth0 src", ""},
	}
	for _, tc := range tests {
		if got := routeSource(tc.out); got != tc.want {
			t.Errorf("routeSource(%q) = %q, want %q", tc.out, got, tc.want)
		}
	}
}

func TestRedact(t *testing.T) {
	const tok = "SWMTKN-1-abc-def"
	if got := redact("join failed: token "+tok+" rejected", tok); strings.Contains(got, tok) || !strings.Contains(got, "[join token]") {
		t.Errorf("redact = %q", got)
	}
	if got := redact("nothing secret", ""); got != "nothing secret" {
		t.Errorf("redact with empty secret = %q", got)
	}
}

func TestURLPort(t *testing.T) {
	tests := []struct {
		url     string
		want    int
		wantErr bool
	}{
		{"tcp://10.0.0.5:2376", 2376, false},
		{"tcp://[fd00::5]:2377", 2377, false},
		{"tcp://10.0.0.5", 0, true},
		{"://bad", 0, true},
	}
	for _, tc := range tests {
		got, err := urlPort(tc.url)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("urlPort(%q) = %d, %v; want %d, error %v", tc.url, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestStoredEndpoint(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		ok   bool
	}{
		{"static", `{"IP":"10.0.0.5","URL":"tcp://10.0.0.5:2376","SSHHostname":"10.0.0.5","SSHPort":22,"Static":true}`, true},
		{"not static", `{"IP":"10.0.0.5","URL":"tcp://10.0.0.5:2376","SSHHostname":"10.0.0.5","SSHPort":22}`, false},
		{"none", ``, false},
		{"corrupt", `{"IP":`, false},
		{"static without URL", `{"IP":"10.0.0.5","SSHHostname":"10.0.0.5","Static":true}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep, ok := storedEndpoint(&host.Host{Endpoint: []byte(tc.raw)})
			if ok != tc.ok {
				t.Fatalf("storedEndpoint ok = %v, want %v", ok, tc.ok)
			}
			if ok && ep.URL != "tcp://10.0.0.5:2376" {
				t.Errorf("URL = %q", ep.URL)
			}
		})
	}
}

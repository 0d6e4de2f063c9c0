package provision

import (
	"slices"
	"strings"
	"testing"
)

// TestFirewallScript runs each family's firewall script under stand-ins of
// ufw, firewall-cmd and systemctl that answer as the real ones did
// (testdata/recorded).
func TestFirewallScript(t *testing.T) {
	ufwActive := standIn{"status": replay(t, "ufw-status-active"), "allow*": replay(t, "ufw-allow")}
	ufwInactive := standIn{"status": replay(t, "ufw-status-inactive")}
	// ufw says "Skipping adding existing rule" for a rule it has, and
	// firewall-cmd --query-port exits 1 for a closed port, 0 for an open
	// one.
	ufwRulesExist := standIn{"status": replay(t, "ufw-status-active"), "allow*": "echo 'Skipping adding existing rule'; echo 'Skipping adding existing rule (v6)'"}
	firewalldRunning := standIn{"--state": replay(t, "firewall-cmd-state-running"), "*--query-port*": "exit 1",
		"*--add-port*": replay(t, "firewall-cmd-add-port"), "*--reload": replay(t, "firewall-cmd-reload")}
	firewalldPortsOpen := standIn{"--state": replay(t, "firewall-cmd-state-running"), "*--query-port*": "exit 0"}
	firewalldStopped := standIn{"--state": replay(t, "firewall-cmd-state-not-running")}
	noSuSEfirewall2 := standIn{"is-active --quiet SuSEfirewall2": replayStatus(t, "systemctl-is-active-SuSEfirewall2")}
	suSEfirewall2 := standIn{"is-active --quiet SuSEfirewall2": replayStatus(t, "systemctl-is-active-ssh")}
	ufwCalls := []string{"ufw status", "ufw allow 2377/tcp", "ufw allow 7946/tcp", "ufw allow 7946/udp", "ufw allow 4789/udp"}
	firewalldCalls := []string{"firewall-cmd --state"}
	firewalldQueries := []string{"firewall-cmd --state"}
	for _, p := range SwarmPorts {
		firewalldCalls = append(firewalldCalls, "firewall-cmd --quiet --permanent --query-port="+p, "firewall-cmd --quiet --permanent --add-port="+p)
		firewalldQueries = append(firewalldQueries, "firewall-cmd --quiet --permanent --query-port="+p)
	}
	firewalldCalls = append(firewalldCalls, "firewall-cmd --quiet --reload")

	tests := []struct {
		name    string
		os      string
		cmds    map[string]standIn
		want    string // the firewall named
		wantErr string
		calls   []string
	}{
		{name: "debian without a firewall", os: "debian-12"},
		{name: "debian ufw inactive", os: "debian-13", cmds: map[string]standIn{"ufw": ufwInactive}, calls: []string{"ufw status"}},
		{name: "debian ufw active", os: "debian-13", cmds: map[string]standIn{"ufw": ufwActive}, want: "ufw", calls: ufwCalls},
		{name: "ubuntu ufw active, firewalld running too", os: "ubuntu-24.04", cmds: map[string]standIn{"ufw": ufwActive, "firewall-cmd": firewalldRunning},
			want: "ufw", calls: ufwCalls},
		{name: "debian firewalld running", os: "debian-12", cmds: map[string]standIn{"ufw": ufwInactive, "firewall-cmd": firewalldRunning},
			want: "firewalld", calls: append([]string{"ufw status"}, firewalldCalls...)},
		{name: "debian ufw active, rules exist", os: "debian-12", cmds: map[string]standIn{"ufw": ufwRulesExist}, calls: ufwCalls},
		{name: "fedora firewalld running, ports open", os: "fedora-42", cmds: map[string]standIn{"firewall-cmd": firewalldPortsOpen}, calls: firewalldQueries},
		{name: "rhel firewalld running", os: "rhel-9.6", cmds: map[string]standIn{"firewall-cmd": firewalldRunning}, want: "firewalld", calls: firewalldCalls},
		{name: "rocky firewalld stopped", os: "rocky-9.5", cmds: map[string]standIn{"firewall-cmd": firewalldStopped}, calls: []string{"firewall-cmd --state"}},
		{name: "rhel does not look at ufw", os: "centos-stream-9", cmds: map[string]standIn{"ufw": ufwActive, "firewall-cmd": firewalldStopped},
			calls: []string{"firewall-cmd --state"}},
		{name: "fedora firewalld running", os: "fedora-42", cmds: map[string]standIn{"firewall-cmd": firewalldRunning}, want: "firewalld", calls: firewalldCalls},
		{name: "opensuse firewalld running", os: "opensuse-leap-15.6", cmds: map[string]standIn{"firewall-cmd": firewalldRunning, "systemctl": suSEfirewall2},
			want: "firewalld", calls: firewalldCalls},
		{name: "sles without a firewall", os: "sles-15-sp6", cmds: map[string]standIn{"firewall-cmd": firewalldStopped, "systemctl": noSuSEfirewall2},
			calls: []string{"firewall-cmd --state", "systemctl is-active --quiet SuSEfirewall2"}},
		{name: "sles with SuSEfirewall2", os: "sles-15-sp6", cmds: map[string]standIn{"systemctl": suSEfirewall2},
			want: "SuSEfirewall2", calls: []string{"systemctl is-active --quiet SuSEfirewall2"},
			wantErr: "the host's firewall is SuSEfirewall2, which machine cannot open ports in (it opens 2377/tcp, 7946/tcp, 7946/udp, 4789/udp in ufw or firewalld): switch the host to firewalld or stop SuSEfirewall2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := familyOf(t, tc.os)
			r := runScript(t, firewallScript(f.Firewalls(), SwarmPorts), tc.cmds)
			if (r.status != 0) != (tc.wantErr != "") {
				t.Errorf("exit status %d; stderr:\n%s", r.status, r.stderr)
			}
			fw, err := firewallResult(r.stdout, SwarmPorts)
			if fw != tc.want {
				t.Errorf("firewall %q, want %q (stdout %q)", fw, tc.want, r.stdout)
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
			if !slices.Equal(r.calls, tc.calls) {
				t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(r.calls, "\n"), strings.Join(tc.calls, "\n"))
			}
		})
	}
}

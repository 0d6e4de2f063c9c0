package provision

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFirewallScript runs the firewall script under the local sh with
// stand-in ufw and firewall-cmd commands that record their arguments.
func TestFirewallScript(t *testing.T) {
	tests := []struct {
		name     string
		ufw      string // body of the ufw stand-in, "" for none
		firewall string // body of the firewall-cmd stand-in, "" for none
		want     string
		calls    []string
	}{
		{"no firewall", "", "", "", nil},
		{"ufw inactive", `[ "$1" = status ] && echo "Status: inactive"; echo "ufw $*" >> "$LOG"`, "", "", []string{"ufw status"}},
		{"ufw active", `[ "$1" = status ] && echo "Status: active"; echo "ufw $*" >> "$LOG"`, "", "ufw",
			[]string{"ufw status", "ufw allow 2377/tcp", "ufw allow 7946/tcp", "ufw allow 7946/udp", "ufw allow 4789/udp"}},
		{"ufw active, rules exist", `[ "$1" = status ] && echo "Status: active"; [ "$1" = allow ] && echo "Skipping adding existing rule"; echo "ufw $*" >> "$LOG"`, "", "",
			[]string{"ufw status", "ufw allow 2377/tcp", "ufw allow 7946/tcp", "ufw allow 7946/udp", "ufw allow 4789/udp"}},
		{"firewalld running", "", `echo "firewall-cmd $*" >> "$LOG"; case "$3" in --query-port=*) exit 1 ;; esac`, "firewalld",
			[]string{"firewall-cmd --state",
				"firewall-cmd --quiet --permanent --query-port=2377/tcp", "firewall-cmd --quiet --permanent --add-port=2377/tcp",
				"firewall-cmd --quiet --permanent --query-port=7946/tcp", "firewall-cmd --quiet --permanent --add-port=7946/tcp",
				"firewall-cmd --quiet --permanent --query-port=7946/udp", "firewall-cmd --quiet --permanent --add-port=7946/udp",
				"firewall-cmd --quiet --permanent --query-port=4789/udp", "firewall-cmd --quiet --permanent --add-port=4789/udp",
				"firewall-cmd --quiet --reload"}},
		{"firewalld running, ports open", "", `echo "firewall-cmd $*" >> "$LOG"`, "",
			[]string{"firewall-cmd --state",
				"firewall-cmd --quiet --permanent --query-port=2377/tcp", "firewall-cmd --quiet --permanent --query-port=7946/tcp",
				"firewall-cmd --quiet --permanent --query-port=7946/udp", "firewall-cmd --quiet --permanent --query-port=4789/udp"}},
		{"firewalld not running", "", `echo "firewall-cmd $*" >> "$LOG"; [ "$1" != --state ]`, "", []string{"firewall-cmd --state"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "log")
			for name, body := range map[string]string{"ufw": tc.ufw, "firewall-cmd": tc.firewall} {
				if body == "" {
					continue
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command("/bin/sh", "-c", firewallScript(SwarmPorts))
			cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "LOG=" + log}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("script: %v", err)
			}
			if got := strings.TrimSpace(string(out)); got != tc.want {
				t.Errorf("printed %q, want %q", got, tc.want)
			}
			b, _ := os.ReadFile(log)
			var calls []string
			if s := strings.TrimSpace(string(b)); s != "" {
				calls = strings.Split(s, "\n")
			}
			if strings.Join(calls, "|") != strings.Join(tc.calls, "|") {
				t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(tc.calls, "\n"))
			}
		})
	}
}

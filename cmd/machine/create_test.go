package main

import (
	"slices"
	"testing"
)

func TestScanDriver(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  string
		want string
		ok   bool
	}{
		{"short flag", []string{"machine", "create", "-d", "generic", "n1"}, "", "generic", true},
		{"long flag with =", []string{"machine", "-s", "/x", "create", "--driver=azure", "n1"}, "", "azure", true},
		{"short flag with =", []string{"machine", "create", "-d=generic", "n1"}, "", "generic", true},
		{"from environment", []string{"machine", "create", "n1"}, "generic", "generic", true},
		{"flag wins over environment", []string{"machine", "create", "-d", "azure", "n1"}, "generic", "azure", true},
		{"not create", []string{"machine", "ls", "-d", "generic"}, "", "", false},
		{"no driver", []string{"machine", "create", "n1"}, "", "", false},
		{"after --", []string{"machine", "create", "--", "-d", "generic"}, "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("MACHINE_DRIVER", tc.env)
			got, ok := scanDriver(tc.args)
			if got != tc.want || ok != tc.ok {
				t.Errorf("scanDriver(%q) = %q, %v; want %q, %v", tc.args, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestGlobalArgs(t *testing.T) {
	got := globalArgs([]string{"machine", "-s", "/x", "--debug", "create", "-d", "generic", "n1"})
	want := []string{"machine", "-s", "/x", "--debug"}
	if !slices.Equal(got, want) {
		t.Errorf("globalArgs = %q, want %q", got, want)
	}
}

func TestReadHostKey(t *testing.T) {
	if got, err := readHostKey("ssh-ed25519 AAAA"); err != nil || got != "ssh-ed25519 AAAA" {
		t.Errorf("inline key: %q, %v", got, err)
	}
	if _, err := readHostKey("/nonexistent/hostkey.pub"); err == nil {
		t.Error("missing file: no error")
	}
}

package libmachine

import (
	"slices"
	"strings"
	"testing"

	"github.com/machine-cli/machine/sshclient"
)

func TestParseLocation(t *testing.T) {
	tests := []struct {
		arg     string
		windows bool
		want    Location
	}{
		{arg: "/tmp/x", want: Location{Path: "/tmp/x"}},
		{arg: "rel/x", want: Location{Path: "rel/x"}},
		{arg: "n1:/tmp/x", want: Location{Machine: "n1", Path: "/tmp/x"}},
		{arg: "n1:", want: Location{Machine: "n1", Path: ""}},
		{arg: "n1:rel", want: Location{Machine: "n1", Path: "rel"}},
		{arg: "docker@n1:/tmp/x", want: Location{Machine: "n1", User: "docker", Path: "/tmp/x"}},
		{arg: "a@b@n1:x", want: Location{Machine: "n1", User: "a@b", Path: "x"}},
		{arg: "n1:/tmp/a:b:c", want: Location{Machine: "n1", Path: "/tmp/a:b:c"}},
		{arg: "./a:b", want: Location{Path: "./a:b"}},
		{arg: "/tmp/a:b", want: Location{Path: "/tmp/a:b"}},
		{arg: ":leading", want: Location{Path: ":leading"}},
		{arg: "localhost:/tmp/x", want: Location{Path: "/tmp/x"}},
		{arg: "a:b", want: Location{Machine: "a", Path: "b"}},
		// A drive letter is local on Windows only; elsewhere it names a machine.
		{arg: `C:\x`, windows: true, want: Location{Path: `C:\x`}},
		{arg: "C:/x", windows: true, want: Location{Path: "C:/x"}},
		{arg: "C:x", windows: true, want: Location{Path: "C:x"}},
		{arg: `dir\a:b`, windows: true, want: Location{Path: `dir\a:b`}},
		{arg: "n1:/tmp/x", windows: true, want: Location{Machine: "n1", Path: "/tmp/x"}},
		{arg: `C:\x`, want: Location{Machine: "C", Path: `\x`}},
		{arg: "c:/x", want: Location{Machine: "c", Path: "/x"}},
	}
	for _, tc := range tests {
		if got := parseLocation(tc.arg, tc.windows); got != tc.want {
			t.Errorf("parseLocation(%q, windows=%v) = %+v, want %+v", tc.arg, tc.windows, got, tc.want)
		}
	}
}

func TestLocationString(t *testing.T) {
	for _, l := range []Location{{Path: "/x"}, {Machine: "n1", Path: "/x"}, {Machine: "n1", User: "u", Path: ""}} {
		if got := parseLocation(l.String(), false); got != l {
			t.Errorf("%+v printed as %q reads back as %+v", l, l.String(), got)
		}
	}
}

func TestParseMountSource(t *testing.T) {
	tests := []struct {
		arg  string
		want Location
	}{
		{"n1:/srv/data", Location{Machine: "n1", Path: "/srv/data"}},
		{"docker@n1:/srv", Location{Machine: "n1", User: "docker", Path: "/srv"}},
		{"/srv/data", Location{Machine: "default", Path: "/srv/data"}},
		{"n1:", Location{Machine: "n1", Path: ""}},
		{"n1:/a:b", Location{Machine: "n1", Path: "/a:b"}},
	}
	for _, tc := range tests {
		if got := ParseMountSource(tc.arg); got != tc.want {
			t.Errorf("ParseMountSource(%q) = %+v, want %+v", tc.arg, got, tc.want)
		}
	}
}

var testOpenSSH = sshclient.OpenSSH{Host: "10.0.0.5", Port: 2222, User: "docker", KeyPath: "/s/m/n1/id_rsa", KnownHostsPath: "/s/m/n1/known_hosts.openssh", Alias: "n1"}

// sshOpts is what sshclient.OpenSSH.Options gives for testOpenSSH.
var sshOpts = []string{"-p", "2222", "-o", "HostKeyAlias=n1", "-o", "UserKnownHostsFile=/s/m/n1/known_hosts.openssh",
	"-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "CheckHostIP=no",
	"-o", "UpdateHostKeys=no", "-o", "IdentityFile=/s/m/n1/id_rsa", "-o", "IdentitiesOnly=yes"}

func TestSystemSSHArgs(t *testing.T) {
	base := append(slices.Clone(sshOpts), "-l", "docker", "10.0.0.5")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"login", nil, base},
		{"command", []string{"ls", "-l"}, append(slices.Clone(base), "--", "ls", "-l")},
		{"options", []string{"-L", "8080:localhost:80"}, append(slices.Clone(base), "-L", "8080:localhost:80")},
		{"options and command", []string{"-C", "-o", "LogLevel=ERROR", "--", "echo", "hi"},
			append(slices.Clone(base), "-C", "-o", "LogLevel=ERROR", "--", "echo", "hi")},
		{"-- and command", []string{"--", "uptime"}, append(slices.Clone(base), "--", "uptime")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SystemSSHArgs(testOpenSSH, tc.args); !slices.Equal(got, tc.want) {
				t.Errorf("SystemSSHArgs =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestRsyncArgs(t *testing.T) {
	shell := "/usr/bin/ssh -p 2222 -o HostKeyAlias=n1 -o UserKnownHostsFile=/s/m/n1/known_hosts.openssh -o GlobalKnownHostsFile=/dev/null " +
		"-o StrictHostKeyChecking=yes -o CheckHostIP=no -o UpdateHostKeys=no -o IdentityFile=/s/m/n1/id_rsa -o IdentitiesOnly=yes"
	spaced := testOpenSSH
	spaced.KeyPath = "/Users/me/Library/Application Support/it's/id_rsa"
	tests := []struct {
		name             string
		o                *sshclient.OpenSSH
		from, to         string
		recursive, quiet bool
		want             []string
	}{
		{"upload", &testOpenSSH, "big", "docker@10.0.0.5:/tmp/big", false, false,
			[]string{"--perms", "--times", "--progress", "-e", shell, "--", "big", "docker@10.0.0.5:/tmp/big"}},
		{"download, recursive, quiet", &testOpenSSH, "docker@10.0.0.5:/srv/", "out", true, true,
			[]string{"--perms", "--times", "--recursive", "--quiet", "-e", shell, "--", "docker@10.0.0.5:/srv/", "out"}},
		{"local", nil, "a", "b", false, true, []string{"--perms", "--times", "--quiet", "--", "a", "b"}},
		{"key path with spaces and a quote", &spaced, "a", "docker@10.0.0.5:b", false, true,
			[]string{"--perms", "--times", "--quiet", "-e", strings.Replace(shell, "IdentityFile=/s/m/n1/id_rsa",
				`'IdentityFile="/Users/me/Library/Application Support/it''s/id_rsa"'`, 1), "--", "a", "docker@10.0.0.5:b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := RsyncArgs("/usr/bin/ssh", tc.o, tc.from, tc.to, tc.recursive, tc.quiet); !slices.Equal(got, tc.want) {
				t.Errorf("RsyncArgs =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestSSHFSArgs(t *testing.T) {
	want := append(slices.Clone(sshOpts), "-o", "BatchMode=yes", "docker@10.0.0.5:/srv/data", "/mnt/data")
	if got := SSHFSArgs(testOpenSSH, "/srv/data", "/mnt/data"); !slices.Equal(got, want) {
		t.Errorf("SSHFSArgs =\n%q\nwant\n%q", got, want)
	}
}

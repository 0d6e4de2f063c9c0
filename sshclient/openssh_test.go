package sshclient_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/machine-cli/machine/sshclient"
	"github.com/machine-cli/machine/sshclient/sshtest"
)

func TestOpenSSHOptions(t *testing.T) {
	tests := []struct {
		name string
		o    sshclient.OpenSSH
		want []string
	}{
		{
			name: "key",
			o:    sshclient.OpenSSH{Host: "10.0.0.5", Port: 2222, User: "docker", KeyPath: "/s/id_rsa", KnownHostsPath: "/s/known_hosts.openssh", Alias: "n1"},
			want: []string{"-p", "2222", "-o", "HostKeyAlias=n1", "-o", "UserKnownHostsFile=/s/known_hosts.openssh",
				"-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "CheckHostIP=no",
				"-o", "UpdateHostKeys=no", "-o", "IdentityFile=/s/id_rsa", "-o", "IdentitiesOnly=yes"},
		},
		{
			name: "agent, default port, paths with spaces",
			o:    sshclient.OpenSSH{Host: "h", User: "u", KnownHostsPath: `/Application Support/m "1"/kh`, Alias: "m1"},
			want: []string{"-p", "22", "-o", "HostKeyAlias=m1", "-o", `UserKnownHostsFile="/Application Support/m \"1\"/kh"`,
				"-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "CheckHostIP=no",
				"-o", "UpdateHostKeys=no"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.o.Options(); !slices.Equal(got, tc.want) {
				t.Errorf("Options() =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestOpenSSHRemote(t *testing.T) {
	tests := []struct{ host, path, want string }{
		{"10.0.0.5", "/tmp/x", "docker@10.0.0.5:/tmp/x"},
		{"fd00::5", "", "docker@[fd00::5]:"},
		{"n1.example.test", "a b", "docker@n1.example.test:a b"},
	}
	for _, tc := range tests {
		if got := (sshclient.OpenSSH{Host: tc.host, User: "docker"}).Remote(tc.path); got != tc.want {
			t.Errorf("Remote(%q) on %s = %q, want %q", tc.path, tc.host, got, tc.want)
		}
	}
}

func TestWriteOpenSSHKnownHosts(t *testing.T) {
	k1, k2, k3 := sshtest.NewHostKey(t).PublicKey(), sshtest.NewHostKey(t).PublicKey(), sshtest.NewHostKey(t).PublicKey()
	line := func(host string, k ssh.PublicKey) string {
		return host + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) + "\n"
	}
	tests := []struct {
		name, content, addr string
		want                []ssh.PublicKey
	}{
		{"keys of the address", line("10.0.0.5", k1) + line("[10.0.0.5]:2222", k2) + line("10.0.0.6", k3), "10.0.0.5:22", []ssh.PublicKey{k1}},
		{"port other than 22", line("10.0.0.5", k1) + line("[10.0.0.5]:2222", k2), "10.0.0.5:2222", []ssh.PublicKey{k2}},
		{"address changed: every key", line("10.0.0.5", k1) + line("10.0.0.6", k2) + line("10.0.0.7", k1), "10.0.0.9:22", []ssh.PublicKey{k1, k2}},
		{"markers and comments skipped", "# c\n@revoked * " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k3))) + "\n" + line("10.0.0.5", k1), "10.0.0.5:22", []ssh.PublicKey{k1}},
		{"no key", "# nothing\n", "10.0.0.5:22", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src, dst := filepath.Join(dir, "known_hosts"), filepath.Join(dir, "known_hosts.openssh")
			if err := os.WriteFile(src, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			n, err := sshclient.WriteOpenSSHKnownHosts(src, dst, tc.addr, "n1")
			if err != nil || n != len(tc.want) {
				t.Fatalf("WriteOpenSSHKnownHosts = %d, %v; want %d", n, err, len(tc.want))
			}
			var want string
			for _, k := range tc.want {
				want += line("n1", k)
			}
			got, err := os.ReadFile(dst)
			if len(tc.want) == 0 {
				if !os.IsNotExist(err) {
					t.Fatalf("with no key, %s was written (%v)", dst, err)
				}
				return
			}
			if err != nil || string(got) != want {
				t.Fatalf("%s = %q, %v; want %q", dst, got, err, want)
			}
			if st, _ := os.Stat(dst); st.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", st.Mode().Perm())
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		dir := t.TempDir()
		n, err := sshclient.WriteOpenSSHKnownHosts(filepath.Join(dir, "none"), filepath.Join(dir, "out"), "h:22", "n1")
		if n != 0 || err != nil {
			t.Fatalf("= %d, %v; want 0, nil", n, err)
		}
	})
}

// TestOpenSSHClient runs the system's OpenSSH client with Options against
// a real server: it logs in with the recorded key, and refuses a server
// whose host key changed and a client key the server does not accept.
func TestOpenSSHClient(t *testing.T) {
	bin, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatal("this test needs OpenSSH's client (apt-get install openssh-client)")
	}
	srv := sshtest.NewServer(t, sshtest.Options{})
	dir := t.TempDir()
	kh, okh := filepath.Join(dir, "known_hosts"), filepath.Join(dir, "known_hosts.openssh")
	c := dial(t, config(t, srv, kh)) // records the host key
	_ = c.Close()
	if n, err := sshclient.WriteOpenSSHKnownHosts(kh, okh, srv.Addr, "m1"); n != 1 || err != nil {
		t.Fatalf("WriteOpenSSHKnownHosts = %d, %v", n, err)
	}
	o := sshclient.OpenSSH{Host: srv.Host, Port: srv.Port, User: "root", KeyPath: srv.ClientKeyPath, KnownHostsPath: okh, Alias: "m1"}
	run := func(o sshclient.OpenSSH) (string, string, error) {
		args := append(o.Options(), "-o", "BatchMode=yes", "-F", "/dev/null", "-l", o.User, o.Host, "--", "echo hi; exit 3")
		cmd := exec.Command(bin, args...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}
	out, stderr, err := run(o)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 || out != "hi\n" {
		t.Fatalf("ssh: %q, %v, stderr %q; want \"hi\" and exit 3", out, err, stderr)
	}
	if data, _ := os.ReadFile(okh); strings.Count(string(data), "\n") != 1 {
		t.Errorf("ssh changed %s:\n%s", okh, data)
	}

	t.Run("wrong client key", func(t *testing.T) {
		other, _ := sshtest.NewClientKey(t)
		o := o
		o.KeyPath = other
		if _, stderr, err := run(o); err == nil || !strings.Contains(stderr, "Permission denied") {
			t.Fatalf("ssh with another key: %v, stderr %q; want permission denied", err, stderr)
		}
	})
	t.Run("host key changed", func(t *testing.T) {
		_, clientPub := sshtest.NewClientKey(t)
		srv.Close()
		sshtest.NewServer(t, sshtest.Options{Addr: srv.Addr, ClientKey: clientPub}) // a new host key
		if _, stderr, err := run(o); err == nil || !strings.Contains(stderr, "Host key verification failed") {
			t.Fatalf("ssh to a changed host key: %v, stderr %q; want the host key refused", err, stderr)
		}
	})
}

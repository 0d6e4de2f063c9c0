package provision

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sysroot is a directory standing for a host's root file system, with
// stand-in systemctl, hostname and ufw commands that log their calls and
// keep the units' states in files.
type sysroot struct {
	t                *testing.T
	root, bin, state string
	log              string
	hostFile         string
}

func newSysroot(t *testing.T) *sysroot {
	dir := t.TempDir()
	s := &sysroot{t: t, root: filepath.Join(dir, "root"), bin: filepath.Join(dir, "bin"), state: filepath.Join(dir, "state"),
		log: filepath.Join(dir, "log"), hostFile: filepath.Join(dir, "state", "hostname")}
	for _, d := range []string{s.root, s.bin, s.state} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	stub := map[string]string{
		"systemctl": `echo "systemctl $*" >> "$LOG"
case $1 in
is-enabled) cat "$STATE/$2.enabled" 2>/dev/null || exit 1; [ "$(cat "$STATE/$2.enabled")" = enabled ] ;;
is-active) cat "$STATE/$2.active" 2>/dev/null || exit 3; [ "$(cat "$STATE/$2.active")" = active ] ;;
enable) echo enabled > "$STATE/$3.enabled" ;;
disable) echo disabled > "$STATE/$3.enabled" ;;
start|restart) echo active > "$STATE/$2.active" ;;
stop) [ -f "$STATE/$2.active" ] && echo inactive > "$STATE/$2.active"; true ;;
esac`,
		"hostname": `if [ $# -eq 0 ]; then cat "$STATE/hostname"; else echo "hostname $*" >> "$LOG"; echo "$1" > "$STATE/hostname"; fi`,
		"ufw":      `echo "ufw $*" >> "$LOG"; [ "$1" = status ] && echo "Status: active"; true`,
	}
	for name, body := range stub {
		if err := os.WriteFile(filepath.Join(s.bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.setHostname("oldname")
	return s
}

func (s *sysroot) write(path, content string, mode os.FileMode) {
	s.t.Helper()
	p := filepath.Join(s.root, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		s.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		s.t.Fatal(err)
	}
	// An old, distinct time, so that a restore that loses times shows.
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(len(content)) * time.Second)
	if err := os.Chtimes(p, old, old); err != nil {
		s.t.Fatal(err)
	}
}

func (s *sysroot) unit(name, enabled, active string) {
	s.t.Helper()
	for ext, v := range map[string]string{"enabled": enabled, "active": active} {
		if err := os.WriteFile(filepath.Join(s.state, name+"."+ext), []byte(v+"\n"), 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
}

func (s *sysroot) unitState(name string) string {
	e, _ := os.ReadFile(filepath.Join(s.state, name+".enabled"))
	a, _ := os.ReadFile(filepath.Join(s.state, name+".active"))
	return strings.TrimSpace(string(e)) + "/" + strings.TrimSpace(string(a))
}

func (s *sysroot) setHostname(n string) {
	if err := os.WriteFile(s.hostFile, []byte(n+"\n"), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// run runs one of the scripts for machine NAME against the sysroot.
func (s *sysroot) run(script string) string {
	s.t.Helper()
	cmd := exec.Command("/bin/sh", "-c", "set -e\nR="+s.root+"\nNAME=n2\n"+script)
	cmd.Env = []string{"PATH=" + s.bin + ":/usr/bin:/bin", "LOG=" + s.log, "STATE=" + s.state}
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("script: %v\n%s", err, out)
	}
	return string(out)
}

func (s *sysroot) calls() string {
	b, _ := os.ReadFile(s.log)
	_ = os.Remove(s.log)
	return string(b)
}

// tree lists every path under the sysroot's /etc with its type, mode,
// modification time and content hash.
func (s *sysroot) tree() string {
	s.t.Helper()
	var b strings.Builder
	etc := filepath.Join(s.root, "etc")
	err := filepath.WalkDir(etc, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.root, p)
		fmt.Fprintf(&b, "%s %v", rel, fi.Mode())
		if fi.Mode().IsRegular() {
			data, _ := os.ReadFile(p)
			fmt.Fprintf(&b, " %s %x", fi.ModTime().UTC().Format(time.RFC3339), sha256.Sum256(data))
		}
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return b.String()
}

// TestBackupRestore runs the backup and restore scripts against a sysroot:
// whatever provisioning (or anything else) changed among BackedUpPaths
// after the backup, the restore puts back exactly the recorded tree, and
// restarts docker only when docker's files or units changed.
func TestBackupRestore(t *testing.T) {
	earlier := func(s *sysroot) {
		// A host an earlier machine was provisioned on.
		s.write("/etc/docker/ca.pem", "EARLIER CA", 0o644)
		s.write("/etc/docker/server.pem", "EARLIER SERVER", 0o644)
		s.write("/etc/docker/server-key.pem", "EARLIER KEY", 0o600)
		s.write("/etc/docker/daemon.json", `{"log-level":"warn"}`, 0o644)
		s.write(DropInPath, "[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd --earlier\n", 0o644)
		s.write("/etc/hostname", "oldname\n", 0o644)
		s.write("/etc/hosts", "127.0.0.1 localhost\n127.0.1.1 oldname\n", 0o644)
		s.unit("docker.socket", "enabled", "active")
		s.unit("docker.service", "enabled", "active")
	}
	provisioned := func(s *sysroot) {
		s.write("/etc/docker/ca.pem", "NEW CA", 0o644)
		s.write("/etc/docker/server.pem", "NEW SERVER, LONGER", 0o644)
		s.write("/etc/docker/server-key.pem", "NEW KEY", 0o644)
		s.write("/etc/docker/key.json", "{}", 0o600)
		s.write(DropInPath, "[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd --bad-flag\n", 0o644)
		s.write("/etc/systemd/system/docker.service.d/sub/extra.conf", "x", 0o644)
		s.write("/etc/hostname", "n2\n", 0o644)
		s.write("/etc/hosts", "127.0.0.1 localhost\n127.0.1.1 n2\n", 0o644)
		s.setHostname("n2")
		s.unit("docker.service", "enabled", "failed")
	}
	tests := []struct {
		name    string
		before  func(*sysroot)
		change  func(*sysroot)
		want    []string // Restore's report words
		calls   []string // calls the restore must make
		noCalls []string // calls it must not make
		units   map[string]string
	}{
		{
			name: "host of an earlier machine, failed provisioning", before: earlier, change: provisioned,
			want:  []string{"hostname", "docker"},
			calls: []string{"hostname oldname", "systemctl daemon-reload", "systemctl stop docker.service", "systemctl restart docker.socket", "systemctl restart docker.service"},
			units: map[string]string{"docker.socket": "enabled/active", "docker.service": "enabled/active"},
		},
		{
			name: "pristine host: created files and directories are removed",
			before: func(s *sysroot) {
				s.write("/etc/hostname", "oldname\n", 0o644)
				s.write("/etc/hosts", "127.0.0.1 localhost\n", 0o644)
				if err := os.MkdirAll(filepath.Join(s.root, "etc/systemd/system"), 0o755); err != nil {
					t.Fatal(err)
				}
				s.unit("docker.socket", "enabled", "active")
				s.unit("docker.service", "disabled", "inactive")
			},
			change: func(s *sysroot) {
				provisioned(s)
				s.unit("docker.service", "enabled", "active")
			},
			want:  []string{"hostname", "docker"},
			calls: []string{"systemctl disable --quiet docker.service", "systemctl restart docker.socket", "systemctl stop docker.service"},
			units: map[string]string{"docker.socket": "enabled/active", "docker.service": "disabled/inactive"},
		},
		{
			name: "nothing of docker changed: no restart", before: earlier,
			change: func(s *sysroot) {
				s.write("/etc/hosts", "127.0.0.1 localhost\n127.0.1.1 n2\n", 0o644)
			},
			noCalls: []string{"systemctl restart", "systemctl stop", "daemon-reload", "hostname oldname"},
			units:   map[string]string{"docker.socket": "enabled/active", "docker.service": "enabled/active"},
		},
		{
			name: "firewall rules opened are closed again",
			before: func(s *sysroot) {
				earlier(s)
				s.write("/etc/ufw/user.rules", "*filter\nCOMMIT\n", 0o640)
			},
			change: func(s *sysroot) {
				s.write("/etc/ufw/user.rules", "*filter\n-A ufw-user-input -p tcp --dport 2376 -j ACCEPT\nCOMMIT\n", 0o640)
				s.write("/etc/ufw/user6.rules", "*filter\nCOMMIT\n", 0o640)
			},
			want:    []string{"firewall"},
			calls:   []string{"ufw reload"},
			noCalls: []string{"systemctl restart"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSysroot(t)
			tc.before(s)
			want := s.tree()
			s.run(backupScript)
			if got := s.tree(); got != want {
				t.Fatalf("backup changed /etc:\n%s\nwant:\n%s", got, want)
			}
			if fi, err := os.Stat(filepath.Join(s.root, BackupRoot, "n2")); err != nil || fi.Mode().Perm() != 0o700 {
				t.Fatalf("backup directory: %v, %v (want mode 0700)", fi, err)
			}
			tc.change(s)
			s.calls()
			out := s.run(restoreScript)
			if got := s.tree(); got != want {
				t.Errorf("restored /etc:\n%s\nwant:\n%s", got, want)
			}
			words := strings.Fields(out)
			for _, w := range []string{"docker", "firewall", "hostname"} {
				if got, wanted := strings.Contains(out, w), contains(tc.want, w); got != wanted {
					t.Errorf("restore printed %q; %q reported = %v, want %v", words, w, got, wanted)
				}
			}
			calls := s.calls()
			for _, c := range tc.calls {
				if !strings.Contains(calls, c) {
					t.Errorf("restore did not call %q; calls:\n%s", c, calls)
				}
			}
			for _, c := range tc.noCalls {
				if strings.Contains(calls, c) {
					t.Errorf("restore called %q; calls:\n%s", c, calls)
				}
			}
			for u, st := range tc.units {
				if got := s.unitState(u); got != st {
					t.Errorf("%s is %s, want %s", u, got, st)
				}
			}
			if _, err := os.Stat(filepath.Join(s.root, BackupRoot, "n2")); !os.IsNotExist(err) {
				t.Errorf("backup still there after the restore: %v", err)
			}
			if out := s.run(restoreScript); strings.TrimSpace(out) != "none" {
				t.Errorf("second restore printed %q, want none", out)
			}
		})
	}
}

// TestBackupReplacesOnlyWhenWhole: an older backup of the same name is
// replaced by the new one, and a discarded backup is gone.
func TestBackupReplacesOnlyWhenWhole(t *testing.T) {
	s := newSysroot(t)
	s.write("/etc/hostname", "first\n", 0o644)
	s.run(backupScript)
	s.write("/etc/hostname", "second\n", 0o644)
	s.run(backupScript)
	b, err := os.ReadFile(filepath.Join(s.root, BackupRoot, "n2", "files", "etc", "hostname"))
	if err != nil || string(b) != "second\n" {
		t.Fatalf("backup holds %q, %v; want the newer state", b, err)
	}
	if _, err := os.Stat(filepath.Join(s.root, BackupRoot, "n2.new")); !os.IsNotExist(err) {
		t.Errorf("temporary backup left: %v", err)
	}
	s.run(discardScript)
	if _, err := os.Stat(filepath.Join(s.root, BackupRoot, "n2")); !os.IsNotExist(err) {
		t.Errorf("backup still there after discard: %v", err)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

package integration

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/machine-cli/machine/internal/standin"
	"github.com/machine-cli/machine/internal/testio"
	"golang.org/x/crypto/ssh"
)

// filesTree is the tree the scp tests copy: files with their modes, in
// directories with theirs.
var filesTree = []struct {
	path    string
	mode    fs.FileMode
	content string
}{
	{"tree", 0o755 | fs.ModeDir, ""},
	{"tree/a.txt", 0o644, "alpha\n"},
	{"tree/run.sh", 0o755, "#!/bin/sh\necho run\n"},
	{"tree/secret", 0o600, "s3cret\n"},
	{"tree/sub", 0o750 | fs.ModeDir, ""},
	{"tree/sub/b.bin", 0o640, strings.Repeat("0123456789abcdef", 70000)},
	{"tree/sub/deeper", 0o700 | fs.ModeDir, ""},
	{"tree/sub/deeper/c", 0o444, "c\n"},
	{"tree/empty", 0o755 | fs.ModeDir, ""},
}

// makeFilesTree writes filesTree under dir.
func makeFilesTree(t *testing.T, dir string) {
	t.Helper()
	for _, f := range filesTree {
		p := filepath.Join(dir, f.path)
		var err error
		if f.mode.IsDir() {
			err = os.MkdirAll(p, 0o700)
		} else {
			err = os.WriteFile(p, []byte(f.content), 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := len(filesTree) - 1; i >= 0; i-- { // children before parents
		if err := os.Chmod(filepath.Join(dir, filesTree[i].path), filesTree[i].mode.Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

// treeListing lists root as find(1) does with -printf '%P %M\n' and the
// sha256sum of every file, sorted: the same listing remoteTree gives.
const treeScript = `cd %s && { find . -mindepth 1 -printf '%%P %%M\n'; find . -type f -exec sha256sum {} +; } | sort`

// localTree gives treeScript's listing of a local directory.
func localTree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, rel+" "+info.Mode().String())
		if d.Type().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			out = append(out, hex.EncodeToString(sum[:])+"  ./"+rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// remoteTree gives treeScript's listing of a directory on h.
func remoteTree(t *testing.T, h *testHost, root string) []string {
	t.Helper()
	out := strings.Split(strings.TrimSpace(h.exec(t, fmt.Sprintf(treeScript, root))), "\n")
	slices.Sort(out)
	return out
}

func sameTree(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n%s\nwant:\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func remoteSHA256(t *testing.T, h *testHost, path string) string {
	t.Helper()
	return strings.Fields(h.exec(t, "sha256sum "+path))[0]
}

// randomFile writes size random bytes to path with mode.
func randomFile(t *testing.T, path string, size int, mode fs.FileMode) {
	t.Helper()
	b := make([]byte, size)
	_, _ = rand.Read(b)
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// TestFiles drives scp, mount and the system-ssh side of ssh on two real
// test hosts (n1 on A, n2 on B), which its parts share: scp of files and
// trees both ways, machine to machine, rsync's delta, quiet mode and the
// failures a user can cause; then mount and ssh (filesMountSSH) on n1.
func TestFiles(t *testing.T) {
	hA, hB := startHost(t, dockerImage), startHost(t, dockerImage)
	m := newCLI(t)
	m.createGeneric(t, hA, "n1")
	m.createGeneric(t, hB, "n2")
	local := t.TempDir()
	big := filepath.Join(local, "big.bin")
	randomFile(t, big, 3<<20+123, 0o640)
	bigSum := sha256File(t, big)

	t.Run("local to machine", func(t *testing.T) {
		r := m.ok(t, "scp", big, "n1:/tmp/big.bin")
		if r.Stdout != "" || !strings.Contains(r.Stderr, "big.bin  100%") {
			t.Errorf("stdout %q, stderr %q: want nothing on stdout and the progress on stderr", r.Stdout, r.Stderr)
		}
		if got := remoteSHA256(t, hA, "/tmp/big.bin"); got != bigSum {
			t.Errorf("n1:/tmp/big.bin sha256 %s, want %s", got, bigSum)
		}
		if mode := strings.TrimSpace(hA.exec(t, "stat -c %a /tmp/big.bin")); mode != "640" {
			t.Errorf("mode %s, want 640", mode)
		}
		// Into a directory, under its own name; the login directory by default.
		m.ok(t, "scp", big, "n1:")
		if got := remoteSHA256(t, hA, "/root/big.bin"); got != bigSum {
			t.Errorf("n1:/root/big.bin sha256 %s, want %s", got, bigSum)
		}
	})
	t.Run("machine to local", func(t *testing.T) {
		hA.exec(t, "printf 'made on n1\\n' > '/tmp/with:colon' && chmod 604 '/tmp/with:colon'")
		dst := filepath.Join(t.TempDir(), "got:it")
		m.ok(t, "scp", "n1:/tmp/with:colon", "./"+mustRel(t, dst))
		data, err := os.ReadFile(dst)
		if err != nil || string(data) != "made on n1\n" {
			t.Fatalf("%s = %q, %v", dst, data, err)
		}
		if st, _ := os.Stat(dst); st.Mode().Perm() != 0o604 {
			t.Errorf("mode %v, want 0604", st.Mode().Perm())
		}
		// As a user named before the machine (user@machine:path).
		as := filepath.Join(t.TempDir(), "as-root")
		m.ok(t, "scp", "root@n1:/tmp/with:colon", as)
		if data, err := os.ReadFile(as); err != nil || string(data) != "made on n1\n" {
			t.Errorf("%s = %q, %v", as, data, err)
		}
	})
	t.Run("machine to machine", func(t *testing.T) {
		r := m.ok(t, "scp", "n1:/tmp/big.bin", "n2:/tmp/from-n1.bin")
		if got := remoteSHA256(t, hB, "/tmp/from-n1.bin"); got != bigSum {
			t.Errorf("n2:/tmp/from-n1.bin sha256 %s, want %s", got, bigSum)
		}
		if r.Stdout != "" || !strings.Contains(r.Stderr, "/tmp/big.bin  100%") {
			t.Errorf("stdout %q, stderr %q", r.Stdout, r.Stderr)
		}
		// Within one machine, on one connection.
		m.ok(t, "scp", "-q", "n1:/tmp/big.bin", "n1:/tmp/same.bin")
		if got := remoteSHA256(t, hA, "/tmp/same.bin"); got != bigSum {
			t.Errorf("n1:/tmp/same.bin sha256 %s, want %s", got, bigSum)
		}
		// Nothing is left next to the file (the temporary name was renamed).
		if got := strings.TrimSpace(hB.exec(t, "ls -a /tmp | grep machine- || true")); got != "" {
			t.Errorf("left in n2:/tmp: %q", got)
		}
	})
	t.Run("recursive", func(t *testing.T) {
		src := t.TempDir()
		makeFilesTree(t, src)
		want := localTree(t, filepath.Join(src, "tree"))
		// To a new name on n1, then into an existing directory on n2, then
		// back here.
		m.ok(t, "scp", "-r", filepath.Join(src, "tree"), "n1:/tmp/copied")
		sameTree(t, "n1:/tmp/copied", remoteTree(t, hA, "/tmp/copied"), want)
		hB.exec(t, "mkdir -p /tmp/into")
		m.ok(t, "scp", "-r", "n1:/tmp/copied", "n2:/tmp/into")
		sameTree(t, "n2:/tmp/into/copied", remoteTree(t, hB, "/tmp/into/copied"), want)
		back := filepath.Join(t.TempDir(), "back")
		m.ok(t, "scp", "-r", "n2:/tmp/into/copied", back)
		sameTree(t, "back here", localTree(t, back), want)
	})
	t.Run("delta", func(t *testing.T) {
		src := t.TempDir()
		makeFilesTree(t, src)
		tree := filepath.Join(src, "tree")
		want := localTree(t, tree)
		// To a new name, as scp does.
		m.ok(t, "scp", "-d", "-r", tree, "n1:/tmp/delta-new")
		sameTree(t, "n1:/tmp/delta-new", remoteTree(t, hA, "/tmp/delta-new"), want)
		// Into an existing directory, twice: the second copy sends only
		// what changed.
		hA.exec(t, "mkdir /tmp/delta")
		r := m.ok(t, "scp", "-d", "-r", tree, "n1:/tmp/delta")
		sameTree(t, "n1:/tmp/delta/tree", remoteTree(t, hA, "/tmp/delta/tree"), want)
		if r.Stdout != "" || !strings.Contains(r.Stderr, "sub/b.bin") {
			t.Errorf("stdout %q, stderr %q: want rsync's progress on stderr", r.Stdout, r.Stderr)
		}
		if err := os.WriteFile(filepath.Join(tree, "a.txt"), []byte("alpha, changed\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r = m.ok(t, "scp", "-d", "-r", tree, "n1:/tmp/delta")
		if !strings.Contains(r.Stderr, "a.txt") || strings.Contains(r.Stderr, "b.bin") || strings.Contains(r.Stderr, "run.sh") {
			t.Errorf("second copy's progress %q: want a.txt only", r.Stderr)
		}
		sameTree(t, "n1:/tmp/delta/tree after a change", remoteTree(t, hA, "/tmp/delta/tree"), localTree(t, tree))
		// And back, into an existing directory.
		back := t.TempDir()
		m.ok(t, "scp", "-d", "-r", "n1:/tmp/delta/tree", back)
		sameTree(t, "back here", localTree(t, filepath.Join(back, "tree")), localTree(t, tree))
		// A single file.
		m.ok(t, "scp", "--delta", big, "n1:/tmp/big-delta.bin")
		if got := remoteSHA256(t, hA, "/tmp/big-delta.bin"); got != bigSum {
			t.Errorf("n1:/tmp/big-delta.bin sha256 %s, want %s", got, bigSum)
		}
	})
	t.Run("quiet", func(t *testing.T) {
		for _, args := range [][]string{
			{"scp", "-q", big, "n1:/tmp/quiet.bin"},
			{"scp", "-q", "-r", "n1:/tmp/copied", "n2:/tmp/quiet-tree"},
			{"scp", "-q", "-d", big, "n1:/tmp/quiet-delta.bin"},
			{"scp", "--quiet", "n1:/tmp/quiet.bin", filepath.Join(t.TempDir(), "q")},
		} {
			if r := m.ok(t, args...); r.Stdout != "" || r.Stderr != "" {
				t.Errorf("%v: stdout %q, stderr %q; want both empty", args, r.Stdout, r.Stderr)
			}
		}
	})
	t.Run("local to local", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "copy")
		m.ok(t, "scp", "-q", big, dst)
		if sha256File(t, dst) != bigSum {
			t.Error("local copy differs")
		}
	})
	t.Run("failures", func(t *testing.T) {
		dir := t.TempDir()
		tests := []struct {
			name, want string
			args       []string
		}{
			{"missing remote file", "n1:/tmp/no-such-file: file does not exist", []string{"scp", "n1:/tmp/no-such-file", dir}},
			{"missing local file", "no such file or directory", []string{"scp", filepath.Join(dir, "none"), "n1:/tmp/x"}},
			{"unknown machine", `machine "nosuch" does not exist`, []string{"scp", big, "nosuch:/tmp/x"}},
			{"directory without -r", "n1:/tmp/copied is a directory (copy it with -r)", []string{"scp", "n1:/tmp/copied", dir}},
			{"local directory without -r", dir + " is a directory (copy it with -r)", []string{"scp", dir, "n1:/tmp/x"}},
			{"directory without -r, delta", "is a directory (copy it with -r)", []string{"scp", "-d", "n1:/tmp/copied", dir}},
			{"delta between machines", "rsync cannot copy from one machine to another", []string{"scp", "-d", "n1:/tmp/big.bin", "n2:/tmp/x"}},
			{"one argument", "scp takes a source and a destination", []string{"scp", big}},
			{"empty local path", "scp: a local path is empty", []string{"scp", "", "n1:/tmp/x"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := m.fails(t, tc.want, tc.args...)
				if r.Stdout != "" {
					t.Errorf("stdout %q", r.Stdout)
				}
			})
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("failed copies left %v in %s", entries, dir)
		}
		t.Run("rsync missing here", func(t *testing.T) {
			m.withEnv("PATH="+env.binDir).fails(t, "rsync is not installed on this computer: install rsync, or drop -d", "scp", "-d", big, "n1:/tmp/x")
		})
		t.Run("rsync missing on the machine", func(t *testing.T) {
			hB.exec(t, "mv /usr/bin/rsync /usr/bin/rsync.off")
			defer hB.exec(t, "mv /usr/bin/rsync.off /usr/bin/rsync")
			m.fails(t, "rsync is not installed on n2: install rsync there, or drop -d", "scp", "-d", big, "n2:/tmp/x")
			m.fails(t, "rsync is not installed on n2", "scp", "-d", "n2:/tmp/from-n1.bin", dir)
		})
	})
	filesMountSSH(t, m, hA)
}

// mustRel is path relative to the working directory.
func mustRel(t *testing.T, path string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, path)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// filesMountSSH drives mount and the system-ssh side of ssh on machine n1
// of h: sshfs mounts and unmounts, ssh passes OpenSSH options (port
// forwarding, -C, -o) and exit statuses, --native-ssh=false, and both
// refuse a changed host key and a key the host does not accept (last: it
// changes n1's files in the store, and puts them back when it ends).
func filesMountSSH(t *testing.T, m *machineCLI, h *testHost) {
	h.exec(t, "mkdir -p /srv/data/sub && printf 'hello from n1\\n' > /srv/data/sub/f.txt")

	t.Run("mount", func(t *testing.T) {
		dir := t.TempDir()
		t.Cleanup(func() { _ = exec.Command("fusermount3", "-u", "-z", dir).Run() })
		r := m.ok(t, "mount", "n1:/srv/data", dir)
		if r.Stdout != "" || r.Stderr != "" {
			t.Errorf("mount: stdout %q, stderr %q", r.Stdout, r.Stderr)
		}
		data, err := os.ReadFile(filepath.Join(dir, "sub", "f.txt"))
		if err != nil || string(data) != "hello from n1\n" {
			t.Fatalf("read through the mount: %q, %v", data, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "written-here"), []byte("x"), 0o644); err != nil {
			t.Fatalf("write through the mount: %v", err)
		}
		if got := h.exec(t, "cat /srv/data/written-here"); got != "x" {
			t.Errorf("n1:/srv/data/written-here = %q", got)
		}
		if !mounted(t, dir) {
			t.Fatalf("%s is not in /proc/self/mountinfo", dir)
		}
		m.ok(t, "mount", "-u", dir)
		if mounted(t, dir) {
			t.Errorf("%s is still mounted after mount -u", dir)
		}
		if _, err := os.Stat(filepath.Join(dir, "sub")); !os.IsNotExist(err) {
			t.Errorf("after mount -u, %s/sub: %v", dir, err)
		}
	})
	t.Run("mount failures", func(t *testing.T) {
		dir := t.TempDir()
		m.withEnv("PATH="+env.binDir).fails(t, "mount: sshfs is not installed: install it", "mount", "n1:/srv/data", dir)
		m.fails(t, `machine "nosuch" does not exist`, "mount", "nosuch:/srv/data", dir)
		m.fails(t, "mount point "+filepath.Join(dir, "none")+": no such file or directory: create the directory first", "mount", "n1:/srv/data", filepath.Join(dir, "none"))
		m.fails(t, "mount -u "+dir+": nothing is mounted there", "mount", "-u", dir)
		m.fails(t, "mount takes [machine:]PATH and an optional mount point, got 0 arguments", "mount")
		// No FUSE device: the binary runs in a mount namespace of its own
		// where /dev is an empty tmpfs.
		cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
			`mount -t tmpfs none /dev && exec "$@"`, "sh", env.bin, "-s", m.store, "mount", "n1:/srv/data", dir)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		wantFailure(t, result{Stderr: string(out), Code: code}, "mount: FUSE is not available: /dev/fuse: no such file or directory: load the fuse kernel module", "mount without /dev/fuse: ")
	})
	t.Run("ssh options", func(t *testing.T) {
		r := m.ok(t, "ssh", "n1", "-C", "echo", "foo")
		if r.Stdout != "foo\n" {
			t.Errorf("ssh n1 -C echo foo: %q", r.Stdout)
		}
		m.fails(t, `machine "nosuch" does not exist`, "ssh", "nosuch", "-C", "true")
		m.withEnv("PATH="+env.binDir).fails(t, "the system's ssh client (OpenSSH) is not installed: install it", "ssh", "n1", "-C", "true")
		r = m.run(t, "ssh", "n1", "-o", "LogLevel=ERROR", "--", "echo hi; exit 7")
		if r.Code != 7 || r.Stdout != "hi\n" {
			t.Errorf("ssh n1 -o ... -- 'echo hi; exit 7': exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
		}
	})
	t.Run("ssh port forwarding", func(t *testing.T) {
		// The host's sshd on its loopback, reached only through the tunnel.
		port := strconv.Itoa(standin.ClosedPort(t))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, env.bin, "-s", m.store, "ssh", "n1", "-L", "127.0.0.1:"+port+":127.0.0.1:22",
			"-o", "ExitOnForwardFailure=yes", "--", "sleep 60")
		var stderr testio.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// SIGTERM, as a service manager stops machine: machine passes it on
		// to ssh, and both end.
		defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
		var banner string
		for i := 0; i < 300 && banner == ""; i++ {
			if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				banner, _ = bufio.NewReader(c).ReadString('\n')
				_ = c.Close()
			}
			if banner == "" {
				time.Sleep(100 * time.Millisecond)
			}
		}
		if !strings.HasPrefix(banner, "SSH-2.0-OpenSSH") {
			t.Fatalf("through the forwarded port: %q; ssh's stderr: %s", banner, stderr.String())
		}
	})
	t.Run("system ssh without options", func(t *testing.T) {
		r := m.ok(t, "--native-ssh=false", "ssh", "n1", "echo", "hi")
		if r.Stdout != "hi\n" {
			t.Errorf("--native-ssh=false ssh n1 echo hi: %q", r.Stdout)
		}
		r = m.withEnv("MACHINE_NATIVE_SSH=0").run(t, "--debug", "ssh", "n1", "ls -d /srv/data; exit 5")
		if r.Code != 5 || r.Stdout != "/srv/data\n" || !strings.Contains(r.Stderr, "ssh: /usr/bin/ssh ") || !strings.Contains(r.Stderr, "StrictHostKeyChecking=yes") {
			t.Errorf("MACHINE_NATIVE_SSH=0 ssh: exit %d, stdout %q, stderr %q; want exit 5 through the system's ssh", r.Code, r.Stdout, r.Stderr)
		}
		// The native client by default: no system ssh in the debug output.
		r = m.run(t, "--debug", "ssh", "n1", "exit 4")
		if r.Code != 4 || strings.Contains(r.Stderr, "/usr/bin/ssh") {
			t.Errorf("ssh n1 'exit 4': exit %d, stderr %q; want 4 from the native client", r.Code, r.Stderr)
		}
	})
	t.Run("refused", func(t *testing.T) {
		machineDir := filepath.Join(m.store, "machines", "n1")
		keep := func(name string) {
			p := filepath.Join(machineDir, name)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.WriteFile(p, data, 0o600) })
		}
		// A key the host does not accept.
		keep("id_ed25519")
		_, other, _ := ed25519.GenerateKey(rand.Reader)
		block, _ := ssh.MarshalPrivateKey(other, "")
		if err := os.WriteFile(filepath.Join(machineDir, "id_ed25519"), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		r := m.run(t, "ssh", "n1", "-o", "BatchMode=yes", "true")
		if r.Code != 255 || !strings.Contains(r.Stderr, "Permission denied") {
			t.Errorf("ssh with a wrong key: exit %d, stderr %q; want 255 and permission denied", r.Code, r.Stderr)
		}
		m.fails(t, "ssh cannot log in: root@"+h.IP+": Permission denied", "mount", "n1:/srv/data", t.TempDir())

		// A changed host key.
		keep("known_hosts")
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		sshPub, _ := ssh.NewPublicKey(pub)
		line := h.IP + " " + string(ssh.MarshalAuthorizedKey(sshPub))
		if err := os.WriteFile(filepath.Join(machineDir, "known_hosts"), []byte(line), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"ssh", "n1", "-C", "true"}, {"--native-ssh=false", "ssh", "n1", "true"}} {
			r := m.run(t, args...)
			if r.Code != 255 || !strings.Contains(r.Stderr, "Host key verification failed") {
				t.Errorf("%v with a changed host key: exit %d, stderr %q; want 255 and the key refused", args, r.Code, r.Stderr)
			}
		}
		m.fails(t, "ssh cannot log in: Host key verification failed", "mount", "n1:/srv/data", t.TempDir())
		m.fails(t, "host key of "+h.IP+":22 changed", "scp", "n1:/srv/data/sub/f.txt", t.TempDir())
	})
}

// mounted reports whether dir is a mount point, from /proc/self/mountinfo.
func mounted(t *testing.T, dir string) bool {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}

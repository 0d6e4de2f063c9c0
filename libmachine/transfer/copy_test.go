package transfer_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/machine-cli/machine/libmachine/transfer"
	"github.com/machine-cli/machine/sshclient"
	"github.com/machine-cli/machine/sshclient/sshtest"
)

// writeTree makes files (path -> content) and sets modes (path -> mode)
// under root.
func writeTree(t testing.TB, root string, files map[string]string, modes map[string]fs.FileMode) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, mode := range modes {
		if err := os.Chmod(filepath.Join(root, name), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// tree lists root as "path mode [content]" lines, sorted.
func tree(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		line := rel + " " + info.Mode().String()
		if d.Type().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += " " + string(data)
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestCopyLocal(t *testing.T) {
	files := map[string]string{"d/a.txt": "a", "d/sub/b.sh": "#!/bin/sh", "d/sub/deeper/c": "c", "f.txt": "file"}
	modes := map[string]fs.FileMode{"d/sub/b.sh": 0o755, "d/sub": 0o750, "f.txt": 0o600}
	tests := []struct {
		name      string
		src, dst  string // relative to the source and destination roots
		recursive bool
		prepare   func(t *testing.T, dst string)
		want      []string // tree of the destination root
		wantErr   string
	}{
		{name: "file to new name", src: "f.txt", dst: "g.txt", want: []string{". drwx------", "g.txt -rw------- file"}},
		{name: "file into directory", src: "f.txt", dst: ".", want: []string{". drwx------", "f.txt -rw------- file"}},
		{name: "file over file", src: "f.txt", dst: "g.txt", prepare: func(t *testing.T, dst string) {
			writeTree(t, dst, map[string]string{"g.txt": "old content, longer"}, nil)
		}, want: []string{". drwx------", "g.txt -rw------- file"}},
		{name: "directory without -r", src: "d", dst: "x", wantErr: "is a directory (copy it with -r)"},
		{name: "directory to new name", src: "d", dst: "x", recursive: true, want: []string{
			". drwx------", "x drwxr-xr-x", "x/a.txt -rw-r--r-- a", "x/sub drwxr-x---", "x/sub/b.sh -rwxr-xr-x #!/bin/sh",
			"x/sub/deeper drwxr-xr-x", "x/sub/deeper/c -rw-r--r-- c"}},
		{name: "directory into directory", src: "d/", dst: ".", recursive: true, want: []string{
			". drwx------", "d drwxr-xr-x", "d/a.txt -rw-r--r-- a", "d/sub drwxr-x---", "d/sub/b.sh -rwxr-xr-x #!/bin/sh",
			"d/sub/deeper drwxr-xr-x", "d/sub/deeper/c -rw-r--r-- c"}},
		{name: "directory onto file", src: "d", dst: "g", recursive: true, prepare: func(t *testing.T, dst string) {
			writeTree(t, dst, map[string]string{"g": "x"}, nil)
		}, wantErr: "is not a directory: cannot copy directory"},
		{name: "missing source", src: "nope", dst: "x", wantErr: "no such file or directory"},
		{name: "destination directory missing", src: "f.txt", dst: "no/dir/g", wantErr: "no such file or directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srcRoot, dstRoot := t.TempDir(), t.TempDir()
			if err := os.Chmod(dstRoot, 0o700); err != nil {
				t.Fatal(err)
			}
			writeTree(t, srcRoot, files, modes)
			if tc.prepare != nil {
				tc.prepare(t, dstRoot)
			}
			err := transfer.Copy(context.Background(), transfer.Local{}, filepath.Join(srcRoot, tc.src), transfer.Local{}, filepath.Join(dstRoot, tc.dst), transfer.Options{Recursive: tc.recursive})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Copy: %v, want an error containing %q", err, tc.wantErr)
				}
				if tc.prepare == nil {
					if got := tree(t, dstRoot); len(got) != 1 {
						t.Errorf("a failed copy left %q", got)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Copy: %v", err)
			}
			if got := tree(t, dstRoot); !slices.Equal(got, tc.want) {
				t.Errorf("destination:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestCopyErrIsDirectory(t *testing.T) {
	err := transfer.Copy(context.Background(), transfer.Local{}, t.TempDir(), transfer.Local{}, filepath.Join(t.TempDir(), "x"), transfer.Options{})
	if !errors.Is(err, transfer.ErrIsDirectory) {
		t.Fatalf("Copy of a directory without Recursive: %v, want ErrIsDirectory", err)
	}
}

// TestCopyProgress: each file reports its start and its end.
func TestCopyProgress(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{"a": strings.Repeat("x", 3<<20), "empty": ""}, nil)
	var got []transfer.Progress
	opts := transfer.Options{Recursive: true, Progress: func(p transfer.Progress) { got = append(got, p) }}
	if err := transfer.Copy(context.Background(), transfer.Local{}, src, transfer.Local{}, filepath.Join(t.TempDir(), "x"), opts); err != nil {
		t.Fatal(err)
	}
	ends := map[string]bool{}
	for _, p := range got {
		if p.Done > p.Size {
			t.Errorf("progress past the end: %+v", p)
		}
		if p.Done == p.Size {
			ends[filepath.Base(p.Path)] = true
		}
	}
	if !ends["a"] || !ends["empty"] || got[0].Done != 0 {
		t.Errorf("progress %+v: want a start and an end for each file", got)
	}
}

// TestCopyCancelled: a cancelled copy leaves no file, complete or partial.
func TestCopyCancelled(t *testing.T) {
	src := filepath.Join(t.TempDir(), "big")
	writeTree(t, filepath.Dir(src), map[string]string{"big": strings.Repeat("y", 8<<20)}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	dst := t.TempDir()
	opts := transfer.Options{Progress: func(p transfer.Progress) {
		if p.Done > 1<<20 {
			cancel()
		}
	}}
	err := transfer.Copy(ctx, transfer.Local{}, src, transfer.Local{}, dst, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Copy: %v, want context.Canceled", err)
	}
	if got := tree(t, dst); len(got) != 1 {
		t.Errorf("a cancelled copy left %q", got)
	}
}

// sftpFS connects to a test SSH server serving this machine's file system
// and returns it as an SFTP file system.
func sftpFS(t testing.TB) transfer.FS {
	t.Helper()
	srv := sshtest.NewServer(t, sshtest.Options{})
	c, err := sshclient.Dial(context.Background(), sshclient.Config{Host: srv.Host, Port: srv.Port, User: "root",
		KeyPath: srv.ClientKeyPath, KnownHostsPath: filepath.Join(t.TempDir(), "known_hosts")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	s, err := c.SFTP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return transfer.SFTP{Client: s, Label: "m1"}
}

// TestCopySFTP copies a tree to an SFTP server, from it, and from it to
// itself, comparing content and modes.
func TestCopySFTP(t *testing.T) {
	remote := sftpFS(t)
	src := t.TempDir()
	writeTree(t, src, map[string]string{"a.txt": "a", "sub/b.sh": "b", "sub/big": strings.Repeat("z", 5<<20+17)},
		map[string]fs.FileMode{"sub/b.sh": 0o751, "sub": 0o710})
	want := tree(t, src)
	opts := transfer.Options{Recursive: true}

	up := filepath.Join(t.TempDir(), "up")
	if err := transfer.Copy(context.Background(), transfer.Local{}, src, remote, up, opts); err != nil {
		t.Fatalf("to SFTP: %v", err)
	}
	down := filepath.Join(t.TempDir(), "down")
	if err := transfer.Copy(context.Background(), remote, up, transfer.Local{}, down, opts); err != nil {
		t.Fatalf("from SFTP: %v", err)
	}
	across := filepath.Join(t.TempDir(), "across")
	if err := transfer.Copy(context.Background(), remote, up, remote, across, opts); err != nil {
		t.Fatalf("SFTP to SFTP: %v", err)
	}
	for _, dir := range []string{up, down, across} {
		if got := tree(t, dir); !slices.Equal(got, want) {
			t.Errorf("%s:\n%s\nwant:\n%s", filepath.Base(dir), strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	err := transfer.Copy(context.Background(), remote, filepath.Join(up, "missing"), transfer.Local{}, down, opts)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "m1:"+filepath.Join(up, "missing")) {
		t.Errorf("missing remote file: %v, want not exist naming m1:path", err)
	}
}

// TestSFTPTempPrivate: over SFTP, a file being written sits in a directory
// only its owner can enter (SFTP creates files with the server's umask), and
// Discard leaves nothing behind.
func TestSFTPTempPrivate(t *testing.T) {
	remote := sftpFS(t)
	dir := t.TempDir()
	w, err := remote.CreateTemp(filepath.Join(dir, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("s3cret")); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || !entries[0].IsDir() {
		t.Fatalf("while writing, %s holds %v; want one directory", dir, entries)
	}
	if info, _ := entries[0].Info(); info.Mode().Perm() != 0o700 {
		t.Errorf("temporary directory mode %v, want 0700", info.Mode().Perm())
	}
	w.Discard()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("after Discard, %s holds %v", dir, entries)
	}
	w, err = remote.CreateTemp(filepath.Join(dir, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("s3cret")); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(0o600); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, dir); !slices.Equal(got, []string{". " + mustMode(t, dir), "secret -rw------- s3cret"}) {
		t.Errorf("after Commit: %q", got)
	}
}

func mustMode(t *testing.T, p string) string {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().String()
}

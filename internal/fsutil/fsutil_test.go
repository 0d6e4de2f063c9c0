package fsutil

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/machine-cli/machine/internal/fsutil/fsutiltest"
	"golang.org/x/sys/unix"
)

// helperLockEnv, when set, makes the test binary a helper process instead of
// running tests: it calls LockFile on the path it names, writes "locked\n"
// on stdout once it holds the lock, and unlocks and exits when its stdin
// closes.
const helperLockEnv = "FSUTIL_TEST_HELPER_LOCK"

func TestMain(m *testing.M) {
	if path := os.Getenv(helperLockEnv); path != "" {
		os.Exit(lockHelper(path))
	}
	os.Exit(m.Run())
}

func lockHelper(path string) int {
	l, err := LockFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := l.Unlock(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// leftovers lists the names in dir other than keep.
func leftovers(t *testing.T, dir string, keep ...string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !slices.Contains(keep, e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestWriteFileAtomic(t *testing.T) {
	tests := []struct {
		name    string
		old     []byte // nil: no file before
		oldPerm os.FileMode
		data    []byte
		perm    os.FileMode
	}{
		{"new file", nil, 0, []byte("hello"), 0o600},
		{"replace a longer file", []byte("old content that is longer"), 0o600, []byte("new"), 0o644},
		{"replace with empty", []byte("x"), 0o644, []byte{}, 0o600},
		{"replace keeps nothing of the old mode", []byte("x"), 0o777, []byte("y"), 0o640},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "config.json")
			if tc.old != nil {
				if err := os.WriteFile(path, tc.old, tc.oldPerm); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tc.oldPerm); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteFileAtomic(path, tc.data, tc.perm); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, tc.data) {
				t.Fatalf("content %q, %v; want %q", got, err, tc.data)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tc.perm {
				t.Errorf("mode %v, want %v", fi.Mode().Perm(), tc.perm)
			}
			if names := leftovers(t, dir, "config.json"); len(names) > 0 {
				t.Errorf("files left in the directory: %v", names)
			}
		})
	}
}

// limitFileSize lowers RLIMIT_FSIZE for this process until the test ends, so
// that a write past limit bytes of a regular file fails with EFBIG (Go
// ignores the SIGXFSZ that comes with it).
func limitFileSize(t *testing.T, limit uint64) {
	t.Helper()
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: limit, Max: old.Max}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
			t.Errorf("restore RLIMIT_FSIZE: %v", err)
		}
	})
}

// TestWriteFileAtomicFailure: a write that fails leaves the old file (or
// directory) as it was, no new file, and no temporary file behind, whichever
// step failed.
func TestWriteFileAtomicFailure(t *testing.T) {
	const limit = 4096
	old := []byte("old content\n")
	big := bytes.Repeat([]byte("new content that does not fit\n"), 1000) // ~30 KiB
	tests := []struct {
		name string
		// setup prepares dir and returns the path to write.
		setup func(t *testing.T, dir string) string
		data  []byte
		// check verifies what is at path after the failed write.
		check   func(t *testing.T, path string)
		wantErr error
	}{
		{
			name: "directory missing: the temp file cannot be made",
			setup: func(t *testing.T, dir string) string {
				return filepath.Join(dir, "missing-dir", "config.json")
			},
			data:    old,
			check:   wantMissing,
			wantErr: syscall.ENOENT,
		},
		{
			name: "write fails half way (file size limit): the old file stays",
			setup: func(t *testing.T, dir string) string {
				path := filepath.Join(dir, "config.json")
				if err := os.WriteFile(path, old, 0o644); err != nil {
					t.Fatal(err)
				}
				limitFileSize(t, limit)
				return path
			},
			data:    big,
			check:   wantContent(old, 0o644),
			wantErr: syscall.EFBIG,
		},
		{
			name: "write fails half way (file size limit): no new file",
			setup: func(t *testing.T, dir string) string {
				limitFileSize(t, limit)
				return filepath.Join(dir, "config.json")
			},
			data:    big,
			check:   wantMissing,
			wantErr: syscall.EFBIG,
		},
		{
			name: "rename fails (a directory is in the way): the directory stays",
			setup: func(t *testing.T, dir string) string {
				path := filepath.Join(dir, "config.json")
				if err := os.Mkdir(path, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(path, "inside"), old, 0o644); err != nil {
					t.Fatal(err)
				}
				return path
			},
			data: old,
			check: func(t *testing.T, path string) {
				got, err := os.ReadFile(filepath.Join(path, "inside"))
				if err != nil || !bytes.Equal(got, old) {
					t.Errorf("the directory in the way was changed: %q, %v", got, err)
				}
			},
			wantErr: syscall.EEXIST, // os.Rename refuses to replace a directory
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tc.setup(t, dir)
			err := WriteFileAtomic(path, tc.data, 0o600)
			if err == nil {
				t.Fatal("the write succeeded")
			}
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			tc.check(t, path)
			if names := leftovers(t, dir, "config.json"); len(names) > 0 {
				t.Errorf("files left in the directory: %v", names)
			}
		})
	}
}

func wantMissing(t *testing.T, path string) {
	t.Helper()
	if ok, err := Exists(path); ok || err != nil {
		t.Errorf("Exists(%s) = %v, %v after a failed write, want false", path, ok, err)
	}
}

func wantContent(data []byte, perm os.FileMode) func(*testing.T, string) {
	return func(t *testing.T, path string) {
		t.Helper()
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("after a failed write the file holds %d bytes %.40q, %v; want the old %q", len(got), got, err, data)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != perm {
			t.Errorf("after a failed write the mode is %v, %v; want the old %v", fi.Mode().Perm(), err, perm)
		}
	}
}

// TestWriteFileAtomicReadersSeeOldOrNew: while one writer replaces a file
// over and over, readers always find it, with one whole version: never a
// missing file, an empty one or a mix.
func TestWriteFileAtomicReadersSeeOldOrNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	versions := [][]byte{
		bytes.Repeat([]byte("a"), 64<<10),
		bytes.Repeat([]byte("b"), 64<<10),
	}
	if err := WriteFileAtomic(path, versions[0], 0o600); err != nil {
		t.Fatal(err)
	}
	var (
		done  atomic.Bool
		reads atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		bad   []string
	)
	for range 2 {
		wg.Go(func() {
			for !done.Load() {
				got, err := os.ReadFile(path)
				reads.Add(1)
				if err != nil || !(bytes.Equal(got, versions[0]) || bytes.Equal(got, versions[1])) {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("%d bytes %.20q, %v", len(got), got, err))
					mu.Unlock()
				}
			}
		})
	}
	for i := range 50 {
		if err := WriteFileAtomic(path, versions[(i+1)%2], 0o600); err != nil {
			t.Error(err)
			break
		}
	}
	done.Store(true)
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("%d of %d reads saw neither version, e.g. %s", len(bad), reads.Load(), bad[0])
	}
	if names := leftovers(t, filepath.Dir(path), "config.json"); len(names) > 0 {
		t.Errorf("files left in the directory: %v", names)
	}
}

// waitBlocked waits until n lockers wait for the lock on path.
func waitBlocked(t *testing.T, path string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for fsutiltest.BlockedOn(t, path) < n {
		if time.Now().After(deadline) {
			t.Fatalf("after 10s %d lockers wait for %s, want %d", fsutiltest.BlockedOn(t, path), path, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// locker is a second LockFile caller, in this process or another.
type locker struct {
	acquired <-chan error // gets nil once the lock is held
	release  func()       // unlocks and waits until it is released
}

func goroutineLocker(t *testing.T, path string) locker {
	acquired, release, released := make(chan error, 1), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(released)
		l, err := LockFile(path)
		acquired <- err
		if err != nil {
			return
		}
		<-release
		if err := l.Unlock(); err != nil {
			t.Error(err)
		}
	}()
	return locker{acquired: acquired, release: func() { close(release); <-released }}
}

func processLocker(t *testing.T, path string) locker {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperLockEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acquired := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err == nil && line != "locked\n" {
			err = fmt.Errorf("helper said %q", line)
		}
		acquired <- err
	}()
	var once sync.Once
	release := func() {
		once.Do(func() {
			_ = stdin.Close()
			if err := cmd.Wait(); err != nil {
				t.Errorf("lock helper: %v\n%s", err, stderr.String())
			}
		})
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		release()
	})
	return locker{acquired: acquired, release: release}
}

// TestLockFileExcludes: a second LockFile on the same path, from this
// process or another, waits in flock until the first is unlocked, then
// gets the lock.
func TestLockFileExcludes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(t *testing.T, path string) locker
	}{
		{"goroutine", goroutineLocker},
		{"process", processLocker},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), ".lock")
			l, err := LockFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("lock file mode %v, %v; want 0600", fi.Mode().Perm(), err)
			}
			second := tc.start(t, path)
			waitBlocked(t, path, 1)
			select {
			case err := <-second.acquired:
				t.Fatalf("the second LockFile returned (%v) while the first held the lock", err)
			default:
			}
			if err := l.Unlock(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-second.acquired:
				if err != nil {
					t.Fatalf("the second LockFile: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the second LockFile did not get the lock within 10s of Unlock")
			}
			second.release()
			// Released for good: a third locker gets it.
			third := goroutineLocker(t, path)
			select {
			case err := <-third.acquired:
				if err != nil {
					t.Fatal(err)
				}
				third.release()
			case <-time.After(10 * time.Second):
				t.Fatal("the lock was not free within 10s of the second locker's Unlock")
			}
		})
	}
}

func TestTryLockFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")
	first, err := TryLockFile(path)
	if err != nil || first == nil {
		t.Fatalf("TryLockFile on a free lock = %v, %v; want the lock", first, err)
	}
	for _, tc := range []struct {
		name  string
		start func(t *testing.T, path string) locker
	}{
		{"goroutine", goroutineLocker},
		{"process", processLocker},
	} {
		t.Run("held by a "+tc.name, func(t *testing.T) {
			if tc.name == "process" {
				// Another process holds it: release ours and let it lock.
				if err := first.Unlock(); err != nil {
					t.Fatal(err)
				}
				other := tc.start(t, path)
				if err := <-other.acquired; err != nil {
					t.Fatal(err)
				}
				defer other.release()
			}
			l, err := TryLockFile(path)
			if err != nil || l != nil {
				t.Fatalf("TryLockFile on a held lock = %v, %v; want nil, nil", l, err)
			}
		})
	}
	again, err := TryLockFile(path)
	if err != nil || again == nil {
		t.Fatalf("TryLockFile after the holder left = %v, %v; want the lock", again, err)
	}
	_ = again.Unlock()
	if _, err := TryLockFile(filepath.Join(t.TempDir(), "missing", ".lock")); err == nil {
		t.Error("TryLockFile in a missing directory succeeded")
	}
}

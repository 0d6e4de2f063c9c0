package fsutil

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

func TestWriteFileAtomic(t *testing.T) {
	tests := []struct {
		name string
		old  []byte // nil: no file before
		data []byte
		perm os.FileMode
	}{
		{"new file", nil, []byte("hello"), 0o600},
		{"replace", []byte("old content that is longer"), []byte("new"), 0o644},
		{"empty", []byte("x"), []byte{}, 0o600},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "config.json")
			if tc.old != nil {
				if err := os.WriteFile(path, tc.old, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteFileAtomic(path, tc.data, tc.perm); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != string(tc.data) {
				t.Fatalf("content %q, %v; want %q", got, err, tc.data)
			}
			fi, err := os.Stat(path)
			if err != nil || fi.Mode().Perm() != tc.perm {
				t.Errorf("mode %v, %v; want %v", fi.Mode().Perm(), err, tc.perm)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("files left in the directory: %v", entries)
			}
		})
	}
}

func TestWriteFileAtomicFailureKeepsNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "config.json")
	if err := WriteFileAtomic(path, []byte("x"), 0o600); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
	if ok, err := Exists(path); ok || err != nil {
		t.Errorf("Exists = %v, %v after a failed write", ok, err)
	}
}

func TestLockFileExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")
	l, err := LockFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var acquired atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		l2, err := LockFile(path)
		if err != nil {
			t.Error(err)
			return
		}
		acquired.Store(true)
		_ = l2.Unlock()
	}()
	time.Sleep(100 * time.Millisecond)
	if acquired.Load() {
		t.Fatal("a second LockFile got the lock while the first held it")
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	<-done
	if !acquired.Load() {
		t.Fatal("the second LockFile never got the lock")
	}
}

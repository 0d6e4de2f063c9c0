package sshclient_test

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/machine-cli/machine/sshclient/sshtest"
)

// TestSFTP writes a file over an SFTP session on the connection and reads
// it back, on a server whose file system is this machine's.
func TestSFTP(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	c := dial(t, config(t, srv, filepath.Join(t.TempDir(), "known_hosts")))
	s, err := c.SFTP()
	if err != nil {
		t.Fatalf("SFTP: %v", err)
	}
	defer s.Close()
	name := filepath.Join(t.TempDir(), "f")
	f, err := s.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("over sftp\n")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(name); err != nil || string(data) != "over sftp\n" {
		t.Fatalf("file = %q, %v", data, err)
	}
	r, err := s.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if data, err := io.ReadAll(r); err != nil || string(data) != "over sftp\n" {
		t.Fatalf("read back %q, %v", data, err)
	}
	if _, err := s.Stat(filepath.Join(t.TempDir(), "missing")); !os.IsNotExist(err) {
		t.Errorf("Stat of a missing file: %v, want not exist", err)
	}
}

package sshkey

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestEnsure: the key is made once, ed25519, private 0600 and parseable,
// the public key matching it; a second call returns the same key.
func TestEnsure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "id_ed25519")
	pub, err := Ensure(path, "machine dev")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pub, "ssh-ed25519 ") {
		t.Errorf("public key %q", pub)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key: %v %v", fi, err)
	}
	data, _ := os.ReadFile(path)
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))); got != pub {
		t.Errorf("private key's public half %q, want %q", got, pub)
	}
	again, err := Ensure(path, "machine dev")
	if err != nil || again != pub {
		t.Errorf("second call: %q, %v; want the same key", again, err)
	}
}

// TestEnsureUnreadable: a public key that cannot be read is an error, not
// a new key over the old one.
func TestEnsureUnreadable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "id_ed25519")
	if err := os.Mkdir(path+".pub", 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(path, "x"); err == nil || !strings.Contains(err.Error(), "SSH key") {
		t.Errorf("err = %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("a private key was written")
	}
}

// Package sshkey makes the SSH key pair of a local VM machine: ed25519, the
// private key in OpenSSH format (0600), the public key beside it with
// ".pub" in authorized_keys form. The local VM drivers (qemu, virtualbox)
// give the public key to the VM's first boot.
package sshkey

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/machine-cli/machine/internal/fsutil"
)

// Ensure makes the key pair at path (and path+".pub") unless the public
// key exists already, and returns the public key as an authorized_keys
// line. comment is written into the private key.
func Ensure(path, comment string) (string, error) {
	if pub, err := os.ReadFile(path + ".pub"); err == nil {
		return strings.TrimSpace(string(pub)), nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("SSH key: %w", err)
	}
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("make an SSH key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(sk, comment)
	if err != nil {
		return "", fmt.Errorf("make an SSH key: %w", err)
	}
	spk, err := ssh.NewPublicKey(pk)
	if err != nil {
		return "", fmt.Errorf("make an SSH key: %w", err)
	}
	if err := fsutil.WriteFileAtomic(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return "", fmt.Errorf("SSH key: %w", err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(spk)))
	if err := fsutil.WriteFileAtomic(path+".pub", []byte(line+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("SSH key: %w", err)
	}
	return line, nil
}

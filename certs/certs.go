// Package certs makes and checks the TLS material of a store and its
// machines: the store's CA and client pair, each machine's server pair, and
// the client TLS config used to reach a machine's dockerd.
//
// The layout is docker-machine's, so stores it wrote keep working: a store's
// certs dir holds ca.pem, ca-key.pem, cert.pem and key.pem; a machine dir
// holds copies of ca.pem, cert.pem and key.pem and its own server.pem and
// server-key.pem.
//
// Keys made here are ECDSA P-256, written as PKCS#8 ("PRIVATE KEY" PEM).
// Keys read may also be PKCS#1 RSA ("RSA PRIVATE KEY", docker-machine's) or
// SEC1 EC ("EC PRIVATE KEY").
package certs

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/machine-cli/machine/internal/fsutil"
)

// File names in a certs dir and a machine dir.
const (
	// CAFile is the CA certificate.
	CAFile = "ca.pem"
	// CAKeyFile is the CA private key (certs dir only).
	CAKeyFile = "ca-key.pem"
	// CertFile is the client certificate.
	CertFile = "cert.pem"
	// KeyFile is the client private key.
	KeyFile = "key.pem"
	// ServerCertFile is a machine's server certificate (machine dir only).
	ServerCertFile = "server.pem"
	// ServerKeyFile is a machine's server private key (machine dir only).
	ServerKeyFile = "server-key.pem"
)

// lockFile, in a certs dir, serializes EnsureStoreCerts and RenewStoreCerts
// across processes.
const lockFile = ".lock"

// Paths are the files of a store's certs dir.
type Paths struct {
	CACert, CAKey, ClientCert, ClientKey string
}

// EnsureStoreCerts makes dir (0700) and the CA and client cert/key in it
// when they are missing, and returns their paths.
//
// It holds an exclusive lock on dir/.lock while it checks and creates, so
// concurrent callers (goroutines or processes) on a new store end with one
// CA and a client cert signed by it. Existing files are kept, whatever key
// format they use. A new CA always gets a new client pair; with an existing
// CA, the client pair is made when cert.pem or key.pem is missing. It returns
// an error, saying how to fix the store, when the CA cert or key is missing
// without the other, when a key does not match its cert, or when cert.pem
// does not verify against ca.pem.
func EnsureStoreCerts(dir, org string) (Paths, error) {
	p, lock, err := lockStoreDir(dir, "ensure store certs")
	if err != nil {
		return Paths{}, err
	}
	defer lock.Unlock() //nolint:errcheck // closing the file releases the lock anyway
	if err := ensureStoreCerts(p, org); err != nil {
		return Paths{}, err
	}
	return p, nil
}

// lockStoreDir makes the certs dir dir (0700), takes its lock (dir/.lock)
// and returns the paths of its CA and client pair; op ("ensure store
// certs") leads its errors.
func lockStoreDir(dir, op string) (Paths, *fsutil.Lock, error) {
	if dir == "" {
		return Paths{}, nil, errors.New(op + ": empty certs dir")
	}
	p := Paths{
		CACert:     filepath.Join(dir, CAFile),
		CAKey:      filepath.Join(dir, CAKeyFile),
		ClientCert: filepath.Join(dir, CertFile),
		ClientKey:  filepath.Join(dir, KeyFile),
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Paths{}, nil, fmt.Errorf("make certs dir %q: %w", dir, err)
	}
	lock, err := fsutil.LockFile(filepath.Join(dir, lockFile))
	if err != nil {
		return Paths{}, nil, fmt.Errorf("%s in %q: %w", op, dir, err)
	}
	return p, lock, nil
}

// ensureStoreCerts does EnsureStoreCerts' work; the caller holds the lock.
func ensureStoreCerts(p Paths, org string) error {
	caExists, err := exists(p.CACert)
	if err != nil {
		return err
	}
	caKeyExists, err := exists(p.CAKey)
	if err != nil {
		return err
	}

	var (
		ca    *x509.Certificate
		caKey crypto.Signer
		newCA bool
	)
	switch {
	case !caExists && caKeyExists:
		return fmt.Errorf("ca key %q exists without its cert %q: restore %q (each machine dir has a copy) or remove %q to make a new ca",
			p.CAKey, p.CACert, p.CACert, p.CAKey)
	case caExists && !caKeyExists:
		return fmt.Errorf("ca cert %q exists without its key %q: restore the key, or remove %q to make a new ca (then regenerate every machine's certs)",
			p.CACert, p.CAKey, p.CACert)
	case !caExists:
		if ca, caKey, err = createCA(p.CACert, p.CAKey, org); err != nil {
			return err
		}
		newCA = true
	default:
		if ca, caKey, err = loadCA(p.CACert, p.CAKey); err != nil {
			return fmt.Errorf("%w (remove %q and %q to make a new ca, then regenerate every machine's certs)", err, p.CACert, p.CAKey)
		}
	}

	certExists, err := exists(p.ClientCert)
	if err != nil {
		return err
	}
	keyExists, err := exists(p.ClientKey)
	if err != nil {
		return err
	}
	if newCA || !certExists || !keyExists {
		return createClient(ca, caKey, p.ClientCert, p.ClientKey, org)
	}
	return checkClient(p)
}

// checkClient returns an error, saying how to fix it, when the client pair
// does not match or its cert does not verify against the CA.
func checkClient(p Paths) error {
	fix := fmt.Sprintf("remove %q and %q to make a new client pair signed by %q", p.ClientCert, p.ClientKey, p.CACert)
	cert, err := verifyLeaf(p.CACert, p.ClientCert, x509.ExtKeyUsageClientAuth, "")
	if err != nil {
		return fmt.Errorf("client cert %q does not verify against ca %q (%s): %w", p.ClientCert, p.CACert, fix, err)
	}
	key, err := readKey(p.ClientKey)
	if err != nil {
		return fmt.Errorf("%w (%s)", err, fix)
	}
	if err := keyMatches(cert, key); err != nil {
		return fmt.Errorf("client key %q does not match client cert %q (%s): %w", p.ClientKey, p.ClientCert, fix, err)
	}
	return nil
}

// exists reports whether path exists.
func exists(path string) (bool, error) {
	ok, err := fsutil.Exists(path)
	if err != nil {
		return false, fmt.Errorf("stat %q: %w", path, err)
	}
	return ok, nil
}

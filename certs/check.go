package certs

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"time"
)

// CheckPaths checks a CA and client pair before machine uses it (the paths
// a user gave with the --tls-* flags, or those a machine's config records):
// every file is readable and holds what its role needs, the CA cert is a CA
// and valid now, each key belongs to its cert, and the client cert verifies
// against the CA for client auth. labels say how errors name each file (a
// flag and its path, say); an empty label names a file by its quoted path.
// It returns the first problem found, as one line naming the file.
func CheckPaths(p, labels Paths) error {
	name := func(label, path string) string {
		if label != "" {
			return label
		}
		return strconv.Quote(path)
	}
	n := Paths{
		CACert:     name(labels.CACert, p.CACert),
		CAKey:      name(labels.CAKey, p.CAKey),
		ClientCert: name(labels.ClientCert, p.ClientCert),
		ClientKey:  name(labels.ClientKey, p.ClientKey),
	}
	ca, err := certFile(n.CACert, p.CACert)
	if err != nil {
		return err
	}
	if !ca.IsCA {
		return fmt.Errorf("%s is not a CA certificate (it cannot sign certificates): give the CA's own certificate", n.CACert)
	}
	if now := time.Now(); now.After(ca.NotAfter) {
		return fmt.Errorf("%s expired on %s", n.CACert, ca.NotAfter.Format(time.DateOnly))
	}
	caKey, err := keyFile(n.CAKey, p.CAKey)
	if err != nil {
		return err
	}
	if keyMatches(ca, caKey) != nil {
		return fmt.Errorf("%s does not match %s: give the key the CA certificate was made with", n.CAKey, n.CACert)
	}
	client, err := certFile(n.ClientCert, p.ClientCert)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := client.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return fmt.Errorf("%s is not a client certificate signed by %s: %w", n.ClientCert, n.CACert, err)
	}
	clientKey, err := keyFile(n.ClientKey, p.ClientKey)
	if err != nil {
		return err
	}
	if keyMatches(client, clientKey) != nil {
		return fmt.Errorf("%s does not match %s: give the key the client certificate was made with", n.ClientKey, n.ClientCert)
	}
	return nil
}

// certFile reads the first certificate of the PEM file at path, naming the
// file label in its errors.
func certFile(label, path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, unreadable(label, err)
	}
	certs, err := parseCerts(data)
	if err != nil {
		return nil, fmt.Errorf("%s holds no certificate: %w", label, err)
	}
	return certs[0], nil
}

// keyFile reads the private key of the PEM file at path, naming the file
// label in its errors.
func keyFile(label, path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, unreadable(label, err)
	}
	key, err := parseKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s holds no usable private key: %w", label, err)
	}
	return key, nil
}

// unreadable says why the file label could not be read, without repeating
// its path.
func unreadable(label string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s cannot be read: %w", label, pe.Err)
	}
	return fmt.Errorf("%s cannot be read: %w", label, err)
}

package certs

import (
	"fmt"
	"os"
	"time"
)

// RenewStoreCerts replaces the CA and the client pair in a store's certs
// dir by new ones (the client pair signed by the new CA) and returns their
// paths. Every server cert signed by the old CA stops verifying against the
// new one: the machines holding them need new server certs.
//
// It holds the certs dir's lock (as EnsureStoreCerts does), writes the four
// new files beside the old ones first and then renames them into place, the
// keys before their certs, so that a failure before the renames leaves the
// old CA and client pair whole.
func RenewStoreCerts(dir, org string) (Paths, error) {
	p, lock, err := lockStoreDir(dir, "renew store certs")
	if err != nil {
		return Paths{}, err
	}
	defer lock.Unlock() //nolint:errcheck // closing the file releases the lock anyway

	// The new pairs are made under temporary names in dir, so that the
	// renames below stay on one file system.
	suffix := fmt.Sprintf(".new-%d-%d", os.Getpid(), time.Now().UnixNano())
	tmp := Paths{CACert: p.CACert + suffix, CAKey: p.CAKey + suffix, ClientCert: p.ClientCert + suffix, ClientKey: p.ClientKey + suffix}
	cleanup := func() {
		for _, f := range []string{tmp.CACert, tmp.CAKey, tmp.ClientCert, tmp.ClientKey} {
			_ = os.Remove(f)
		}
	}
	ca, caKey, err := createCA(tmp.CACert, tmp.CAKey, org)
	if err != nil {
		cleanup()
		return Paths{}, err
	}
	if err := createClient(ca, caKey, tmp.ClientCert, tmp.ClientKey, org); err != nil {
		cleanup()
		return Paths{}, err
	}
	for _, f := range []struct{ from, to string }{
		{tmp.CAKey, p.CAKey}, {tmp.CACert, p.CACert},
		{tmp.ClientKey, p.ClientKey}, {tmp.ClientCert, p.ClientCert},
	} {
		if err := os.Rename(f.from, f.to); err != nil {
			cleanup()
			return Paths{}, fmt.Errorf("renew store certs: %w", err)
		}
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // the renames reach the disk
		_ = d.Close()
	}
	return p, nil
}

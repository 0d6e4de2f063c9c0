package certs

import (
	"path/filepath"
	"strconv"
	"testing"
)

func BenchmarkEnsureStoreCerts(b *testing.B) {
	root := b.TempDir()
	for i := 0; b.Loop(); i++ {
		if _, err := EnsureStoreCerts(filepath.Join(root, strconv.Itoa(i)), testOrg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewServerCert(b *testing.B) {
	dir := b.TempDir()
	p := mustEnsure(b, filepath.Join(dir, "certs"))
	cert, key := filepath.Join(dir, ServerCertFile), filepath.Join(dir, ServerKeyFile)
	hosts := []string{"192.168.99.100", "docker.example.com"}
	for b.Loop() {
		if err := NewServerCert(p.CACert, p.CAKey, cert, key, testOrg, hosts); err != nil {
			b.Fatal(err)
		}
	}
}

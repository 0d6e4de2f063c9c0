// Package certstest has helpers for tests of certificates: a TLS server on
// loopback that presents a given server certificate.
package certstest

import (
	"crypto/tls"
	"testing"
)

// HandshakeServer listens on a loopback port with the server certificate
// and key in the PEM files certFile and keyFile, completes the TLS handshake
// of every client and closes the connection. It returns the address to
// dial; the listener is closed when the test ends.
func HandshakeServer(t testing.TB, certFile, keyFile string) string {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	return ln.Addr().String()
}

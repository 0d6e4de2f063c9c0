// Package standin holds stand-ins for `ls` tests and benchmarks where no
// real peer can be had in numbers: a Docker engine on loopback that answers
// the API's ping and info over mutual TLS, loopback ports that refuse or
// never answer, a driver plugin that never starts, and stores of generic
// machines pointing at them.
package standin

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/machine-cli/machine/certs"
	"github.com/machine-cli/machine/libmachine/host"
	"github.com/machine-cli/machine/libmachine/store"
)

// EngineVersion is the version the stand-in engine reports.
const EngineVersion = "27.0.0"

// Engine starts a stand-in for a Docker engine on 127.0.0.1: a mutual-TLS
// server with a certificate from the store CA p that answers the API's
// ping and info (not in a swarm), and returns its port. A connection that
// hangs up without TLS (the generic driver's state check) is not logged.
func Engine(tb testing.TB, p certs.Paths) int {
	tb.Helper()
	dir := tb.TempDir()
	cert, key := filepath.Join(dir, certs.ServerCertFile), filepath.Join(dir, certs.ServerKeyFile)
	if err := certs.NewServerCert(p.CACert, p.CAKey, cert, key, "standin", []string{"127.0.0.1"}); err != nil {
		tb.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		tb.Fatal(err)
	}
	caPEM, err := os.ReadFile(p.CACert)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.46")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			io.WriteString(w, "OK")
		case strings.HasSuffix(r.URL.Path, "/info"):
			io.WriteString(w, `{"ServerVersion":"`+EngineVersion+`","Swarm":{"LocalNodeState":"inactive"}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	tb.Cleanup(srv.Close)
	return srv.Listener.Addr().(*net.TCPAddr).Port
}

// ClosedPort returns a loopback port where nothing listens.
func ClosedPort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// SilentPort returns a loopback port that accepts connections and never
// answers on them: a stand-in for a frozen host, whose kernel still
// completes TCP handshakes.
func SilentPort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	tb.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().(*net.TCPAddr).Port
}

// HungDriver is the name of the driver whose plugin HungDriverDir holds.
const HungDriver = "hung"

// HungStarted is the file the hung driver creates when it starts.
const HungStarted = "started"

// HungDriverDir returns a directory to put on PATH holding
// machine-driver-hung, a stand-in driver plugin that starts and never
// answers go-plugin's handshake. Each start creates the file HungStarted in
// that directory first.
func HungDriverDir(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	script := "#!/bin/sh\n: > \"$(dirname \"$0\")/" + HungStarted + "\"\nexec sleep 600\n"
	if err := os.WriteFile(filepath.Join(dir, "machine-driver-"+HungDriver), []byte(script), 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// Store makes the store at root with its CA and client certificates.
func Store(tb testing.TB, root string) certs.Paths {
	tb.Helper()
	p, err := certs.EnsureStoreCerts(store.New(root).CertsDir(), "standin")
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// Machine stores machine name of driver, with a generic driver config for
// 127.0.0.1 with sshPort and enginePort, and the store's client
// certificates p. (Against the stand-in engine both ports are its port:
// the generic driver's state check only connects to the SSH port.)
func Machine(tb testing.TB, root string, p certs.Paths, name, driver string, sshPort, enginePort int) {
	tb.Helper()
	st := store.New(root)
	if err := st.CreateMachineDir(name); err != nil {
		tb.Fatal(err)
	}
	for src, dst := range map[string]string{p.CACert: certs.CAFile, p.ClientCert: certs.CertFile, p.ClientKey: certs.KeyFile} {
		data, err := os.ReadFile(src)
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(st.MachineDir(name), dst), data, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	drv, err := json.Marshal(map[string]any{
		"IPAddress": "127.0.0.1", "MachineName": name, "SSHUser": "root", "SSHPort": sshPort,
		"StorePath": root, "EnginePort": enginePort,
	})
	if err != nil {
		tb.Fatal(err)
	}
	h := &host.Host{ConfigVersion: host.ConfigVersion, Name: name, DriverName: driver, Driver: drv,
		HostOptions: &host.Options{EngineOptions: &host.EngineOptions{TlsVerify: true}, AuthOptions: &host.AuthOptions{}}}
	if err := st.Save(h); err != nil {
		tb.Fatal(err)
	}
}

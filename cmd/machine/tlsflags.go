package main

import (
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/machine-cli/machine/certs"
)

// tlsFlags are docker-machine's global flags that bring a CA and client
// pair of one's own: create uses, and records in the machine's config, these
// files in place of the store's certs dir files.
func tlsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "tls-ca-cert", Usage: "CA certificate that signs and verifies machine certificates, in place of the store's (create records it)", EnvVars: []string{"MACHINE_TLS_CA_CERT"}},
		&cli.StringFlag{Name: "tls-ca-key", Usage: "private key of --tls-ca-cert", EnvVars: []string{"MACHINE_TLS_CA_KEY"}},
		&cli.StringFlag{Name: "tls-client-cert", Usage: "client certificate, signed by --tls-ca-cert, that machine and docker present to dockerd", EnvVars: []string{"MACHINE_TLS_CLIENT_CERT"}},
		&cli.StringFlag{Name: "tls-client-key", Usage: "private key of --tls-client-cert", EnvVars: []string{"MACHINE_TLS_CLIENT_KEY"}},
	}
}

// tlsPaths returns the paths the --tls-* flags give, made absolute (a
// machine's config records them); empty for flags not given.
func tlsPaths(c *cli.Context) (certs.Paths, error) {
	var p certs.Paths
	for _, f := range []struct {
		flag string
		into *string
	}{{"tls-ca-cert", &p.CACert}, {"tls-ca-key", &p.CAKey}, {"tls-client-cert", &p.ClientCert}, {"tls-client-key", &p.ClientKey}} {
		v := c.String(f.flag)
		if v == "" {
			continue
		}
		abs, err := filepath.Abs(v)
		if err != nil {
			return certs.Paths{}, fmt.Errorf("--%s %q: %w", f.flag, v, err)
		}
		*f.into = abs
	}
	return p, nil
}

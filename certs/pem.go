package certs

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

const (
	pemCert = "CERTIFICATE"
	// pemKey is the PEM type of the keys we write: PKCS#8.
	pemKey = "PRIVATE KEY"
)

// encodeCert returns a cert as PEM.
func encodeCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemCert, Bytes: der})
}

// encodeKey returns a key as PKCS#8 PEM ("PRIVATE KEY").
func encodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemKey, Bytes: der}), nil
}

// readCerts reads a PEM file's certificates: the first, and the rest.
func readCerts(path string) (*x509.Certificate, []*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read cert: %w", err)
	}
	certs, err := parseCerts(data)
	if err != nil {
		return nil, nil, fmt.Errorf("read cert %q: %w", path, err)
	}
	return certs[0], certs[1:], nil
}

// parseCerts returns the certificates of PEM data, at least one.
func parseCerts(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != pemCert {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no CERTIFICATE pem block")
	}
	return certs, nil
}

// readKey reads a PEM private key file.
func readKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	key, err := parseKey(data)
	if err != nil {
		return nil, fmt.Errorf("read key %q: %w", path, err)
	}
	return key, nil
}

// parseKey returns the first private key of PEM data: PKCS#1 RSA ("RSA
// PRIVATE KEY"), SEC1 EC ("EC PRIVATE KEY") or PKCS#8 ("PRIVATE KEY").
// Other blocks, such as OpenSSL's "EC PARAMETERS", are skipped. The DER is
// tried in every format, the one its type names first, since some tools
// label keys loosely.
func parseKey(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no private key pem block")
		}
		if !strings.HasSuffix(block.Type, "PRIVATE KEY") {
			continue
		}
		if block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["DEK-Info"] != "" {
			return nil, errors.New("encrypted private keys are not supported")
		}
		return parseKeyDER(block.Type, block.Bytes)
	}
}

// parseKeyDER parses a private key's DER, trying first the format typ names.
func parseKeyDER(typ string, der []byte) (crypto.Signer, error) {
	parsers := []func([]byte) (any, error){
		x509.ParsePKCS8PrivateKey,
		func(b []byte) (any, error) { return x509.ParsePKCS1PrivateKey(b) },
		func(b []byte) (any, error) { return x509.ParseECPrivateKey(b) },
	}
	switch typ {
	case "RSA PRIVATE KEY":
		parsers[0], parsers[1] = parsers[1], parsers[0]
	case "EC PRIVATE KEY":
		parsers[0], parsers[2] = parsers[2], parsers[0]
	}
	var first error
	for _, parse := range parsers {
		key, err := parse(der)
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported private key type %T", key)
		}
		return signer, nil
	}
	return nil, fmt.Errorf("parse %s: %w", typ, first)
}

// keyMatches returns an error unless key is the private half of cert's key.
func keyMatches(cert *x509.Certificate, key crypto.Signer) error {
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return fmt.Errorf("unsupported public key type %T", cert.PublicKey)
	}
	if !pub.Equal(key.Public()) {
		return errors.New("public keys differ")
	}
	return nil
}

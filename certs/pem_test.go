package certs

import (
	"crypto"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/pem"
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec, rsa, ed := ecKeyP256(t), rsaKey(t), edKey(t)
	ecSEC1 := sec1WithParams(t, ec)
	for _, tc := range []struct {
		name    string
		data    []byte
		want    crypto.Signer // the key parsed, when no error
		wantErr string
	}{
		{name: "pkcs8", data: pkcs8(t, ec), want: ec},
		{name: "sec1 after ec parameters", data: ecSEC1, want: ec},
		{name: "pkcs1", data: pkcs1(t, rsa), want: rsa},
		{name: "pkcs1 labelled as pkcs8", data: relabel(pkcs1(t, rsa), "RSA PRIVATE KEY", "PRIVATE KEY"), want: rsa},
		{name: "sec1 labelled as pkcs8", data: relabel(ecSEC1, "EC PRIVATE KEY", "PRIVATE KEY"), want: ec},
		{name: "pkcs8 labelled as sec1", data: relabel(pkcs8(t, ed), "PRIVATE KEY", "EC PRIVATE KEY"), want: ed},
		{name: "after a certificate", data: append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), pkcs8(t, ec)...), want: ec},
		{name: "first of two keys", data: append(pkcs8(t, ed), pkcs8(t, ec)...), want: ed},
		{name: "empty", data: nil, wantErr: "no private key pem block"},
		{name: "not pem", data: []byte("-----BEGIN junk"), wantErr: "no private key pem block"},
		{name: "garbage der", data: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}), wantErr: "parse PRIVATE KEY"},
		{name: "pkcs8 encrypted", data: pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), wantErr: "encrypted"},
		{
			name: "legacy pem encrypted",
			data: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{
				"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00000000000000000000000000000000",
			}, Bytes: []byte{1}}),
			wantErr: "encrypted",
		},
		{name: "x25519 cannot sign", data: pkcs8Any(t, x25519), wantErr: "unsupported private key type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, err := parseKey(tc.data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(tc.want.Public()) {
				t.Fatalf("parsed a %T that is not the key written", key)
			}
		})
	}
}

// relabel changes the PEM type from to to.
func relabel(data []byte, from, to string) []byte {
	s := strings.ReplaceAll(string(data), "BEGIN "+from+"-", "BEGIN "+to+"-")
	return []byte(strings.ReplaceAll(s, "END "+from+"-", "END "+to+"-"))
}

// FuzzParseKey: key files come from users and other tools; parsing must
// never panic, and a key it returns must have a public half.
func FuzzParseKey(f *testing.F) {
	for _, enc := range keyEncodings() {
		f.Add(enc.encode(f, enc.newKey(f)))
	}
	f.Add([]byte("-----BEGIN EC PRIVATE KEY-----\n\n-----END EC PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := parseKey(data)
		if err == nil && key.Public() == nil {
			t.Fatal("key without public half")
		}
	})
}

package vmimage

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// Algorithm is a checksum algorithm a publisher uses for its images.
type Algorithm string

// The algorithms images are verified with.
const (
	SHA256 Algorithm = "sha256"
	SHA512 Algorithm = "sha512"
)

// hexLen is the length of a digest of the algorithm in hex digits.
func (a Algorithm) hexLen() int {
	switch a {
	case SHA256:
		return sha256.Size * 2
	case SHA512:
		return sha512.Size * 2
	}
	return 0
}

// newHash returns a fresh hash of the algorithm.
func (a Algorithm) newHash() hash.Hash {
	if a == SHA512 {
		return sha512.New()
	}
	return sha256.New()
}

// Checksum is an expected or computed digest of an image.
type Checksum struct {
	Algorithm Algorithm
	// Hex is the digest in lowercase hex.
	Hex string
}

// String returns the checksum as "<algorithm>:<hex>", the form
// ParseChecksum reads.
func (c Checksum) String() string { return string(c.Algorithm) + ":" + c.Hex }

// IsZero reports whether c is the zero Checksum (none given).
func (c Checksum) IsZero() bool { return c.Algorithm == "" && c.Hex == "" }

// ParseChecksum reads a checksum given by a user: "sha256:<hex>" or
// "sha512:<hex>" (the algorithm is case-insensitive). A bare hex digest
// is accepted when its length names the algorithm (64 or 128 digits).
func ParseChecksum(s string) (Checksum, error) {
	s = strings.TrimSpace(s)
	algo, digest, found := strings.Cut(s, ":")
	if !found {
		digest = s
		switch len(s) {
		case SHA256.hexLen():
			algo = string(SHA256)
		case SHA512.hexLen():
			algo = string(SHA512)
		default:
			return Checksum{}, fmt.Errorf("checksum %q: want sha256:<64 hex digits> or sha512:<128 hex digits>", s)
		}
	}
	c := Checksum{Algorithm: Algorithm(strings.ToLower(algo)), Hex: strings.ToLower(digest)}
	if c.Algorithm.hexLen() == 0 {
		return Checksum{}, fmt.Errorf("checksum %q: unknown algorithm %q, want sha256 or sha512", s, algo)
	}
	if err := c.validHex(); err != nil {
		return Checksum{}, fmt.Errorf("checksum %q: %w", s, err)
	}
	return c, nil
}

// validHex checks that Hex is a digest of Algorithm.
func (c Checksum) validHex() error {
	if len(c.Hex) != c.Algorithm.hexLen() {
		return fmt.Errorf("a %s digest has %d hex digits, not %d", c.Algorithm, c.Algorithm.hexLen(), len(c.Hex))
	}
	if _, err := hex.DecodeString(c.Hex); err != nil {
		return fmt.Errorf("digest is not hex")
	}
	return nil
}

// sumsFile is a checksum file a publisher may serve beside an image.
type sumsFile struct {
	// name is the file's name, with "%s" standing for the image's name.
	name string
	algo Algorithm
}

// sumsFiles are the conventional checksum files, tried in this order:
// Debian publishes SHA512SUMS, Ubuntu SHA256SUMS (both list every file of
// the directory); others serve one file per image.
var sumsFiles = []sumsFile{
	{"SHA512SUMS", SHA512},
	{"SHA256SUMS", SHA256},
	{"%s.sha512", SHA512},
	{"%s.sha256", SHA256},
	{"%s.sha512sum", SHA512},
	{"%s.sha256sum", SHA256},
}

// findInSums returns the checksum of the file named image in a checksum
// file's content, and whether it was listed. It reads the GNU coreutils
// format ("<hex>  <name>" or "<hex> *<name>"), the BSD format
// ("SHA256 (<name>) = <hex>", Fedora's CHECKSUM files) and a file holding
// only a digest (per-image files). Lines whose digest does not fit algo are
// skipped.
func findInSums(content []byte, image string, algo Algorithm) (Checksum, bool) {
	sc := bufio.NewScanner(bytes.NewReader(content))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	var lines int
	var only string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lines++
		// BSD: SHA256 (name) = hex
		if rest, ok := strings.CutPrefix(line, strings.ToUpper(string(algo))+" ("); ok {
			name, digest, ok := strings.Cut(rest, ") = ")
			if ok && name == image {
				c := Checksum{Algorithm: algo, Hex: strings.ToLower(strings.TrimSpace(digest))}
				if c.validHex() == nil {
					return c, true
				}
			}
			continue
		}
		// GNU: hex  name, or hex *name
		fields := strings.SplitN(line, " ", 2)
		c := Checksum{Algorithm: algo, Hex: strings.ToLower(fields[0])}
		if c.validHex() != nil {
			continue
		}
		if len(fields) == 1 {
			only = c.Hex
			continue
		}
		name := strings.TrimLeft(fields[1], " ")
		name = strings.TrimPrefix(name, "*")
		name = strings.TrimPrefix(name, "./")
		if name == image {
			return c, true
		}
	}
	if lines == 1 && only != "" {
		return Checksum{Algorithm: algo, Hex: only}, true
	}
	return Checksum{}, false
}

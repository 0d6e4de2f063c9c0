package vmimage

import (
	"strings"
	"testing"
)

func TestParseChecksum(t *testing.T) {
	h256 := strings.Repeat("ab", 32)
	h512 := strings.Repeat("cd", 64)
	for _, tc := range []struct {
		in     string
		want   Checksum
		errHas string
	}{
		{"sha256:" + h256, Checksum{SHA256, h256}, ""},
		{" SHA512:" + strings.ToUpper(h512) + "\n", Checksum{SHA512, h512}, ""},
		{h256, Checksum{SHA256, h256}, ""},
		{h512, Checksum{SHA512, h512}, ""},
		{"md5:" + h256[:32], Checksum{}, `unknown algorithm "md5"`},
		{"sha256:" + h512, Checksum{}, "a sha256 digest has 64 hex digits, not 128"},
		{"sha256:" + strings.Repeat("zz", 32), Checksum{}, "not hex"},
		{"abc", Checksum{}, "want sha256:<64 hex digits> or sha512:<128 hex digits>"},
		{"", Checksum{}, "want sha256"},
	} {
		got, err := ParseChecksum(tc.in)
		if tc.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("ParseChecksum(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.errHas)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseChecksum(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if again, err := ParseChecksum(got.String()); err != nil || again != got {
			t.Errorf("ParseChecksum(%q.String()) = %v, %v", tc.in, again, err)
		}
	}
}

func TestFindInSums(t *testing.T) {
	h256 := strings.Repeat("ab", 32)
	o256 := strings.Repeat("01", 32)
	h512 := strings.Repeat("cd", 64)
	for _, tc := range []struct {
		name    string
		content string
		algo    Algorithm
		want    string // the hex found, "" for none
	}{
		{"GNU text mode", o256 + "  other.img\n" + h256 + "  x.img\n", SHA256, h256},
		{"GNU binary mode", h256 + " *x.img\n", SHA256, h256},
		{"a ./ prefix", h256 + "  ./x.img\n", SHA256, h256},
		{"upper-case digest", strings.ToUpper(h512) + "  x.img\n", SHA512, h512},
		{"BSD style", "SHA256 (other.img) = " + o256 + "\nSHA256 (x.img) = " + h256 + "\n", SHA256, h256},
		{"comments and blank lines", "# list\n\n" + h256 + "  x.img\n", SHA256, h256},
		{"only a digest", h512 + "\n", SHA512, h512},
		{"not listed", o256 + "  other.img\n", SHA256, ""},
		{"a name that only starts the same", h256 + "  x.img.xz\n", SHA256, ""},
		{"a digest of another algorithm", h256 + "  x.img\n", SHA512, ""},
		{"several bare digests", h256 + "\n" + o256 + "\n", SHA256, ""},
		{"an HTML error page", "<html><body>Not here</body></html>\n", SHA256, ""},
		{"empty", "", SHA256, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := findInSums([]byte(tc.content), "x.img", tc.algo)
			if ok != (tc.want != "") || got.Hex != tc.want || ok && got.Algorithm != tc.algo {
				t.Errorf("findInSums = %v, %v; want %q", got, ok, tc.want)
			}
		})
	}
}

// FuzzFindInSums: a checksum file from any server is read without a panic,
// and what it finds is a well-formed digest.
func FuzzFindInSums(f *testing.F) {
	f.Add([]byte(strings.Repeat("ab", 32)+"  x.img\n"), "x.img")
	f.Add([]byte("SHA512 (x.img) = "+strings.Repeat("cd", 64)+"\n"), "x.img")
	f.Fuzz(func(t *testing.T, content []byte, name string) {
		for _, algo := range []Algorithm{SHA256, SHA512} {
			if c, ok := findInSums(content, name, algo); ok {
				if err := c.validHex(); err != nil || c.Algorithm != algo {
					t.Fatalf("findInSums found %v: %v", c, err)
				}
			}
		}
	})
}

package provision_test

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/machine-cli/machine/provision"
)

const bookworm = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
`

const jammy = `PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=jammy
`

func TestParseOSRelease(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    provision.OSRelease // Fields not compared unless fields set
		fields  map[string]string
		wantErr string
	}{
		{
			name: "debian bookworm",
			in:   bookworm,
			want: provision.OSRelease{ID: "debian", Name: "Debian GNU/Linux", PrettyName: "Debian GNU/Linux 12 (bookworm)", VersionID: "12", VersionCodename: "bookworm"},
		},
		{
			name: "ubuntu",
			in:   jammy,
			want: provision.OSRelease{ID: "ubuntu", IDLike: []string{"debian"}, Name: "Ubuntu", PrettyName: "Ubuntu 22.04.4 LTS", VersionID: "22.04", VersionCodename: "jammy"},
		},
		{
			name: "empty gets the defaults",
			in:   "",
			want: provision.OSRelease{ID: "linux", Name: "Linux", PrettyName: "Linux"},
		},
		{
			name:   "comments, blanks, CRLF, junk lines",
			in:     "# a comment\n\n   # indented comment\r\nID=alpine\r\nthis line is junk\nNAME='Alpine Linux'  \n  VERSION_ID=3.19.1\n1BAD=x\nBAD-KEY=y\n",
			want:   provision.OSRelease{ID: "alpine", Name: "Alpine Linux", PrettyName: "Linux", VersionID: "3.19.1"},
			fields: map[string]string{"ID": "alpine", "NAME": "Alpine Linux", "VERSION_ID": "3.19.1"},
		},
		{
			name:   "escapes in double quotes",
			in:     `PRETTY_NAME="A \"quoted\" \$name with \\ and \` + "`" + `tick\` + "`" + ` and \n kept"` + "\n",
			fields: map[string]string{"PRETTY_NAME": `A "quoted" $name with \ and ` + "`tick`" + ` and \n kept`},
		},
		{
			name:   "single quotes are literal",
			in:     `NAME='a \"b\" $c'` + "\n",
			fields: map[string]string{"NAME": `a \"b\" $c`},
		},
		{
			name:   "backslashes outside quotes, concatenation",
			in:     `NAME=Fancy\ OS\'s" "'v2'` + "\n",
			fields: map[string]string{"NAME": `Fancy OS's v2`},
		},
		{
			name:   "multi-line quoted value and continuation",
			in:     "NAME=\"two\nlines\"\nID=a\\\nb\nVERSION_ID=1",
			fields: map[string]string{"NAME": "two\nlines", "ID": "ab", "VERSION_ID": "1"},
		},
		{
			name:   "ID_LIKE list, spaces around",
			in:     "ID=rocky\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID = 9\n",
			fields: map[string]string{"ID": "rocky", "ID_LIKE": "rhel centos fedora", "VERSION_ID": "9"},
		},
		{
			name:    "unterminated double quote",
			in:      "ID=debian\nNAME=\"Debian\n",
			wantErr: "line 2: unterminated double quote",
		},
		{
			name:    "unterminated single quote",
			in:      "NAME='x",
			wantErr: "line 1: unterminated single quote",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := provision.ParseOSRelease([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.fields != nil {
				if !maps.Equal(got.Fields, tc.fields) {
					t.Errorf("Fields = %q, want %q", got.Fields, tc.fields)
				}
			}
			if tc.want.ID == "" {
				return
			}
			fields := got.Fields
			got.Fields = nil
			if got.ID != tc.want.ID || got.Name != tc.want.Name || got.PrettyName != tc.want.PrettyName ||
				got.VersionID != tc.want.VersionID || got.VersionCodename != tc.want.VersionCodename ||
				!slices.Equal(got.IDLike, tc.want.IDLike) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if tc.in == bookworm && fields["HOME_URL"] != "https://www.debian.org/" {
				t.Errorf("Fields[HOME_URL] = %q", fields["HOME_URL"])
			}
		})
	}
}

// FuzzParseOSRelease checks that the parser never panics and that what it
// parses, written back with double quotes, parses to the same fields.
func FuzzParseOSRelease(f *testing.F) {
	for _, s := range []string{bookworm, jammy, "", "A='b'\"c\"\\d\n", "X=\"a\\\nb\"", "#\n\n=x\nY", "Z='"} {
		f.Add(s)
	}
	// The distributions' own files (testdata/os-release).
	files, err := filepath.Glob(filepath.Join("testdata", "os-release", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, in string) {
		rel, err := provision.ParseOSRelease([]byte(in))
		if err != nil {
			return
		}
		var b strings.Builder
		for _, k := range slices.Sorted(maps.Keys(rel.Fields)) {
			v := rel.Fields[k]
			r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "`", "\\`")
			b.WriteString(k + `="` + r.Replace(v) + "\"\n")
		}
		again, err := provision.ParseOSRelease([]byte(b.String()))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", b.String(), err)
		}
		if !maps.Equal(rel.Fields, again.Fields) {
			t.Fatalf("round trip changed fields:\n%q\n%q", rel.Fields, again.Fields)
		}
	})
}

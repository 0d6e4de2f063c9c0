package virtualbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedAll adds every recorded VBoxManage output in testdata to f.
func seedAll(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.txt"))
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
}

// FuzzParsers: the parsers of VBoxManage's outputs never panic on any
// text, and what they read stays on one line per value.
func FuzzParsers(f *testing.F) {
	seedAll(f)
	f.Fuzz(func(t *testing.T, out string) {
		for k, v := range ParseMachineInfo(out) {
			if strings.ContainsAny(k, "\n") || strings.ContainsAny(v, "\n") {
				t.Errorf("%q=%q spans lines", k, v)
			}
		}
		_, _ = ParseVersion(out)
		_ = ParseHostOnlyIfs(out)
		_ = ParseDHCPServers(out)
		for _, n := range ParseHostOnlyNets(out) {
			_, _ = n.Network()
		}
		_ = ParseVMs(out)
		_, _ = ParseCreatedInterface(out)
		if e := ParseError([]string{"list"}, out, nil); strings.Contains(e.Error(), "\n") {
			t.Errorf("error %q spans lines", e.Error())
		}
	})
}

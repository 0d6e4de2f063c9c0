package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/machine-cli/machine/internal/standin"
)

// BenchmarkLS times `ls` in-process (the generic driver's plugin is this
// test binary) over a store of 50 machines, with --timeout 2: 40 whose
// engine is a stand-in answering at once, and 10 that are not: their
// address is a closed loopback port, or a loopback port that accepts
// connections and never answers (a stand-in for a frozen host, where each
// row runs into the timeout), or their driver's plugin never starts. Each
// such ls must show the 40 good rows complete. One more store, ten times
// larger, shows how it scales (--timeout 10); it reports how many rows
// came back complete rather than failing when a loaded machine is too slow.
func BenchmarkLS(b *testing.B) {
	for _, tc := range []struct {
		up, bad int
		kind    string
		timeout string
		strict  bool
	}{
		{40, 10, "closed", "2", true},
		{40, 10, "silent", "2", true},
		{40, 10, "hung-driver", "2", true},
		{400, 100, "closed", "10", false},
	} {
		b.Run(fmt.Sprintf("%d up, %d %s", tc.up, tc.bad, tc.kind), func(b *testing.B) {
			root := lsBenchStore(b, tc.up, tc.bad, tc.kind)
			if tc.kind == "hung-driver" {
				b.Setenv("PATH", standin.HungDriverDir(b)+string(os.PathListSeparator)+os.Getenv("PATH"))
			}
			complete := 0
			for b.Loop() {
				var out, errOut strings.Builder
				if code := runWith([]string{"machine", "-s", root, "ls", "--timeout", tc.timeout}, strings.NewReader(""), &out, &errOut); code != 0 {
					b.Fatalf("ls: exit %d: %s", code, errOut.String())
				}
				n := strings.Count(out.String(), "v"+standin.EngineVersion)
				if tc.strict && n != tc.up {
					b.Fatalf("ls: %d machines with a Docker version, want %d:\n%s", n, tc.up, out.String())
				}
				complete += n
			}
			b.ReportMetric(float64(complete)/float64(b.N), "complete/op")
		})
	}
}

// lsBenchStore makes a store with up machines at a stand-in engine and bad
// machines at a closed ("closed") or a silent ("silent") loopback port, or
// of the stand-in driver that never starts ("hung-driver"), and returns its
// root.
func lsBenchStore(b *testing.B, up, bad int, kind string) string {
	b.Helper()
	root := b.TempDir()
	p := standin.Store(b, root)
	engine := standin.Engine(b, p)
	badPort, badDriver := 0, "generic"
	switch kind {
	case "closed":
		badPort = standin.ClosedPort(b)
	case "silent":
		badPort = standin.SilentPort(b)
	case "hung-driver":
		badPort, badDriver = standin.ClosedPort(b), standin.HungDriver
	default:
		b.Fatalf("unknown kind %q", kind)
	}
	for i := range up + bad {
		name, port, driver := fmt.Sprintf("up%03d", i), engine, "generic"
		if i >= up {
			name, port, driver = fmt.Sprintf("%s%03d", kind, i-up), badPort, badDriver
		}
		standin.Machine(b, root, p, name, driver, port, port)
	}
	return root
}

package qemu

import (
	"context"
	"os/exec"
	"testing"
)

// BenchmarkProbeGuestTCG measures what auto-detection pays for its
// honesty: one probe guest run (where KVM aborts, its probe costs about
// the same).
func BenchmarkProbeGuestTCG(b *testing.B) {
	bin, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		b.Fatalf("qemu-system-x86_64 (scripts/ensure-deps.sh installs it): %v", err)
	}
	h := Host{GOOS: "linux", Arch: "x86_64", Binary: bin, Dir: b.TempDir()}
	for b.Loop() {
		if err := ProbeGuest(context.Background(), h, AccelTCG); err != nil {
			b.Fatal(err)
		}
	}
}

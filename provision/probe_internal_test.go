package provision

import (
	"os"
	"os/exec"
	"regexp"
	"testing"
)

// TestProbeScriptsRunInSh runs the probes with the local /bin/sh, as the
// host's shell would, and checks that their output parses.
func TestProbeScriptsRunInSh(t *testing.T) {
	p := &run{}
	out, err := exec.Command("/bin/sh", "-c", p.command(hostProbe, false)).Output()
	if err != nil {
		t.Fatalf("no usable /bin/sh: %v", err)
	}
	sec := sections(string(out))
	if !regexp.MustCompile(`^[0-9]+\n$`).MatchString(sec["uid"]) {
		t.Errorf("uid section = %q", sec["uid"])
	}
	if sec["hostname"] == "" {
		t.Errorf("hostname section is empty")
	}
	if want, err := os.ReadFile("/etc/hosts"); err == nil && sec["hosts"] != string(want) {
		t.Errorf("hosts section = %q, want the file %q", sec["hosts"], want)
	}
	if want, err := os.ReadFile("/etc/os-release"); err == nil {
		if sec["os-release"] != string(want) {
			t.Errorf("os-release section = %q, want the file", sec["os-release"])
		}
		if _, err := ParseOSRelease(want); err != nil {
			t.Errorf("ParseOSRelease(/etc/os-release): %v", err)
		}
	}
	for _, name := range []string{"dockerd", "units"} {
		if _, ok := sec[name]; !ok {
			t.Errorf("no %s section in %q", name, out)
		}
	}
	if path, err := exec.LookPath("dockerd"); err == nil && p.docker.dockerd == "" {
		if got := parseDockerFacts(sec).dockerd; got == "" {
			t.Errorf("dockerd at %s not found by the probe", path)
		}
	}
}

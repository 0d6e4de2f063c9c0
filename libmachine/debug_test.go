package libmachine

import (
	"bytes"
	"strings"
	"testing"

	"github.com/machine-cli/machine/provision/provisiontest"
)

func TestDebugRunnerLogsCommandsNotSecrets(t *testing.T) {
	var log bytes.Buffer
	fake := &provisiontest.Runner{}
	fake.On("join-token", provisiontest.Response{Stdout: "SWMTKN-1-secret\n"})
	c := &Client{Debug: &log}
	r := c.runner("n1", fake)
	out, err := r.Output(t.Context(), "docker swarm join-token -q worker")
	if err != nil || !strings.Contains(string(out), "SWMTKN-1-secret") {
		t.Fatalf("Output = %q, %v", out, err)
	}
	if err := r.WriteFile(t.Context(), "/etc/docker/server-key.pem", []byte("PRIVATE KEY DATA"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := log.String()
	for _, want := range []string{"[n1] ssh docker swarm join-token -q worker", "[n1] ssh write /etc/docker/server-key.pem (16 bytes, 0600"} {
		if !strings.Contains(got, want) {
			t.Errorf("debug log lacks %q:\n%s", want, got)
		}
	}
	for _, secret := range []string{"SWMTKN", "PRIVATE KEY DATA"} {
		if strings.Contains(got, secret) {
			t.Errorf("debug log shows %q:\n%s", secret, got)
		}
	}
	if (&Client{}).runner("n1", fake) != fake {
		t.Error("without Debug the runner is wrapped")
	}
}

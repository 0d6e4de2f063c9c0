package provision_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/machine-cli/machine/internal/retry"
	"github.com/machine-cli/machine/provision"
	"github.com/machine-cli/machine/provision/provisiontest"
)

// certsProbe is what a host answers to InstallCerts' probe.
func certsProbe(h fakeHost, dropIn bool) string {
	out := "\n@@machine:uid\n" + h.uid + "\n\n@@machine:dropin\n"
	if dropIn {
		out += "present\n"
	}
	return out + h.dockerProbe()
}

func TestInstallCerts(t *testing.T) {
	provisioned := fakeHost{uid: "0", dockerd: "/usr/sbin/dockerd", units: allUnits}
	for _, tc := range []struct {
		name       string
		host       fakeHost
		dropIn     bool
		waitErr    error
		wantSteps  []string
		wantStep   string // the failed step, "" for success
		wantBacked bool
		wantMsg    string
	}{
		{
			name: "replaces the certificates and restarts dockerd", host: provisioned, dropIn: true,
			wantSteps: []string{"probe host", "back up", "write " + provision.RemoteCACertPath,
				"write " + provision.RemoteServerCertPath, "write " + provision.RemoteServerKeyPath, "restart docker"},
		},
		{
			name: "dockerd does not answer with the new certificates", host: provisioned, dropIn: true,
			// Stopped at once: dockerd answers, with a certificate the client refuses.
			waitErr:  retry.Stop(errors.New("x509: certificate signed by unknown authority")),
			wantStep: "start docker", wantBacked: true, wantMsg: "docker does not answer over TLS",
		},
		{
			name: "host without machine's drop-in", host: provisioned,
			wantSteps: []string{"probe host"},
			wantStep:  "detect docker", wantMsg: "machine provision n1",
		},
		{
			name: "host without dockerd", host: fakeHost{uid: "0", units: ""}, dropIn: true,
			wantSteps: []string{"probe host"},
			wantStep:  "detect docker", wantMsg: "no dockerd under systemd",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &provisiontest.Runner{}
			r.On("@@machine:dropin", provisiontest.Response{Stdout: certsProbe(tc.host, tc.dropIn)})
			opts, _ := options(func(context.Context) error { return tc.waitErr })
			err := provision.InstallCerts(context.Background(), r, opts)
			if tc.wantStep == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				var se *provision.StepError
				if !errors.As(err, &se) || se.Step != tc.wantStep || se.BackedUp != tc.wantBacked || !strings.Contains(err.Error(), tc.wantMsg) {
					t.Fatalf("error %v, want step %q (backed up %v) saying %q", err, tc.wantStep, tc.wantBacked, tc.wantMsg)
				}
			}
			got := steps(r)
			if tc.wantSteps != nil && !slices.Equal(got, tc.wantSteps) {
				t.Errorf("steps %q, want %q", got, tc.wantSteps)
			}
			for _, c := range r.Calls() {
				if c.Method != "WriteFile" {
					continue
				}
				want := map[string]string{provision.RemoteCACertPath: "CA PEM", provision.RemoteServerCertPath: "SERVER PEM", provision.RemoteServerKeyPath: "KEY PEM"}[c.Path]
				if c.Data != want {
					t.Errorf("%s written with %q, want %q", c.Path, c.Data, want)
				}
				if c.Path == provision.RemoteServerKeyPath && c.Mode != 0o600 {
					t.Errorf("server key mode %v, want 0600", c.Mode)
				}
			}
		})
	}
}

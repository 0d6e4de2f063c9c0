package provision_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/machine-cli/machine/provision"
	"github.com/machine-cli/machine/provision/provisiontest"
)

// versionAnswers answers the version probe with before on its first call
// and after on the later ones, with docker.service's state.
func versionAnswers(r *provisiontest.Runner, before, after, state string) {
	var n atomic.Int32
	r.OnFunc("dpkg-query -S", func(provisiontest.Call) provisiontest.Response {
		v := after
		if n.Add(1) == 1 {
			v = before
		}
		return provisiontest.Response{Stdout: v + "\n@@machine:active\n" + state + "\n"}
	})
}

// upgradeStep names an Upgrade call for order assertions.
func upgradeStep(c provisiontest.Call) string {
	switch {
	case strings.Contains(c.Cmd, "dpkg-query -S"):
		return "read version"
	case strings.Contains(c.Cmd, "--only-upgrade"):
		return "apt upgrade"
	case strings.Contains(c.Cmd, "curl -fsSL"):
		return "install script"
	case strings.Contains(c.Cmd, "systemctl start docker.service") && !strings.Contains(c.Cmd, "restart"):
		return "start docker"
	}
	return step(c)
}

func TestUpgrade(t *testing.T) {
	const (
		old    = "docker.io 20.10.24+dfsg1-1+b3"
		newer  = "docker.io 20.10.24+dfsg1-1+b3+machinetest1"
		docker = "/usr/sbin/dockerd"
	)
	base := fakeHost{uid: "1000", hostname: "n1", osRelease: bookworm, hosts: "127.0.1.1 n1\n", dockerd: docker, units: allUnits}
	for _, tc := range []struct {
		name       string
		installURL string
		before     string
		after      string
		state      string // docker.service's state, before and after
		movedTo    string // dockerd's path after the upgrade, when it moves
		setup      func(r *provisiontest.Runner)
		want       []string
		wantOld    provision.Version
		wantNew    provision.Version
		wantErr    []string
	}{
		{
			name: "distro, newer available", installURL: "distro", before: old, after: newer, state: "active",
			want:    []string{"probe host", "read version", "apt upgrade", "probe docker", "read version", "restart docker"},
			wantOld: provision.Version{Name: "docker.io", Version: "20.10.24+dfsg1-1+b3"},
			wantNew: provision.Version{Name: "docker.io", Version: "20.10.24+dfsg1-1+b3+machinetest1"},
		},
		{
			name: "distro, already newest", installURL: "distro", before: old, after: old, state: "active",
			want:    []string{"probe host", "read version", "apt upgrade", "probe docker", "read version"},
			wantOld: provision.Version{Name: "docker.io", Version: "20.10.24+dfsg1-1+b3"},
			wantNew: provision.Version{Name: "docker.io", Version: "20.10.24+dfsg1-1+b3"},
		},
		{
			name: "distro, newest but stopped", installURL: "distro", before: old, after: old, state: "inactive",
			want:    []string{"probe host", "read version", "apt upgrade", "probe docker", "read version", "restart docker"},
			wantOld: provision.Version{Name: "docker.io", Version: "20.10.24+dfsg1-1+b3"},
			wantNew: provision.Version{Name: "docker.io", Version: "20.10.24+dfsg1-1+b3"},
		},
		{
			name: "install script, dockerd moves", installURL: "http://10.0.0.1:8080/install.sh", before: old, after: "docker-ce 5:27.3.1-1~debian.12~bookworm", state: "active",
			movedTo: "/usr/bin/dockerd",
			want:    []string{"probe host", "read version", "install script", "probe docker", "read version", "write " + provision.DropInPath, "restart docker"},
			wantOld: provision.Version{Name: "docker.io", Version: "20.10.24+dfsg1-1+b3"},
			wantNew: provision.Version{Name: "docker-ce", Version: "5:27.3.1-1~debian.12~bookworm"},
		},
		{
			name: "default install script", installURL: "", before: "Docker 27.3.1", after: "Docker 27.4.0", state: "active",
			want:    []string{"probe host", "read version", "install script", "probe docker", "read version", "restart docker"},
			wantOld: provision.Version{Name: "Docker", Version: "27.3.1"},
			wantNew: provision.Version{Name: "Docker", Version: "27.4.0"},
		},
		{
			name: "package manager fails", installURL: "distro", before: old, after: old, state: "active",
			setup: func(r *provisiontest.Runner) {
				r.On("--only-upgrade", provisiontest.Response{Status: 100, Stdout: "Reading package lists...\n", Stderr: "E: Failed to fetch http://10.0.0.1/Packages  404  Not Found\nE: Some index files failed to download.\n"})
			},
			want: []string{"probe host", "read version", "apt upgrade", "start docker"},
			wantErr: []string{"upgrade n1: upgrade docker: upgrading from the debian packages failed (exit status 100): ",
				"Reading package lists... | E: Failed to fetch http://10.0.0.1/Packages  404  Not Found | E: Some index files failed to download."},
		},
		{
			name: "no dockerd", installURL: "distro", before: "", after: "", state: "inactive",
			want:    []string{"probe host", "read version"},
			wantErr: []string{"upgrade n1: read version: dockerd is not installed; `machine provision n1` installs it"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRunner(base)
			if tc.setup != nil {
				tc.setup(r)
			}
			versionAnswers(r, tc.before, tc.after, tc.state)
			after := base
			if tc.movedTo != "" {
				after.dockerd = tc.movedTo
			}
			r.On("@@machine:units", provisiontest.Response{Stdout: after.dockerProbe()})
			opts, log := options(func(context.Context) error { return nil })
			opts.Engine.InstallURL = tc.installURL
			v, err := provision.Upgrade(t.Context(), r, opts)
			var got []string
			for _, c := range r.Calls() {
				got = append(got, upgradeStep(c))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("steps:\n got %q\nwant %q", got, tc.want)
			}
			if tc.wantErr != nil {
				if err == nil {
					t.Fatal("Upgrade succeeded")
				}
				var se *provision.StepError
				if !errors.As(err, &se) || se.Op != "upgrade" {
					t.Errorf("err = %#v, want an upgrade StepError", err)
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error lacks %q:\n%v", s, err)
					}
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line:\n%v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.Old != tc.wantOld || v.New != tc.wantNew {
				t.Errorf("versions = %+v, want %+v -> %+v", v, tc.wantOld, tc.wantNew)
			}
			for _, c := range r.Calls() {
				if c.Method == "WriteFile" && !strings.Contains(c.Data, "ExecStart="+tc.movedTo+" ") {
					t.Errorf("rewritten drop-in does not run %s:\n%s", tc.movedTo, c.Data)
				}
				if c.Method != "WriteFile" && !slices.Contains([]string{"probe host", "read version", "probe docker"}, upgradeStep(c)) && !strings.Contains(c.Cmd, "sudo -n sh -c") {
					t.Errorf("%s: not run as root: %q", upgradeStep(c), c.Cmd)
				}
			}
			if !strings.Contains(log.String(), "Upgrading "+tc.before+" from ") {
				t.Errorf("log:\n%s", log)
			}
		})
	}
}

// TestUpgradeRefuses: a machine whose Docker machine did not install
// (install URL "none"), or whose install URL is not one machine takes, is
// not touched.
func TestUpgradeRefuses(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want string
	}{
		{"none", provision.ErrNotInstalledByMachine.Error()},
		{"ftp://x/y", `upgrade n1: check options: install URL "ftp://x/y": want an http(s) URL`},
	} {
		t.Run(tc.url, func(t *testing.T) {
			r := &provisiontest.Runner{}
			opts, _ := options(func(context.Context) error { return nil })
			opts.Engine.InstallURL = tc.url
			_, err := provision.Upgrade(t.Context(), r, opts)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if got := errors.Is(err, provision.ErrNotInstalledByMachine); got != (tc.url == "none") {
				t.Errorf("errors.Is(ErrNotInstalledByMachine) = %v", got)
			}
			if calls := r.Calls(); len(calls) != 0 {
				t.Errorf("calls made: %q", steps(r))
			}
		})
	}
}

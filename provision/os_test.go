package provision_test

import (
	"strings"
	"testing"

	"github.com/machine-cli/machine/provision"
)

func TestSelectOS(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rel     provision.OSRelease
		family  string
		wantErr string
	}{
		{name: "debian", rel: provision.OSRelease{ID: "debian"}, family: "debian"},
		{name: "ubuntu", rel: provision.OSRelease{ID: "ubuntu", IDLike: []string{"debian"}}, family: "debian"},
		{name: "upper case ID", rel: provision.OSRelease{ID: "Debian"}, family: "debian"},
		{name: "raspbian via ID_LIKE", rel: provision.OSRelease{ID: "raspbian", IDLike: []string{"debian"}}, family: "debian"},
		{name: "pop via ID_LIKE ubuntu debian", rel: provision.OSRelease{ID: "pop", IDLike: []string{"ubuntu", "debian"}}, family: "debian"},
		{
			name:    "fedora",
			rel:     provision.OSRelease{ID: "fedora", PrettyName: "Fedora Linux 40 (Server Edition)"},
			wantErr: "unsupported OS Fedora Linux 40 (Server Edition) (ID=fedora); supported: debian, ubuntu",
		},
		{
			name:    "rocky like rhel",
			rel:     provision.OSRelease{ID: "rocky", IDLike: []string{"rhel", "centos", "fedora"}, PrettyName: "Rocky Linux 9.3"},
			wantErr: "unsupported OS Rocky Linux 9.3 (ID=rocky)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := provision.SelectOS(tc.rel)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Family() != tc.family {
				t.Errorf("family = %q, want %q", p.Family(), tc.family)
			}
			if !strings.Contains(p.PackageInstallScript(), "docker.io") {
				t.Errorf("package script %q does not install docker.io", p.PackageInstallScript())
			}
		})
	}
}

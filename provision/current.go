package provision

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// currentState is what a host holds of machine's files and how dockerd
// runs, read before provisioning changes anything: a provisioning that
// would write the same bytes writes nothing and leaves dockerd running.
type currentState struct {
	// files are, per machine file that exists (managedFiles), its SHA-256
	// sum (hex) and mode (octal): "SUM MODE".
	files map[string]string
	// active and enabled are docker.service's states.
	active, enabled bool
}

// managedFiles are the files provisioning writes whole.
var managedFiles = []string{RemoteCACertPath, RemoteServerCertPath, RemoteServerKeyPath, DropInPath,
	Boot2DockerCACertPath, Boot2DockerServerCertPath, Boot2DockerServerKeyPath, Boot2DockerProfilePath}

// stateProbe prints the sums of managedFiles and docker.service's states
// (on boot2docker, whether its init script says dockerd runs);
// it runs as root (the server key is readable by root only).
var stateProbe = section("sums") + `
for f in ` + strings.Join(managedFiles, " ") + `; do
  if [ -f "$f" ]; then echo "$(sha256sum < "$f" | cut -d' ' -f1) $(stat -c %a "$f") $f"; fi
done
` + section("active") + `
if grep -q '^ID=boot2docker' /etc/os-release 2>/dev/null; then
  ` + boot2dockerInit + ` status >/dev/null 2>&1 && echo active || true
else
  systemctl is-active docker.service 2>/dev/null || true
fi
` + section("enabled") + `
systemctl is-enabled docker.service 2>/dev/null || true
`

// parseCurrentState reads stateProbe's sections.
func parseCurrentState(sec map[string]string) currentState {
	s := currentState{files: map[string]string{}}
	for _, line := range strings.Split(sec["sums"], "\n") {
		if f := strings.Fields(line); len(f) == 3 && len(f[0]) == sha256.Size*2 {
			s.files[f[2]] = f[0] + " " + f[1]
		}
	}
	s.active = strings.TrimSpace(sec["active"]) == "active"
	s.enabled = strings.TrimSpace(sec["enabled"]) == "enabled"
	return s
}

// holds reports whether the host already holds exactly data at path,
// with mode, as the back up step found it.
func (p *run) holds(path string, data []byte, mode os.FileMode) bool {
	sum := sha256.Sum256(data)
	return p.current.files[path] == fmt.Sprintf("%s %o", hex.EncodeToString(sum[:]), mode.Perm())
}

// write writes a file whole and marks the run as changed.
func (p *run) write(ctx context.Context, path string, data []byte, mode os.FileMode) error {
	if err := p.r.WriteFile(ctx, path, data, mode); err != nil {
		return err
	}
	p.changed = true
	return nil
}

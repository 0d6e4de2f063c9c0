package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// boot2dockerInitStandIn stands in for boot2docker's /etc/init.d/docker:
// like the ISO's script it sources /var/lib/boot2docker/profile and runs
// dockerd with the local socket, $DOCKER_HOST, TLS from $CACERT,
// $SERVERCERT and $SERVERKEY when DOCKER_TLS is not "no" (and the files
// exist: the ISO's "auto" would make them), $DOCKER_STORAGE and
// $EXTRA_ARGS split on blanks, logging to /var/lib/boot2docker/docker.log.
const boot2dockerInitStandIn = `#!/bin/sh
# Stand-in of boot2docker's /etc/init.d/docker for machine's integration test.
[ "$(id -u)" = 0 ] || { echo 'must be root' >&2; exit 1; }
test -f /var/lib/boot2docker/profile && . /var/lib/boot2docker/profile
: ${DOCKER_HOST:=}
: ${DOCKER_TLS:=auto}
: ${DOCKER_STORAGE:=auto}
: ${CACERT:=/var/lib/boot2docker/ca.pem}
: ${SERVERCERT:=/var/lib/boot2docker/server.pem}
: ${SERVERKEY:=/var/lib/boot2docker/serverkey.pem}
PIDFILE=/var/run/docker.pid
LOG=/var/lib/boot2docker/docker.log
check() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
start() {
  check && return 0
  args="-H unix:///var/run/docker.sock"
  if [ "$DOCKER_TLS" != no ] && [ -f "$CACERT" ] && [ -f "$SERVERCERT" ] && [ -f "$SERVERKEY" ]; then
    args="$args $DOCKER_HOST --tlsverify --tlscacert=$CACERT --tlscert=$SERVERCERT --tlskey=$SERVERKEY"
  fi
  [ "$DOCKER_STORAGE" = auto ] || args="$args --storage-driver=$DOCKER_STORAGE"
  mkdir -p /var/lib/boot2docker
  dockerd $args $EXTRA_ARGS >> "$LOG" 2>&1 &
  for i in $(seq 1 300); do
    check && [ -S /var/run/docker.sock ] && return 0
    kill -0 $! 2>/dev/null || { echo "dockerd exited; see $LOG" >&2; return 1; }
    sleep 0.1
  done
  echo "dockerd did not start; see $LOG" >&2
  return 1
}
stop() {
  check || return 0
  pid=$(cat "$PIDFILE")
  kill "$pid"
  for i in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  return 1
}
case $1 in
start) start ;;
stop) stop ;;
restart) stop && start ;;
status) if check; then echo 'Docker daemon is running'; else echo 'Docker daemon is not running'; exit 1; fi ;;
*) echo "usage: $0 start|stop|restart|status" >&2; exit 1 ;;
esac
`

// startBoot2DockerStandIn starts a test host shaped like boot2docker: the
// Docker image's dockerd taken out of systemd's hands, boot2docker's
// os-release, its login user docker with passwordless sudo, and
// boot2dockerInitStandIn running dockerd (without TLS, as boot2docker
// before provisioning has no machine certificates).
func startBoot2DockerStandIn(t *testing.T) *testHost {
	t.Helper()
	h := startHost(t, dockerImage)
	// Before the init script exists: systemctl would hand it to update-rc.d.
	h.exec(t, "systemctl disable --now --quiet docker.socket docker.service && systemctl mask --quiet docker.socket docker.service")
	rel, err := os.ReadFile(filepath.Join(env.root, "provision/testdata/os-release/boot2docker-19.03.12"))
	if err != nil {
		t.Fatal(err)
	}
	for path, data := range map[string][]byte{"/etc/os-release": rel, "/etc/init.d/docker": []byte(boot2dockerInitStandIn)} {
		cmd := exec.Command("docker", "exec", "-i", h.Name, "sh", "-c", "rm -f "+path+" && cat > "+path+" && chmod 755 "+path)
		cmd.Stdin = bytes.NewReader(data)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("write %s on the stand-in: %v\n%s", path, err, out)
		}
	}
	h.exec(t, `useradd -m -s /bin/sh -g docker docker && echo 'docker ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/docker &&
mkdir -p /home/docker/.ssh && cp /root/.ssh/authorized_keys /home/docker/.ssh/ && chown -R docker: /home/docker/.ssh && chmod 700 /home/docker/.ssh &&
/etc/init.d/docker start`)
	return h
}

// TestBoot2DockerStandInHost provisions a stand-in of a boot2docker host
// (startBoot2DockerStandIn: no boot2docker ISO can boot here) as
// docker-machine did: certificates and profile under /var/lib/boot2docker,
// dockerd restarted through /etc/init.d/docker, then env and docker over
// mutual TLS; a second provisioning changes nothing; upgrade and a
// non-ISO install method are refused in one line.
func TestBoot2DockerStandInHost(t *testing.T) {
	h := startBoot2DockerStandIn(t)
	m := newCLI(t)
	r := m.createGeneric(t, h, "b1", "--generic-ssh-user", "docker", "--engine-label", "role=b2d")
	if !strings.Contains(r.Stderr, "Detected Boot2Docker 19.03.12 (TCL 10.1)") {
		t.Errorf("create's progress lacks the detected OS:\n%s", r.Stderr)
	}

	t.Run("files", func(t *testing.T) {
		if got := strings.TrimSpace(m.ok(t, "ssh", "b1", "id", "-un").Stdout); got != "docker" {
			t.Errorf("ssh logs in as %q, want docker", got)
		}
		out := h.exec(t, "stat -c '%a %n' /var/lib/boot2docker/ca.pem /var/lib/boot2docker/server.pem /var/lib/boot2docker/server-key.pem /var/lib/boot2docker/profile; cat /var/lib/boot2docker/etc/hostname; hostname; ls /etc/docker/server.pem /etc/systemd/system/docker.service.d/10-machine.conf 2>&1 || true")
		for _, want := range []string{"644 /var/lib/boot2docker/ca.pem", "644 /var/lib/boot2docker/server.pem", "600 /var/lib/boot2docker/server-key.pem",
			"644 /var/lib/boot2docker/profile", "b1\nb1\n", "/etc/docker/server.pem': No such file", "10-machine.conf': No such file"} {
			if !strings.Contains(out, want) {
				t.Errorf("host lacks %q:\n%s", want, out)
			}
		}
		profile := h.exec(t, "cat /var/lib/boot2docker/profile")
		for _, want := range []string{"--label provider=generic\n--label role=b2d\n", "DOCKER_HOST='-H tcp://0.0.0.0:2376'\n", "DOCKER_TLS=auto\n", "SERVERKEY=/var/lib/boot2docker/server-key.pem\n"} {
			if !strings.Contains(profile, want) {
				t.Errorf("profile lacks %q:\n%s", want, profile)
			}
		}
	})

	t.Run("env and docker over TLS", func(t *testing.T) {
		vars := parseEnv(t, m.ok(t, "env", "--shell", "bash", "b1").Stdout)
		if vars["DOCKER_HOST"] != "tcp://"+h.IP+":2376" {
			t.Errorf("DOCKER_HOST = %q", vars["DOCKER_HOST"])
		}
		cmd := exec.Command("docker", "info", "--format", "{{.Labels}}")
		cmd.Env = os.Environ()
		for k, v := range vars {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "role=b2d") || !strings.Contains(string(out), "provider=generic") {
			t.Fatalf("docker info over TLS: %v: %s", err, out)
		}
		if v, err := dockerVersion(t, vars); err != nil || v == "" {
			t.Fatalf("docker version over TLS: %v: %s", err, v)
		}
	})

	t.Run("provision again changes nothing", func(t *testing.T) {
		state := "cat /var/run/docker.pid; sha256sum /var/lib/boot2docker/*.pem /var/lib/boot2docker/profile"
		before := h.exec(t, state)
		r := m.ok(t, "provision", "b1")
		if after := h.exec(t, state); after != before {
			t.Errorf("provision changed the host:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if !strings.Contains(r.Stderr, "dockerd keeps running") {
			t.Errorf("provision's progress:\n%s", r.Stderr)
		}
	})

	t.Run("upgrade refused", func(t *testing.T) {
		m.fails(t, "create the machine again with a newer ISO", "upgrade", "b1")
	})

	t.Run("install method refused", func(t *testing.T) {
		// Another store: this one already has the host as b1.
		m := newCLI(t)
		m.fails(t, `install URL "distro"`, "create", "-d", "generic", "--generic-ip-address", h.IP,
			"--generic-ssh-key", env.keyPath, "--generic-ssh-user", "docker", "--engine-install-url", "distro", "b2")
		if got := m.ok(t, "ls", "-q").Stdout; got != "" {
			t.Errorf("ls -q after the refused create = %q", got)
		}
	})

	t.Run("failed create rolled back", func(t *testing.T) {
		// From another store, a create whose dockerd cannot start: the
		// host's profile and certificates come back and dockerd runs on
		// them again, so b1 still answers.
		state := "sha256sum /var/lib/boot2docker/*.pem /var/lib/boot2docker/profile"
		before := h.exec(t, state)
		other := newCLI(t)
		r := other.fails(t, "dockerd did not start (/etc/init.d/docker restart", "create", "-d", "generic", "--generic-ip-address", h.IP,
			"--generic-ssh-key", env.keyPath, "--generic-ssh-user", "docker", "--engine-opt", "no-such-flag", "b3")
		if !strings.Contains(r.Stderr, "the end of /var/lib/boot2docker/docker.log") || !strings.Contains(r.Stderr, "no-such-flag") {
			t.Errorf("the failure does not show dockerd's log:\n%s", r.Stderr)
		}
		if after := h.exec(t, state); after != before {
			t.Errorf("the rollback left the host changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		vars := parseEnv(t, m.ok(t, "env", "--shell", "bash", "b1").Stdout)
		if v, err := dockerVersion(t, vars); err != nil || v == "" {
			t.Fatalf("b1 after the rollback: docker version over TLS: %v: %s", err, v)
		}
	})
}

#!/usr/bin/env bash
# demo.sh runs the main user path against a local test host: create a
# machine with the generic driver, point docker at it with `env`, talk to it
# over mutual TLS, ssh into it, list it and remove it. Everything it starts
# is removed at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/bin/machine
work=$(mktemp -d /tmp/machine-demo.XXXXXX)
net=machine-demo-$$
host=machine-demo-$$-n1
label=machine-demo

cleanup() {
  # The outer engine, not the demo machine.
  unset DOCKER_HOST DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_MACHINE_NAME
  docker rm -f -v "$host" >/dev/null 2>&1 || true
  docker volume rm -f "$host-docker" >/dev/null 2>&1 || true
  docker network rm "$net" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

bash "$root/integration/testhost/build.sh"
for i in $(seq 0 40); do
  docker network create --label "$label" --subnet "172.28.$((100 + i)).0/24" "$net" >/dev/null 2>&1 && break
done
ssh-keygen -q -t ed25519 -N '' -f "$work/id_ed25519"
ip=$(bash "$root/integration/testhost/run.sh" machine-testhost:docker-v2 "$host" "$net" "$label" "$(cat "$work/id_ed25519.pub")")
export MACHINE_STORAGE_PATH=$work/store
# The demo's docker contexts go to a config of its own, not ~/.docker.
export DOCKER_CONFIG=$work/docker-config

step() { printf '\n\033[1m$ %s\033[0m\n' "$*" >&2; }
step machine create -d generic --generic-ip-address "$ip" --generic-ssh-key "$work/id_ed25519" n1
"$bin" create -d generic --generic-ip-address "$ip" --generic-ssh-key "$work/id_ed25519" n1
step 'eval $(machine env n1)'
"$bin" env n1
eval "$("$bin" env n1)"
step docker version
docker version
step machine ssh n1 uptime
"$bin" ssh n1 uptime
step machine status n1
"$bin" status n1
step 'eval $(machine env -u); machine use n1; docker version --format {{.Server.Version}}'
eval "$("$bin" env -u)"
"$bin" use n1
docker version --format '{{.Server.Version}}'
"$bin" use -u
step machine scp demo.txt n1:/tmp/demo.txt
echo "hello from $(hostname)" > "$work/demo.txt"
(cd "$work" && "$bin" scp demo.txt n1:/tmp/demo.txt)
"$bin" ssh n1 cat /tmp/demo.txt
step machine ls
"$bin" ls
step machine rm -y n1
"$bin" rm -y n1

#!/usr/bin/env bash
# bench.sh times whole commands with hyperfine against a local test host
# with Docker preinstalled: create, env, ls, ssh true. Results are printed
# and written to bin/bench-*.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/bin/machine
work=$(mktemp -d /tmp/machine-bench.XXXXXX)
net=machine-bench-$$
host=machine-bench-$$-n1
label=machine-bench

cleanup() {
  docker rm -f -v "$host" >/dev/null 2>&1 || true
  docker volume rm -f "$host-docker" >/dev/null 2>&1 || true
  docker network rm "$net" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

for i in $(seq 0 40); do
  docker network create --label "$label" --subnet "172.27.$((100 + i)).0/24" "$net" >/dev/null 2>&1 && break
done
ssh-keygen -q -t ed25519 -N '' -f "$work/id_ed25519"
ip=$(bash "$root/integration/testhost/run.sh" machine-testhost:docker-v1 "$host" "$net" "$label" "$(cat "$work/id_ed25519.pub")")
export MACHINE_STORAGE_PATH=$work/store
create="$bin create -d generic --generic-ip-address $ip --generic-ssh-key $work/id_ed25519 n1"

hyperfine --style basic --runs 5 --export-markdown "$root/bin/bench-create.md" \
  --prepare "$bin rm -y -f n1 >/dev/null 2>&1 || true" -n 'create -d generic (Docker preinstalled)' "$create"
"$bin" rm -y -f n1 >/dev/null 2>&1 || true
$create 2>/dev/null
hyperfine --style basic --warmup 3 --runs 30 --export-markdown "$root/bin/bench-cmds.md" \
  -n 'env n1' "$bin env n1" \
  -n 'ls' "$bin ls" \
  -n 'ssh n1 true' "$bin ssh n1 true"

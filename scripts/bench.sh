#!/usr/bin/env bash
# bench.sh times whole commands with hyperfine against a local test host
# with Docker preinstalled: create, env, ls, ssh true, a 3-node swarm, and
# create -d qemu on a local VM to the engine answering. Results are printed
# and written to bin/bench-*.md. With BENCH_BASE=/path/to/another/machine
# binary (an older build, say), create and the quick commands are timed for
# it too, one after the other on the same host and store.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/bin/machine
work=$(mktemp -d /tmp/machine-bench.XXXXXX)
net=machine-bench-$$
host=machine-bench-$$-n1
label=machine-bench
hosts=("$host" "$host-s1" "$host-s2" "$host-s3" "$host-frozen")

cleanup() {
  "$bin" rm -y -f q1 >/dev/null 2>&1 || true
  for h in "${hosts[@]}"; do
    docker unpause "$h" >/dev/null 2>&1 || true
    docker rm -f -v "$h" >/dev/null 2>&1 || true
    docker volume rm -f "$h-docker" >/dev/null 2>&1 || true
  done
  docker network rm "$net" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

for i in $(seq 0 40); do
  docker network create --label "$label" --subnet "172.27.$((100 + i)).0/24" "$net" >/dev/null 2>&1 && break
done
ssh-keygen -q -t ed25519 -N '' -f "$work/id_ed25519"
pub=$(cat "$work/id_ed25519.pub")
ip=$(bash "$root/integration/testhost/run.sh" machine-testhost:docker-v2 "$host" "$net" "$label" "$pub")
export MACHINE_STORAGE_PATH=$work/store
create="$bin create -d generic --generic-ip-address $ip --generic-ssh-key $work/id_ed25519 n1"

base=${BENCH_BASE:-}
create_runs=(-n 'create -d generic (Docker preinstalled)' "$create")
cmd_runs=(-n 'env n1' "$bin env n1" -n 'ls' "$bin ls" -n 'ssh n1 true' "$bin ssh n1 true" -n 'ip n1' "$bin ip n1" -n 'version' "$bin version")
if [ -n "$base" ]; then
  create_runs+=(-n 'base: create -d generic' "${create/#$bin/$base}")
  cmd_runs+=(-n 'base: env n1' "$base env n1" -n 'base: ls' "$base ls" -n 'base: ssh n1 true' "$base ssh n1 true" -n 'base: ip n1' "$base ip n1" -n 'base: version' "$base version")
fi
hyperfine --style basic --runs 5 --export-markdown "$root/bin/bench-create.md" \
  --prepare "$bin rm -y -f n1 >/dev/null 2>&1 || true" "${create_runs[@]}"
"$bin" rm -y -f n1 >/dev/null 2>&1 || true
# n1's certificate also names the host that ls's benchmark pauses, so that
# the entries pointing there wait on a frozen TLS handshake rather than
# failing at once on a certificate that does not cover their address.
frozen_ip=$(bash "$root/integration/testhost/run.sh" machine-testhost:docker-v2 "$host-frozen" "$net" "$label" "$pub")
${create% n1} --tls-san "$frozen_ip" n1 2>/dev/null
hyperfine --style basic --warmup 3 --runs 30 --export-markdown "$root/bin/bench-cmds.md" "${cmd_runs[@]}"

# ls over 50 machines, --timeout 2: 40 copies of n1's directory under new
# names, and 10 entries at a closed loopback port, or at a paused host whose
# kernel still accepts connections (its SSH port, given as the engine port
# too, so that the engine's TLS handshake waits for the timeout).
docker pause "$host-frozen" >/dev/null
closed=
for p in $(seq 47000 47200); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then closed=$p; break; fi
done
ls50_runs=()
for kind in closed paused; do
  store50=$work/store50-$kind
  mkdir -p "$store50/machines"
  for i in $(seq -w 1 50); do
    name=m$i
    cp -r "$MACHINE_STORAGE_PATH/machines/n1" "$store50/machines/$name"
    filter='.Name = $n | .Driver.MachineName = $n'
    if [ "$i" -gt 40 ]; then
      filter+=' | del(.MachineEndpoint) | .Driver.IPAddress = $ip | .Driver.SSHPort = $port | .Driver.EnginePort = $port'
    fi
    addr=127.0.0.1 port=$closed
    [ "$kind" = paused ] && addr=$frozen_ip port=22
    jq --arg n "$name" --arg ip "$addr" --argjson port "$port" "$filter" \
      "$MACHINE_STORAGE_PATH/machines/n1/config.json" > "$store50/machines/$name/config.json"
  done
  ls50_runs+=(-n "ls --timeout 2: 40 up, 10 $kind" "$bin -s $store50 ls --timeout 2")
  if [ -n "$base" ]; then
    ls50_runs+=(-n "base: ls --timeout 2: 40 up, 10 $kind" "$base -s $store50 ls --timeout 2")
  fi
done
hyperfine --style basic --warmup 1 --runs 10 --export-markdown "$root/bin/bench-ls50.md" "${ls50_runs[@]}"
docker unpause "$host-frozen" >/dev/null

# A three-node swarm (init, manager join, worker join), built from scratch
# each run; the prepare step removes it again.
ips=()
for h in "${hosts[@]:1:3}"; do
  ips+=("$(bash "$root/integration/testhost/run.sh" machine-testhost:docker-v2 "$h" "$net" "$label" "$pub")")
done
gen="-d generic --generic-ssh-key $work/id_ed25519 --generic-ip-address"
cat > "$work/cluster.sh" <<EOT
set -e
$bin create $gen ${ips[0]} --swarm-init swarm01
$bin create $gen ${ips[1]} --swarm-join swarm01 --swarm-manager swarm02
$bin create $gen ${ips[2]} --swarm-join swarm01 swarm03
EOT
hyperfine --style basic --runs 3 --export-markdown "$root/bin/bench-swarm.md" \
  --prepare "$bin rm -y -f swarm03 swarm02 swarm01 >/dev/null 2>&1 || true" \
  -n '3-node swarm (3 creates: init, manager join, worker join)' "bash $work/cluster.sh 2>/dev/null"

# create -d qemu: seconds from the command to a Docker engine answering on
# a local VM (TCG here unless /dev/kvm really works), booting the test VM
# image (Debian 12 with Docker preinstalled, as the harness builds it). The
# first run copies and verifies the image into the store's cache; the
# others find it there.
vmimg=$(bash "$root/integration/testhost/vm-image.sh")
hyperfine --style basic --runs 3 --export-markdown "$root/bin/bench-qemu.md" \
  --prepare "$bin rm -y -f q1 >/dev/null 2>&1 || true" \
  -n 'create -d qemu (local VM to Docker answering)' "$bin create -d qemu --qemu-image-url $vmimg q1 2>/dev/null"

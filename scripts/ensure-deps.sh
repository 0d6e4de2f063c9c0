#!/usr/bin/env bash
# ensure-deps.sh installs what the tests and the demo need on a fresh Debian
# machine and starts a Docker engine when none answers. Safe to run again.
set -euo pipefail

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v hyperfine >/dev/null 2>&1 || need+=(hyperfine)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
# A static busybox makes the workload image the swarm tests import.
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
  echo "ensure-deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

if ! docker info >/dev/null 2>&1; then
  echo "ensure-deps: starting dockerd" >&2
  mkdir -p /var/log
  nohup dockerd >/var/log/machine-test-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { echo "ensure-deps: dockerd did not start; see /var/log/machine-test-dockerd.log" >&2; exit 1; }
fi

#!/usr/bin/env bash
# build.sh builds the test-host images from Debian's packages, without any
# registry: a systemd + sshd base (debootstrap) and one with docker.io
# preinstalled. Images are cached by tag; a tag that exists is not rebuilt.
# Usage: build.sh [BASE_TAG DOCKER_TAG [SUITE]]
# SUITE is the Debian release (bookworm when not given). Without arguments it
# builds every test host the tests use: Debian 12 (bookworm) and 13 (trixie).
set -euo pipefail
if [ $# -eq 0 ]; then
  bash "$0" machine-testhost:base-v2 machine-testhost:docker-v2 bookworm
  exec bash "$0" machine-testhost:trixie-base-v1 machine-testhost:trixie-docker-v1 trixie
fi
base=$1
withdocker=$2
suite=${3:-bookworm}
here=$(cd "$(dirname "$0")" && pwd)

have() { docker image inspect "$1" >/dev/null 2>&1; }

mirror() {
  local m
  m=$(grep -h '^URIs:' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1 | awk '{print $2}')
  [ -n "$m" ] || m=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)
  echo "${m:-http://deb.debian.org/debian}"
}

if ! have "$base"; then
  echo "testhost: building $base ($suite, debootstrap, about a minute)" >&2
  dir=$(mktemp -d /tmp/machine-testhost.XXXXXX)
  trap 'rm -rf "$dir"' EXIT
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,openssh-server,sudo,ca-certificates,curl,iproute2,procps,iptables,kmod,dbus,rsync \
    "$suite" "$dir" "$(mirror)" >&2
  # Every host makes its own SSH host keys at first boot.
  rm -f "$dir"/etc/ssh/ssh_host_*
  install -m 0644 "$here/ssh-hostkeys.service" "$dir/etc/systemd/system/ssh-hostkeys.service"
  chroot "$dir" systemctl enable ssh ssh-hostkeys.service >&2
  # Quiet units that cannot work in a container.
  chroot "$dir" systemctl mask getty@tty1.service systemd-logind.service >/dev/null 2>&1 || true
  echo "PermitRootLogin prohibit-password" > "$dir/etc/ssh/sshd_config.d/10-machine-test.conf"
  : > "$dir/etc/machine-id"
  tar -C "$dir" -c . | docker import -c 'CMD ["/sbin/init"]' - "$base" >&2
  rm -rf "$dir"; trap - EXIT
fi

if ! have "$withdocker"; then
  echo "testhost: building $withdocker (docker.io preinstalled)" >&2
  # Debian 13 packages the docker CLI apart from docker.io, as docker-cli.
  printf 'FROM %s\nRUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io $(apt-cache show docker-cli >/dev/null 2>&1 && echo docker-cli) && apt-get clean && rm -rf /var/lib/apt/lists/*\n' "$base" |
    docker build -q -t "$withdocker" - >&2
fi

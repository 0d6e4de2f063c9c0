#!/usr/bin/env bash
# ensure-deps.sh installs what the tests and the demo need on a fresh Debian
# machine and starts a Docker engine when none answers. Safe to run again.
set -euo pipefail

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v hyperfine >/dev/null 2>&1 || need+=(hyperfine)
# bench.sh writes machine configs with jq.
command -v jq >/dev/null 2>&1 || need+=(jq)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
# scp --delta runs rsync on both sides; mount runs sshfs (FUSE).
command -v rsync >/dev/null 2>&1 || need+=(rsync)
command -v sshfs >/dev/null 2>&1 || need+=(sshfs)
# A static busybox makes the workload image the swarm tests import.
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
# The upgrade tests index their local apt repository with dpkg-scanpackages.
command -v dpkg-scanpackages >/dev/null 2>&1 || need+=(dpkg-dev)
# libmachine/vmimage and qemuimg tests make small disk images with qemu-img.
command -v qemu-img >/dev/null 2>&1 || need+=(qemu-utils)
# libmachine/cloudinit's tests read the seed ISO back with xorriso.
command -v xorriso >/dev/null 2>&1 || need+=(xorriso)
# make proto and its check (part of make unit) compile the driver plugin
# protocol with protoc.
command -v protoc >/dev/null 2>&1 || need+=(protobuf-compiler)
# The shells cmd/machine's TestEnvShells evaluates `machine env` in, and the
# completion tests load `machine completion` scripts into (bash and
# dash come with Debian).
command -v zsh >/dev/null 2>&1 || need+=(zsh)
command -v fish >/dev/null 2>&1 || need+=(fish)
command -v tcsh >/dev/null 2>&1 || need+=(tcsh)
command -v emacs >/dev/null 2>&1 || need+=(emacs-nox)
# The qemu driver's tests boot a Debian VM under QEMU (TCG) with UEFI
# firmware; integration/testhost/vm-image.sh builds its disk image.
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
[ -e /usr/share/OVMF/OVMF_CODE_4M.fd ] || need+=(ovmf)
command -v mcopy >/dev/null 2>&1 || need+=(mtools)
command -v mkfs.vfat >/dev/null 2>&1 || need+=(dosfstools)
[ -d /usr/lib/grub/x86_64-efi ] || need+=(grub-efi-amd64-bin)
command -v grub-mkstandalone >/dev/null 2>&1 || need+=(grub-common)
command -v mkfs.ext4 >/dev/null 2>&1 || need+=(e2fsprogs)
command -v sfdisk >/dev/null 2>&1 || need+=(fdisk)
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

#!/usr/bin/env bash
# vm-image.sh builds the qemu driver's test VM image once and caches it
# outside the repository, so every clone on this machine reuses it: a
# cloud-style Debian 12 (bookworm) disk with cloud-init and docker.io
# preinstalled (the tests cannot reach get.docker.com; provisioning finds
# Docker installed), booting with UEFI (a GRUB EFI binary on an ESP) and a
# serial console. Built from Debian's packages without mounting anything:
# debootstrap, mkfs.ext4 -d, grub-mkstandalone, mtools, sfdisk, dd, qemu-img.
#
# The image is keyed by VERSION: change anything below and bump it. It is
# written atomically with its SHA256SUMS line beside it; a cached image is
# not rebuilt. Prints the image's path on stdout; progress goes to stderr.
# Usage: vm-image.sh
# Environment: MACHINE_VM_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/machine-integration/vm).
set -euo pipefail

VERSION=v1
NAME=debian-12-docker-$VERSION.qcow2
PACKAGES=linux-image-amd64,systemd-sysv,openssh-server,cloud-init,cloud-guest-utils,sudo,iproute2,ifupdown,isc-dhcp-client,netbase,udev,kmod,ca-certificates,dbus,apparmor,locales
ROOT_MB=3072 # the root file system; cloud-init grows it to the machine's disk size
ESP_MB=32

cache=${MACHINE_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/machine-integration/vm}
image=$cache/$NAME
mkdir -p "$cache"

# The image is moved into place before its SHA256SUMS line is written, so
# an image with its line is whole. (Users of the image verify the sum.)
cached() {
  [ -f "$image" ] && grep -qF "  $NAME" "$cache/SHA256SUMS" 2>/dev/null
}

# One build at a time: a second caller waits for the first and reuses its image.
exec 9>"$cache/.lock"
flock 9
if cached; then
  echo "$image"
  exit 0
fi
# With the lock held no build runs: a .build directory is a killed build's.
rm -rf "$cache"/.build.*

mirror() {
  local m
  m=$(grep -h '^URIs:' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1 | awk '{print $2}')
  [ -n "$m" ] || m=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)
  echo "${m:-http://deb.debian.org/debian}"
}

start=$(date +%s)
work=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
echo "vm-image: building $NAME (debootstrap, a few minutes)" >&2

# debootstrap exits 1 over python3-cffi-backend, which apt then mends.
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$root" "$(mirror)" >&2 ||
  echo "vm-image: debootstrap failed; mending with apt-get" >&2
in_root() { chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
in_root apt-get install -y -qq python3-cffi-backend >&2
in_root dpkg --configure -a >&2
# debootstrap's policy-rc.d keeps services from starting in the chroot while
# docker.io installs; removed below.
in_root apt-get install -y -qq --no-install-recommends docker.io >&2
in_root apt-get clean
rm -rf "$root"/var/lib/apt/lists/*
if [ -e "$root/usr/sbin/start-stop-daemon.REAL" ]; then
  mv -f "$root/usr/sbin/start-stop-daemon.REAL" "$root/usr/sbin/start-stop-daemon"
fi
rm -f "$root/usr/sbin/policy-rc.d"

# Each VM gets its own machine-id (and so its own DHCP client id) at first
# boot, its own host name and SSH host keys from cloud-init.
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
echo localhost >"$root/etc/hostname"
rm -f "$root/etc/resolv.conf"
echo 'LABEL=root / ext4 errors=remount-ro 0 1' >"$root/etc/fstab"

kernel=$(cd "$root" && ls boot/vmlinuz-* | sort -V | tail -1)
initrd=$(cd "$root" && ls boot/initrd.img-* | sort -V | tail -1)
[ -n "$kernel" ] && [ -n "$initrd" ] || { echo "vm-image: no kernel or initrd in the root" >&2; exit 1; }

# GRUB, standalone, with its config embedded: it finds the root by label.
cat >"$work/grub.cfg" <<EOF
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
search --no-floppy --label root --set=root
linux /$kernel root=LABEL=root ro console=tty0 console=ttyS0,115200n8
initrd /$initrd
boot
EOF
grub-mkstandalone -O x86_64-efi -o "$work/BOOTX64.EFI" \
  --modules="part_gpt ext2 search_label linux serial terminal" \
  "boot/grub/grub.cfg=$work/grub.cfg" >&2

mkfs.vfat -n ESP -C "$work/esp.img" $((ESP_MB * 1024)) >/dev/null
mmd -i "$work/esp.img" ::/EFI ::/EFI/BOOT
mcopy -i "$work/esp.img" "$work/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI

mkfs.ext4 -q -L root -d "$root" "$work/root.img" "${ROOT_MB}M"
rm -rf "$root"

# GPT: the ESP first, the root last so that cloud-init's growpart can grow it.
total_mb=$((1 + ESP_MB + ROOT_MB + 1))
truncate -s "${total_mb}M" "$work/disk.raw"
sfdisk -q "$work/disk.raw" <<EOF
label: gpt
start=1MiB, size=${ESP_MB}MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp
start=$((1 + ESP_MB))MiB, size=${ROOT_MB}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=root
EOF
dd if="$work/esp.img" of="$work/disk.raw" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$work/root.img" of="$work/disk.raw" bs=1M seek=$((1 + ESP_MB)) conv=notrunc,sparse status=none
qemu-img convert -O qcow2 "$work/disk.raw" "$work/$NAME"

# The image, then its checksum line: a SHA256SUMS line vouches for a whole file.
sum=$(cd "$work" && sha256sum "$NAME")
mv -f "$work/$NAME" "$image"
{ grep -vF "  $NAME" "$cache/SHA256SUMS" 2>/dev/null || true; echo "$sum"; } >"$work/SHA256SUMS"
mv -f "$work/SHA256SUMS" "$cache/SHA256SUMS"
echo "vm-image: built $image in $(($(date +%s) - start)) s" >&2
echo "$image"

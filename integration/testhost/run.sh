#!/usr/bin/env bash
# run.sh starts one test host: a Debian container with systemd, sshd and
# (per image) dockerd, behaving like a small VM. It authorizes PUBKEY for
# root, waits until sshd answers and prints the host's IP on stdout.
# It restarts when it reboots (`systemctl reboot`), as a machine does.
# Usage: run.sh IMAGE NAME NETWORK LABEL PUBKEY
set -euo pipefail
image=$1 name=$2 network=$3 label=$4 pubkey=$5

docker volume create --label "$label" "$name-docker" >/dev/null
docker run -d --label "$label" --restart unless-stopped \
  --cap-add ALL --cap-drop SYS_RESOURCE \
  --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
  --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
  --tmpfs /run --tmpfs /run/lock \
  -v "$name-docker:/var/lib/docker" \
  --network "$network" --hostname "$name" --name "$name" "$image" >/dev/null
docker exec -i "$name" sh -c 'mkdir -p /root/.ssh && chmod 700 /root/.ssh && cat >> /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys' <<<"$pubkey"
ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$name")
for _ in $(seq 1 600); do
  if banner=$(timeout 1 bash -c "exec 3<>/dev/tcp/$ip/22 && head -c 4 <&3" 2>/dev/null) && [ "$banner" = "SSH-" ]; then
    echo "$ip"
    exit 0
  fi
  sleep 0.1
done
echo "run.sh: sshd on $name ($ip) did not answer within 60s" >&2
exit 1

#!/usr/bin/env bash
# Installs libvirt and QEMU from Debian's packages (without recommends: libvirt-daemon-system
# would pull in hundreds of packages and upgrade systemd) and starts libvirtd for the libvirt
# adapter's tests and the libvirt demo. Idempotent: a running libvirtd is left as it is.
# Needs root. Exits non-zero when libvirtd cannot be installed or does not answer.
set -euo pipefail

packages=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils tini)

if [[ ! -x /usr/sbin/libvirtd || ! -x /usr/bin/qemu-img || ! -x /usr/bin/tini ]]; then
  echo "libvirt-up: installing ${packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# libvirtd refuses to start without the libvirt-qemu user and group, even when QEMU runs as root.
getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
id libvirt-qemu >/dev/null 2>&1 || useradd --system --no-create-home --gid libvirt-qemu --shell /usr/sbin/nologin libvirt-qemu
mkdir -p /var/log/libvirt
conf=/etc/libvirt/qemu.conf
grep -q '^user = "root"' "$conf" || echo 'user = "root"' >>"$conf"
grep -q '^group = "root"' "$conf" || echo 'group = "root"' >>"$conf"

if virsh -c qemu:///system version >/dev/null 2>&1; then
  echo "libvirt-up: libvirtd already answers"
  exit 0
fi
pgrep -x virtlogd >/dev/null || virtlogd --daemon
# tini reaps exited QEMU processes at once; without it every destroy takes 1.2 to 2 s here.
setsid tini -s -- /usr/sbin/libvirtd >/var/log/libvirt/libvirtd.out 2>&1 </dev/null &
# The first connection waits while libvirt probes QEMU (1.5 to 8 s on these machines).
for _ in $(seq 1 60); do
  if virsh -c qemu:///system version >/dev/null 2>&1; then
    echo "libvirt-up: libvirtd answers ($(virsh -c qemu:///system version --daemon | grep -i 'running hypervisor' || true))"
    exit 0
  fi
  sleep 0.5
done
echo "libvirt-up: libvirtd did not answer within 30 s; see /var/log/libvirt/libvirtd.out" >&2
exit 1

#!/usr/bin/env bash
# Installs a built package into a fresh root with dpkg (--root, maintainer scripts run outside it
# with DPKG_ROOT) and checks the unit there with systemd-analyze: what PackageInstallTests runs.
#   install_check.sh ROOT DEB
set -euo pipefail
root=$1 deb=$2
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/etc" "$root/bin" "$root/lib/systemd/system"
touch "$root/var/lib/dpkg/status"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"
printf 'root:*:19000:0:99999:7:::\n' > "$root/etc/shadow"
printf 'root:*::\n' > "$root/etc/gshadow"
# The libraries it depends on are the host's (the root is no system to run in).
dpkg --root="$root" --force-depends --force-script-chrootless --log=/dev/null -i "$deb" >/dev/null 2>&1
# What systemd-analyze resolves the unit against: the targets and slices, and kill(1).
cp -n /lib/systemd/system/*.target /lib/systemd/system/*.slice "$root/lib/systemd/system/" 2>/dev/null || true
cp /usr/bin/kill "$root/bin/kill"
systemd-analyze verify --root="$root" /lib/systemd/system/inspection-watch.service
echo "verify ok"
systemd-analyze security --offline=true --root="$root" /lib/systemd/system/inspection-watch.service | tail -1
dpkg --root="$root" -s inspection-watch | grep -E '^(Status|Version):'

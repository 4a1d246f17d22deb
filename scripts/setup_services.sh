#!/usr/bin/env bash
# Install Debian packages for services the scaled profile and its tests run locally
# (postgresql, redis-server, nginx). Usage: setup_services.sh package…  Installs only what is missing.
set -euo pipefail

missing=()
for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
fi
echo "==> installing ${missing[*]} (Debian packages)…"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the system-wide services on install; the project runs its own instances on other ports.
for service in nginx redis-server; do
    if [[ " ${missing[*]} " == *" $service "* ]]; then
        service "$service" stop >/dev/null 2>&1 || true
    fi
done
echo "==> installed ${missing[*]}"

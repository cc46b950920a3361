#!/usr/bin/env bash
# Installs what the cross-broker tests need and a fresh machine lacks: Debian's mosquitto.
# Safe to run again; needs root (or sudo) only when something is missing.
set -euo pipefail

need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v mosquitto_passwd >/dev/null 2>&1 || need+=(mosquitto)
command -v mosquitto_sub >/dev/null 2>&1 || need+=(mosquitto-clients)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "install-prerequisites: need root to install ${need[*]}" >&2; exit 1
  fi
fi
echo "install-prerequisites: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null
# The package starts a broker on port 1883; the tests start their own on free ports.
$sudo systemctl disable --now mosquitto >/dev/null 2>&1 || true

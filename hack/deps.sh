#!/usr/bin/env bash
# Installs the Debian packages kuberay-c needs to build and test, if any is missing.
# Idempotent: when everything is present it prints one line and does nothing else.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config clang-format
  libcurl4-openssl-dev libssl-dev libnghttp2-dev libjansson-dev libyajl-dev libyaml-dev libmicrohttpd-dev
  libcmocka-dev
  libnl-3-dev libnl-route-3-dev libgnutls28-dev nettle-dev libmbedtls-dev zlib1g-dev
  openssl iproute2 procps psmisc time wget curl bash ca-certificates python3-venv
  tzdata
  redis-server
  jq yq
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "[deps] all Debian packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "[deps] missing packages: ${missing[*]}; run as root or install them with apt-get" >&2
  exit 1
fi
echo "[deps] installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null || { echo "[deps] apt-get update failed" >&2; exit 1; }
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
  { echo "[deps] apt-get install failed for: ${missing[*]}" >&2; exit 1; }
echo "[deps] installed ${#missing[@]} packages"

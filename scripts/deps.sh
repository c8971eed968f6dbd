#!/usr/bin/env bash
# Installs the Debian packages jwtguard needs to build and test, and only
# those that are missing; says what it installs. Needs root (or sudo) only
# when something is missing.
set -euo pipefail

packages=(cmake make g++ pkg-config libssl-dev rapidjson-dev libxxhash-dev nettle-dev libsodium-dev libgtest-dev
          libbenchmark-dev)
# Extra packages for a purpose, e.g. `scripts/deps.sh clang-14`.
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all present (${packages[*]})"
  exit 0
fi

echo "deps: installing missing Debian packages: ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: not root and no sudo; install them by hand" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

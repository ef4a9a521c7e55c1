#!/usr/bin/env bash
# Installs every system dependency KTSW's checks and tests need on Debian 12, from Debian's packages
# and the Go module proxy only. Idempotent: a second run installs nothing new.
# The lists live in deps/apt.txt and deps/go-tools.txt so a component adds its needs in one line.
set -euo pipefail
cd "$(dirname "$0")/.."

strip() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$1"; }

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

mapfile -t apt_pkgs < <(strip deps/apt.txt | awk '{print $1}')
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  sudo_if_needed apt-get update -qq
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

gobin="$(go env GOPATH)/bin"
while read -r bin module toolchain; do
  version="${module##*@}"
  stamp="$gobin/.ktsw-$bin-$version"
  if [ -x "$gobin/$bin" ] && [ -f "$stamp" ]; then continue; fi
  echo "install-deps: go install $module"
  # CGO off: static tools, no C toolchain surprises. A module that needs a newer Go names its
  # toolchain (fetched once from the module proxy; the build cache is kept for the next build).
  if [ -n "$toolchain" ]; then
    GOTOOLCHAIN="$toolchain" CGO_ENABLED=0 go install "$module"
  else
    CGO_ENABLED=0 go install "$module"
  fi
  touch "$stamp"
done < <(strip deps/go-tools.txt)
echo "install-deps: done (Go tools in $gobin)"

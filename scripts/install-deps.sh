#!/usr/bin/env bash
# Installs every system dependency KTSW's checks and tests need on Debian 12, from Debian's packages,
# the Go module proxy and (for the pinned Python environment of deps/python.txt) PyPI only.
# Idempotent: a second run installs nothing new.
# The lists live in deps/apt.txt, deps/go-tools.txt and deps/python.txt so a component adds its needs in one line.
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
  # CGO off: static tools, no C toolchain surprises. A module that needs a newer Go names its
  # toolchain (fetched once from the module proxy; the build cache is kept for the next build).
  echo "install-deps: go install $module"
  if [ -n "$toolchain" ]; then
    GOTOOLCHAIN="$toolchain" CGO_ENABLED=0 go install "$module"
  else
    CGO_ENABLED=0 go install "$module"
  fi
  touch "$stamp"
done < <(strip deps/go-tools.txt)
# The Python environment of deps/python.txt, made with Debian's python3 (python3-venv above): every package pinned,
# no dependency resolution and wheels only, so the list is the whole environment. Remade when the list changes.
venv=.cache/ktsw/python
stamp="$venv/.ktsw-$(sha256sum deps/python.txt | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "install-deps: python environment $venv from deps/python.txt"
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --only-binary=:all: -r deps/python.txt
  touch "$stamp"
fi
# Server distributions of deps/maven.txt (Keycloak): Maven fetches the pinned artifact from Maven Central into its
# local repository, then it is unpacked once into .cache/ktsw/<name>-<version>. A folder there means it is installed.
while read -r name artifact; do
  IFS=: read -r _group id version packaging <<<"$artifact"
  dest=".cache/ktsw/$name-$version"
  if [ -f "$dest/.ktsw-installed" ]; then continue; fi
  echo "install-deps: $artifact from Maven Central into $dest"
  rm -rf "$dest" ".cache/ktsw/maven/$id-$version.$packaging"
  mkdir -p .cache/ktsw/maven
  mvn -q -B dependency:copy -Dartifact="$artifact" -DoutputDirectory=.cache/ktsw/maven
  tmp="$(mktemp -d .cache/ktsw/unpack.XXXXXX)"
  unzip -q ".cache/ktsw/maven/$id-$version.$packaging" -d "$tmp"
  # The archive holds one top folder (keycloak-26.0.0): that folder becomes $dest.
  mv "$tmp"/*/ "$dest"
  rmdir "$tmp"
  touch "$dest/.ktsw-installed"
done < <(strip deps/maven.txt | awk '{print $1, $2}')
echo "install-deps: done (Go tools in $gobin, Python programs in $venv/bin, server distributions in .cache/ktsw)"

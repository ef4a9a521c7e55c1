#!/usr/bin/env bash
# Builds the simulated cluster's programs (deps/sim-tools.txt) from the Go module proxy into one cache folder as
# <binary>-<version>. Idempotent: a binary already there is not built again (its versioned name is its stamp, and it
# only appears, by rename, once its build succeeded). `ktsw sim up` runs this for what is missing; .ci/run runs it
# ahead of the tests. Usage: build-sim-tools.sh [--out FOLDER] [BINARY...]   (default: every binary of the list)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

out="$repo/.cache/ktsw/sim/bin"
if [ "${1-}" = "--out" ]; then
  out="${2:?--out needs a folder}"
  shift 2
fi
wanted=("$@")
mkdir -p "$out"

strip() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$1"; }

# Static binaries (no C toolchain surprises) and -trimpath (no build-machine paths inside); the Go build cache
# makes a rebuild after a version bump compile only what changed.
export CGO_ENABLED=0
build_flags=(-trimpath)

# The module a package belongs to inside a wrapper module, with the version that wrapper resolved:
# the longest module path that prefixes the package path.
module_of() {
  local wrapper="$1" pkg="$2"
  (cd "$wrapper" && go list -m -f '{{.Path}} {{.Version}}' all) |
    awk -v pkg="$pkg" '$1 == pkg || index(pkg, $1 "/") == 1 { if (length($1) > best) { best = length($1); line = $0 } }
      END { print line }'
}

# Kubernetes' own build (hack/lib/version.sh) stamps its version into component-base and client-go; without it the
# server reports v0.0.0-master and every chart's kubeVersion check refuses. The module zip carries no git commit, so
# gitCommit stays empty; the tree is exactly the tagged release, hence "clean"; buildDate is the release's date
# (from the proxy), so two builds of one version are identical.
kubernetes_ldflags() {
  local wrapper="$1" version="$2" date major minor
  date="$(cd "$wrapper" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)"
  major="${version#v}"
  major="${major%%.*}"
  minor="${version#v*.}"
  minor="${minor%%.*}"
  local flags=() pkg key
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    for key in gitVersion="$version" gitMajor="$major" gitMinor="$minor" gitTreeState=clean buildDate="$date"; do
      flags+=("-X" "$pkg.$key")
    done
  done
  echo "${flags[*]}"
}

# The version a project's own release build stamps in with the linker, which `go build` of its module leaves empty.
release_ldflags() {
  local module="$1" version="$2" wrapper="$3"
  case "$module" in
    k8s.io/kubernetes) kubernetes_ldflags "$wrapper" "$version" ;;
    # Velero's Makefile sets pkg/buildinfo; without it `velero version` and the server's status report no version.
    github.com/vmware-tanzu/velero)
      echo "-X $module/pkg/buildinfo.Version=$version -X $module/pkg/buildinfo.GitTreeState=clean" ;;
  esac
}

# Flux's controllers: each module's go.mod replaces its `…/api` module with `./api`, a folder the module zip does not
# hold (it is a module of its own). Build a writable copy of the released module with that one replace dropped and the
# published `…/api` of the same version required, as the release's own go.sum expects. The CRDs of the release
# (config/crd/bases) are kept beside the binary, for `ktsw bootstrap`.
build_published_api() {
  local bin="$1" module="$2" version="$3" target="$4"
  local src
  src="$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  if [ -z "$src" ]; then
    echo "build-sim-tools: the Go module proxy did not serve $module@$version" >&2
    exit 1
  fi
  cp -r "$src" "$tmp/src"
  chmod -R u+w "$tmp/src"
  (cd "$tmp/src" && go mod edit -dropreplace="$module/api" -require="$module/api@$version" &&
    GOFLAGS=-mod=mod go build "${build_flags[@]}" -o "$tmp/$bin" .)
  mkdir -p "$tmp/crds"
  cp "$tmp/src/config/crd/bases/"*.yaml "$tmp/crds/"
  rm -rf "$target-crds"
  mv "$tmp/crds" "$target-crds"
  mv "$tmp/$bin" "$target"
  rm -rf "$tmp"
}

# The file `go install` writes for a package: its last path element, unless that is a major-version suffix (v2, v3...)
# of a module root, which Go skips: github.com/open-policy-agent/gatekeeper/v3 installs `gatekeeper`.
installed_name() {
  local pkg="$1" last
  last="$(basename "$pkg")"
  if [[ "$last" =~ ^v[0-9]+$ && "$pkg" == */* ]]; then last="$(basename "$(dirname "$pkg")")"; fi
  echo "$last"
}

build_one() {
  local bin="$1" spec="$2" wrapper="$3"
  local pkg="${spec%@*}" version="${spec##*@}"
  local target="$out/$bin-$version"
  tmp="$(mktemp -d "$out/.build-$bin.XXXXXX")"
  if [ "$wrapper" = "published-api" ]; then
    build_published_api "$bin" "$pkg" "$version" "$target"
    return
  fi
  if [ "$wrapper" = "-" ]; then
    GOBIN="$tmp" go install "${build_flags[@]}" "$spec"
    mv "$tmp/$(installed_name "$pkg")" "$target"
    rm -rf "$tmp"
    return
  fi
  local module resolved
  read -r module resolved <<<"$(module_of "$wrapper" "$pkg")"
  if [ "$resolved" != "$version" ]; then
    echo "build-sim-tools: $wrapper resolves ${module:-$pkg} to ${resolved:-nothing}, but deps/sim-tools.txt pins $version" >&2
    exit 1
  fi
  local ldflags
  ldflags="$(release_ldflags "$module" "$version" "$wrapper")"
  # A wrapper with Go files of its own is the program (etcd's main around etcdmain); otherwise build the package.
  local what="$pkg"
  if compgen -G "$wrapper/*.go" >/dev/null; then what="."; fi
  (cd "$wrapper" && go build "${build_flags[@]}" -ldflags "$ldflags" -o "$tmp/$bin" "$what")
  mv "$tmp/$bin" "$target"
  rm -rf "$tmp"
}

# A failed or interrupted build leaves nothing half-written behind: binaries reach their versioned name by rename.
tmp=""
trap 'if [ -n "$tmp" ]; then rm -rf "$tmp"; fi' EXIT
trap 'exit 130' INT TERM

mapfile -t lines < <(strip deps/sim-tools.txt)
total=0
for line in "${lines[@]}"; do
  read -r bin _ <<<"$line"
  if [ "${#wanted[@]}" -gt 0 ] && [[ ! " ${wanted[*]} " =~ \ $bin\  ]]; then continue; fi
  total=$((total + 1))
done
for name in "${wanted[@]}"; do
  if ! strip deps/sim-tools.txt | awk '{print $1}' | grep -qx "$name"; then
    echo "build-sim-tools: $name is not in deps/sim-tools.txt" >&2
    exit 2
  fi
done

n=0
for line in "${lines[@]}"; do
  read -r bin spec wrapper _ <<<"$line"
  if [ "${#wanted[@]}" -gt 0 ] && [[ ! " ${wanted[*]} " =~ \ $bin\  ]]; then continue; fi
  n=$((n + 1))
  version="${spec##*@}"
  if [ -x "$out/$bin-$version" ]; then
    echo "build-sim-tools: [$n/$total] $bin $version: built already"
    continue
  fi
  echo "build-sim-tools: [$n/$total] $bin $version: building ${spec} (minutes; a cold Kubernetes build 10+ on 2 cores)"
  start=$SECONDS
  build_one "$bin" "$spec" "$wrapper"
  echo "build-sim-tools: [$n/$total] $bin $version: built in $((SECONDS - start)) s"
done
echo "build-sim-tools: done ($out)"

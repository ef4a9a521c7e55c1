#!/bin/sh
# The pipeline's scan gate (Task scan-sign, step gate), and the rule the repository's test runs with the
# real Trivy: a build passes only when Trivy finds nothing of severity HIGH or CRITICAL that the waiver
# file beside this script (trivyignore.yaml, every entry with its reason and an expiry) does not cover.
#   usage: scan-rule.sh KIND TARGET [trivy options...]    KIND: image | sbom | fs | config
#   exit:  0 pass, 1 HIGH/CRITICAL findings (the gate fails the build), 2 usage or Trivy itself failed
# Trivy reports findings with its own exit code 3 (--exit-code), so a Trivy that could not scan (no
# database, unreachable registry) is never mistaken for a clean result or for a finding.
# No braced shell variables: Flux substitutes those in every file of the tree, this one included.
set -u
if [ "$#" -lt 2 ]; then
  echo "usage: scan-rule.sh image|sbom|fs|config TARGET [trivy options...]" >&2
  exit 2
fi
kind=$1
target=$2
shift 2
case "$kind" in
  image | sbom | fs | config) ;;
  *)
    echo "scan-rule: KIND must be image, sbom, fs or config, not '$kind'" >&2
    exit 2
    ;;
esac
waivers="$(dirname "$0")/trivyignore.yaml"
if [ ! -r "$waivers" ]; then
  echo "scan-rule: the waiver file $waivers is missing" >&2
  exit 2
fi

trivy "$kind" --quiet --severity HIGH,CRITICAL --exit-code 3 --ignorefile "$waivers" "$@" "$target"
status=$?
case "$status" in
  0) echo "scan-rule: PASS: no HIGH or CRITICAL finding in $target beyond the waivers" ;;
  3)
    echo "scan-rule: FAIL: HIGH or CRITICAL findings in $target (listed above); fix them or waive each in trivyignore.yaml with its reason" >&2
    exit 1
    ;;
  *)
    echo "scan-rule: ERROR: trivy exited $status without a verdict on $target" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# DIST-003_spot_tolerations.sh - pods of stateless services tolerate the AKS spot taint, or they could never land on spot.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/common.sh
source "${SCRIPT_DIR}/../../lib/common.sh"
# shellcheck source=lib/cluster.sh
source "${SCRIPT_DIR}/../../lib/cluster.sh"

start_test "DIST-003" "Stateless pods tolerate the spot taint" "pod-distribution"
add_reproduce "kubectl get pods -n ${NAMESPACE} -o jsonpath='{range .items[*]}{.metadata.name}{\": \"}{.spec.tolerations}{\"\\n\"}{end}'"

for service in $STATELESS_SERVICES; do
  rows=$(kubectl get pods -n "$NAMESPACE" -l "${SERVICE_LABEL}=${service}" \
    -o jsonpath='{range .items[*]}{.metadata.name}|{range .spec.tolerations[*]}{.key}={.operator}={.value}:{.effect},{end}{"\n"}{end}')
  total=0
  missing=()
  while IFS='|' read -r pod tolerations; do
    [[ -z "$pod" ]] && continue
    total=$((total + 1))
    if ! tolerates_spot "$tolerations"; then
      missing+=("$pod")
    fi
  done <<<"$rows"
  if ((total == 0)); then
    assert_fail "${service} has pods" "at least 1 pod" "0 pods"
    continue
  fi
  assert_eq "${service} pods without the spot toleration" "0" "${#missing[@]}"
  if ((${#missing[@]} > 0)); then
    add_evidence "${service}_pods_without_toleration" "${missing[*]}"
  fi
done

finish_test

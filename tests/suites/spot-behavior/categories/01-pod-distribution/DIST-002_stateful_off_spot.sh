#!/usr/bin/env bash
# DIST-002_stateful_off_spot.sh - no pod of a stateful service runs on a spot node (an eviction would take its data offline).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/common.sh
source "${SCRIPT_DIR}/../../lib/common.sh"
# shellcheck source=lib/cluster.sh
source "${SCRIPT_DIR}/../../lib/cluster.sh"

start_test "DIST-002" "Stateful services stay off spot nodes" "pod-distribution"
add_reproduce "kubectl get pods -n ${NAMESPACE} -o wide"
add_reproduce "kubectl get nodes -l ${SPOT_LABEL}"

spot_nodes=$(spot_node_names)

for service in $STATEFUL_SERVICES; do
  total=0
  on_spot=()
  while IFS='|' read -r pod node phase deleting _; do
    [[ -z "$pod" || -n "$deleting" || "$phase" != "Running" ]] && continue
    total=$((total + 1))
    if grep -qxF -- "$node" <<<"$spot_nodes"; then
      on_spot+=("${pod}@${node}")
    fi
  done < <(service_pods "$service")
  add_evidence "${service}_running_pods" "$total"
  if ((total == 0)); then
    assert_fail "${service} has running pods" "at least 1 running pod" "0 running pods"
    continue
  fi
  assert_eq "${service} pods on spot nodes" "0" "${#on_spot[@]}"
  if ((${#on_spot[@]} > 0)); then
    add_evidence "${service}_pods_on_spot" "${on_spot[*]}"
  fi
done

finish_test

#!/usr/bin/env bash
# DIST-001_stateless_on_spot.sh - every pod of each stateless service runs on a spot node.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/common.sh
source "${SCRIPT_DIR}/../../lib/common.sh"
# shellcheck source=lib/cluster.sh
source "${SCRIPT_DIR}/../../lib/cluster.sh"

start_test "DIST-001" "Stateless services run on spot nodes" "pod-distribution"
add_reproduce "kubectl get pods -n ${NAMESPACE} -o wide"
add_reproduce "kubectl get nodes -l ${SPOT_LABEL}"

spot_nodes=$(spot_node_names)
add_evidence "spot_nodes" "$(printf '%s' "$spot_nodes" | grep -c . || true)"

for service in $STATELESS_SERVICES; do
  total=0
  on_spot=0
  off_spot=()
  while IFS='|' read -r pod node phase deleting _; do
    [[ -z "$pod" || -n "$deleting" || "$phase" != "Running" ]] && continue
    total=$((total + 1))
    if grep -qxF -- "$node" <<<"$spot_nodes"; then
      on_spot=$((on_spot + 1))
    else
      off_spot+=("${pod}@${node:-unscheduled}")
    fi
  done < <(service_pods "$service")
  add_evidence "${service}_running_pods" "$total"
  if ((total == 0)); then
    assert_fail "${service} has running pods" "at least 1 running pod" "0 running pods"
    continue
  fi
  assert_eq "${service} running pods on spot nodes" "$total" "$on_spot"
  if ((${#off_spot[@]} > 0)); then
    add_evidence "${service}_pods_off_spot" "${off_spot[*]}"
  fi
done

finish_test

#!/usr/bin/env bash
# PDB-001_stateful_pdbs_exist.sh - each stateful service has a PodDisruptionBudget that selects its pods.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/common.sh
source "${SCRIPT_DIR}/../../lib/common.sh"
# shellcheck source=lib/cluster.sh
source "${SCRIPT_DIR}/../../lib/cluster.sh"

start_test "PDB-001" "PodDisruptionBudgets exist for stateful services" "pdb"
add_reproduce "kubectl get pdb -n ${NAMESPACE} -o wide"

# Only matchLabels on SERVICE_LABEL is understood; a PDB selecting by matchExpressions shows up
# in the evidence but does not count as covering a service.
label_path="${SERVICE_LABEL//./\\.}"
pdbs=$(kubectl get pdb -n "$NAMESPACE" \
  -o jsonpath="{range .items[*]}{.metadata.name}|{.spec.selector.matchLabels.${label_path}}|{.status.expectedPods}{\"\\n\"}{end}")
add_evidence "pdbs" "$(printf '%s' "$pdbs" | cut -d'|' -f1 | paste -sd' ' -)"

for service in $STATEFUL_SERVICES; do
  found=""
  expected_pods=""
  while IFS='|' read -r name selects expected; do
    if [[ -n "$name" && "$selects" == "$service" ]]; then
      found="$name"
      expected_pods="${expected:-0}"
      break
    fi
  done <<<"$pdbs"
  if [[ -z "$found" ]]; then
    assert_fail "${service} has a PodDisruptionBudget" "a PDB selecting ${SERVICE_LABEL}=${service}" "none"
    continue
  fi
  assert_pass "${service} has a PodDisruptionBudget (${found})"
  # A PDB whose selector matches no pod protects nothing.
  if ((expected_pods > 0)); then
    assert_pass "${found} selects ${expected_pods} pod(s)"
  else
    assert_fail "${found} selects pods" "expectedPods > 0" "expectedPods=${expected_pods}"
  fi
done

finish_test

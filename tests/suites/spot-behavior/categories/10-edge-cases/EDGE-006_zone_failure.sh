#!/usr/bin/env bash
# EDGE-006_zone_failure.sh - simulate the loss of one availability zone and check the application survives it.
#
# Cordons every node of the zone holding the most spot nodes, evicts the stateless pods running there through
# the Eviction API (so PodDisruptionBudgets are honoured: a 429 is reported), and checks the replacements land in
# the other zones while every service keeps Ready pods. Stateful pods in the zone are left alone: evicting a
# database is not this test's call. Refuses (FAILS) on non-zonal pools, where "a zone" is only a fault domain.
#
# Safety: each cordoned node is first annotated aks-spot-test.io/cordoned-by=EDGE-006; an EXIT trap (also run on
# SIGTERM, SIGINT and SIGHUP) uncordons them and removes the annotation. SIGKILL cannot be trapped: the annotation
# is then left on the node so the orchestrator's restore step (or the start of the next EDGE-006 run) can undo it.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/common.sh
source "${SCRIPT_DIR}/../../lib/common.sh"
# shellcheck source=lib/cluster.sh
source "${SCRIPT_DIR}/../../lib/cluster.sh"

TEST_ID="EDGE-006"
CORDON_ANNOTATION="aks-spot-test.io/cordoned-by"
: "${EDGE006_EVICTION_RETRY_TIMEOUT:=60}"
: "${EDGE006_RECOVERY_TIMEOUT:=120}"
: "${EDGE006_READY_TIMEOUT:=120}"

start_test "$TEST_ID" "Zone failure simulation" "edge-cases"
add_reproduce "kubectl get nodes -L topology.kubernetes.io/zone,kubernetes.azure.com/scalesetpriority"
add_reproduce "kubectl get pods -n ${NAMESPACE} -o wide"
add_reproduce "kubectl get nodes -o custom-columns='NAME:.metadata.name,UNSCHEDULABLE:.spec.unschedulable,CORDONED_BY:.metadata.annotations.aks-spot-test\\.io/cordoned-by'"

# Nodes this run cordoned; the EXIT trap restores exactly these.
CORDONED=()
# The kubectl currently waited on in the background, so a signal interrupts the wait at once.
WAIT_CHILD=""

# restore_node NODE: uncordon, then drop the annotation (in that order, so an interruption in between
# leaves a marked node for the orchestrator's restore step rather than an unmarked cordoned one).
restore_node() {
  local node="$1"
  if ! kubectl get node "$node" >/dev/null 2>&1; then
    echo "${TEST_ID}: node ${node} no longer exists, nothing to restore" >&2
    return 0
  fi
  kubectl uncordon "$node" >&2 && kubectl annotate node "$node" "${CORDON_ANNOTATION}-" >&2
}

restore_cordoned() {
  local node failed=0
  for node in "${CORDONED[@]}"; do
    restore_node "$node" || failed=1
  done
  CORDONED=()
  return "$failed"
}

# Chain to an EXIT trap common.sh may have installed instead of replacing it.
PREVIOUS_EXIT_TRAP=""
# shellcheck disable=SC2120 # $3 is the trap's command after `eval set --`, not an argument.
previous_exit_trap() {
  local spec
  spec=$(trap -p EXIT)
  if [[ -n "$spec" ]]; then
    eval "set -- ${spec}"
    PREVIOUS_EXIT_TRAP="$3"
  fi
}
# shellcheck disable=SC2119
previous_exit_trap

# with_status RC: sets $? for the chained trap, which reads the script's exit status from it.
with_status() { return "$1"; }

on_exit() {
  local rc=$?
  # Keep restoring whatever fails: this is the last chance to leave the cluster as it was.
  set +e
  if [[ -n "$INTERRUPTED_BY" ]]; then
    add_evidence "interrupted_by" "$INTERRUPTED_BY"
  fi
  if [[ -n "$WAIT_CHILD" ]]; then
    kill "$WAIT_CHILD" 2>/dev/null || true
  fi
  if ((${#CORDONED[@]} > 0)); then
    echo "${TEST_ID}: restoring cordoned nodes: ${CORDONED[*]}" >&2
    restore_cordoned || echo "${TEST_ID}: restore failed; nodes keep ${CORDON_ANNOTATION}=${TEST_ID}" >&2
  fi
  if [[ -n "$PREVIOUS_EXIT_TRAP" ]]; then
    with_status "$rc"
    eval "$PREVIOUS_EXIT_TRAP"
  fi
  return "$rc"
}
trap on_exit EXIT
# Bash runs the EXIT trap on `exit`, not when a signal kills it: turn the catchable signals into exits.
INTERRUPTED_BY=""
trap 'INTERRUPTED_BY=SIGHUP; exit 129' HUP
trap 'INTERRUPTED_BY=SIGINT; exit 130' INT
trap 'INTERRUPTED_BY=SIGTERM; exit 143' TERM

# wait_child CMD...: run CMD in the background and wait for it, so a trapped signal ends the wait at once.
wait_child() {
  local rc=0
  "$@" &
  WAIT_CHILD=$!
  wait "$WAIT_CHILD" || rc=$?
  WAIT_CHILD=""
  return "$rc"
}

# 0. A previous run killed with SIGKILL may have left nodes cordoned: restore them first.
leftovers=()
while IFS='|' read -r name _ _ _ _ by; do
  [[ -n "$name" && "$by" == "$TEST_ID" ]] && leftovers+=("$name")
done < <(nodes_table)
if ((${#leftovers[@]} > 0)); then
  add_evidence "restored_from_previous_run" "${leftovers[*]}"
  for node in "${leftovers[@]}"; do
    restore_node "$node" || true
  done
fi

# 1. Refuse non-zonal pools, then pick the zone with the most spot nodes.
table=$(nodes_table)
non_zonal=()
non_zonal_pools=()
declare -A spot_per_zone=()
declare -A schedulable_per_zone=()
while IFS='|' read -r name zone pool priority unschedulable _; do
  [[ -z "$name" ]] && continue
  if ! is_zonal_zone "$zone"; then
    non_zonal+=("${name}")
    non_zonal_pools+=("${pool:-unknown} (zone '${zone}')")
    continue
  fi
  if [[ "$priority" == "spot" ]]; then
    spot_per_zone[$zone]=$((${spot_per_zone[$zone]:-0} + 1))
  fi
  if [[ "$unschedulable" != "true" ]]; then
    schedulable_per_zone[$zone]=$((${schedulable_per_zone[$zone]:-0} + 1))
  fi
done <<<"$table"

if ((${#non_zonal[@]} > 0)); then
  add_evidence "non_zonal_nodes" "${non_zonal[*]}"
  pools_list=$(printf '%s\n' "${non_zonal_pools[@]}" | sort -u | paste -sd, - | sed 's/,/, /g')
  assert_fail "every node pool is zonal (a zone failure cannot be simulated on fault domains)" \
    "zone labels <region>-<n>" "non-zonal pool(s): ${pools_list} on ${#non_zonal[@]} node(s)"
  finish_test
  exit
fi
if ((${#spot_per_zone[@]} == 0)); then
  assert_fail "the cluster has spot nodes" "at least 1 node labelled ${SPOT_LABEL}" "0"
  finish_test
  exit
fi

target_zone=""
target_count=0
for zone in $(printf '%s\n' "${!spot_per_zone[@]}" | sort); do
  if ((${spot_per_zone[$zone]} > target_count)); then
    target_zone="$zone"
    target_count=${spot_per_zone[$zone]}
  fi
done
healthy_zones=()
for zone in $(printf '%s\n' "${!schedulable_per_zone[@]}" | sort); do
  [[ "$zone" != "$target_zone" ]] && healthy_zones+=("$zone")
done
add_evidence "target_zone" "$target_zone"
add_evidence "spot_nodes_in_target_zone" "$target_count"
add_evidence "healthy_zones" "${healthy_zones[*]}"
if ((${#healthy_zones[@]} == 0)); then
  assert_fail "another zone has schedulable nodes" "at least 1 zone besides ${target_zone}" "none"
  finish_test
  exit
fi

# 2. Cordon every node of the target zone, marking each first so a crash can be undone.
already_cordoned=()
while IFS='|' read -r name zone _ _ unschedulable _; do
  [[ -z "$name" || "$zone" != "$target_zone" ]] && continue
  if [[ "$unschedulable" == "true" ]]; then
    # Someone else's cordon: leave it as it is and do not undo it later.
    already_cordoned+=("$name")
    continue
  fi
  kubectl annotate node "$name" "${CORDON_ANNOTATION}=${TEST_ID}" --overwrite
  CORDONED+=("$name")
  kubectl cordon "$name"
done <<<"$table"
add_evidence "cordoned_nodes" "${CORDONED[*]}"
if ((${#already_cordoned[@]} > 0)); then
  add_evidence "already_cordoned_nodes" "${already_cordoned[*]}"
fi

# 3. Evict the stateless pods running in the target zone, as a zone outage would take them.
zones=$(node_zone_map)
declare -A pods_before=()
declare -A evicted_count=()
evicted=()
for service in $STATELESS_SERVICES; do
  evicted_count[$service]=0
  while IFS='|' read -r pod node phase deleting uid; do
    [[ -z "$pod" ]] && continue
    pods_before[$uid]=1
    [[ -n "$deleting" || "$phase" != "Running" ]] && continue
    [[ "$(zone_of "$node" "$zones")" != "$target_zone" ]] && continue
    # A PDB refuses with 429 until enough replacements are Ready: retry until the deadline, then report it.
    deadline=$((SECONDS + EDGE006_EVICTION_RETRY_TIMEOUT))
    while true; do
      rc=0
      out=$(evict_pod "$pod") || rc=$?
      if ((rc == 0)); then
        evicted+=("pod/${pod}")
        evicted_count[$service]=$((${evicted_count[$service]} + 1))
        break
      fi
      if ((rc == 2 && SECONDS < deadline)); then
        sleep 5
        continue
      fi
      if ((rc == 2)); then
        assert_fail "eviction of ${pod} allowed by its PodDisruptionBudget" \
          "accepted within ${EDGE006_EVICTION_RETRY_TIMEOUT}s" "429 TooManyRequests: ${out}"
      else
        assert_fail "eviction of ${pod} accepted" "accepted" "$out"
      fi
      break
    done
  done < <(service_pods "$service")
  add_evidence "${service}_evicted_pods" "${evicted_count[$service]}"
done
add_evidence "evicted_pods" "${evicted[*]}"

# 4. Wait for the evicted pods to go, for replacements to exist, then for every pod to be Ready.
if ((${#evicted[@]} > 0)); then
  if ! wait_child kubectl wait --for=delete "${evicted[@]}" -n "$NAMESPACE" --timeout="${EDGE006_RECOVERY_TIMEOUT}s"; then
    assert_fail "evicted pods terminated" "gone within ${EDGE006_RECOVERY_TIMEOUT}s" "still present"
  fi
fi
# count_new SERVICE: pods of SERVICE created after the evictions (not in pods_before) and not terminating.
count_new() {
  local n=0 pod node phase deleting uid
  while IFS='|' read -r pod node phase deleting uid; do
    [[ -z "$pod" || -n "$deleting" || -n "${pods_before[$uid]:-}" ]] && continue
    n=$((n + 1))
  done < <(service_pods "$1")
  printf '%s\n' "$n"
}
deadline=$((SECONDS + EDGE006_RECOVERY_TIMEOUT))
for service in $STATELESS_SERVICES; do
  # Poll every 2s until the ReplicaSet has created as many pods as were evicted (deadline above).
  while (($(count_new "$service") < ${evicted_count[$service]} && SECONDS < deadline)); do
    sleep 2
  done
done
if wait_child kubectl wait --for=condition=Ready pods --all -n "$NAMESPACE" --timeout="${EDGE006_READY_TIMEOUT}s"; then
  assert_pass "all pods in ${NAMESPACE} Ready after the zone failure" "Ready within ${EDGE006_READY_TIMEOUT}s" "Ready"
else
  assert_fail "all pods in ${NAMESPACE} Ready after the zone failure" \
    "Ready within ${EDGE006_READY_TIMEOUT}s" "$(kubectl get pods -n "$NAMESPACE" --no-headers 2>&1 | grep -v ' Running ' | head -20)"
fi

# 5. Replacements landed outside the failed zone, and every service still runs pods.
zones=$(node_zone_map)
for service in $STATELESS_SERVICES; do
  new_in_target=0
  new_healthy=0
  running_healthy=0
  while IFS='|' read -r pod node phase deleting uid; do
    [[ -z "$pod" || -n "$deleting" ]] && continue
    zone=$(zone_of "$node" "$zones")
    if [[ -z "${pods_before[$uid]:-}" ]]; then
      if [[ "$zone" == "$target_zone" ]]; then
        new_in_target=$((new_in_target + 1))
      elif [[ -n "$zone" ]]; then
        new_healthy=$((new_healthy + 1))
      fi
    fi
    if [[ "$phase" == "Running" && -n "$zone" && "$zone" != "$target_zone" ]]; then
      running_healthy=$((running_healthy + 1))
    fi
  done < <(service_pods "$service")
  add_evidence "${service}_replacements_in_healthy_zones" "$new_healthy"
  assert_eq "no ${service} replacement pod scheduled in the cordoned zone ${target_zone}" "0" "$new_in_target"
  if ((new_healthy >= ${evicted_count[$service]})); then
    assert_pass "${service}: ${evicted_count[$service]} evicted pod(s) replaced in healthy zones"
  else
    assert_fail "${service} evicted pods replaced in healthy zones" \
      "${evicted_count[$service]} replacement(s)" "${new_healthy} replacement(s)"
  fi
  if ((running_healthy > 0)); then
    assert_pass "${service} has running pods in healthy zones (${running_healthy})"
  else
    assert_fail "${service} has running pods in healthy zones" "at least 1" "0"
  fi
done
for service in $STATEFUL_SERVICES; do
  running=0
  while IFS='|' read -r pod _ phase deleting _; do
    [[ -n "$pod" && -z "$deleting" && "$phase" == "Running" ]] && running=$((running + 1))
  done < <(service_pods "$service")
  if ((running > 0)); then
    assert_pass "${service} keeps running pods (${running})"
  else
    assert_fail "${service} keeps running pods" "at least 1" "0"
  fi
done

# A PDB whose healthy count is below its desired count is a disruption the budget did not prevent.
while IFS='|' read -r name current desired; do
  [[ -z "$name" ]] && continue
  if ((${current:-0} >= ${desired:-0})); then
    assert_pass "PDB ${name} satisfied (${current:-0}/${desired:-0} healthy)"
  else
    assert_fail "PDB ${name} satisfied" "currentHealthy >= ${desired:-0}" "currentHealthy=${current:-0}"
  fi
done < <(kubectl get pdb -n "$NAMESPACE" \
  -o jsonpath='{range .items[*]}{.metadata.name}|{.status.currentHealthy}|{.status.desiredHealthy}{"\n"}{end}')

# 6. Restore the zone now (the trap is the safety net) and check nothing is left cordoned by this test.
restored=("${CORDONED[@]}")
if restore_cordoned; then
  assert_pass "uncordoned ${#restored[@]} node(s) in ${target_zone}"
else
  assert_fail "uncordon the nodes of ${target_zone}" "all restored" "restore failed for some of: ${restored[*]}"
fi
left=()
while IFS='|' read -r name _ _ _ unschedulable by; do
  [[ -n "$name" && "$by" == "$TEST_ID" ]] && left+=("$name")
  for node in "${restored[@]}"; do
    [[ "$name" == "$node" && "$unschedulable" == "true" ]] && left+=("$name")
  done
done < <(nodes_table)
assert_eq "nodes left cordoned or marked by ${TEST_ID}" "0" "${#left[@]}"

finish_test

#!/usr/bin/env bash
# lib/cluster.sh - kubectl queries shared by the spot-behavior tests (the result format lives in common.sh).
#
# Every query goes through kubectl with the caller's KUBECONFIG; output rows are `|`-separated because
# empty label values must survive `read` (tabs are whitespace to IFS and would collapse).

: "${NAMESPACE:=robot-shop}"
: "${STATELESS_SERVICES:=web cart catalogue}"
: "${STATEFUL_SERVICES:=mongodb mysql redis}"
: "${SERVICE_LABEL:=app}"
: "${SPOT_LABEL:=kubernetes.azure.com/scalesetpriority=spot}"

ZONE_LABEL_PATH='topology\.kubernetes\.io/zone'
POOL_LABEL_PATH='kubernetes\.azure\.com/agentpool'
PRIORITY_LABEL_PATH='kubernetes\.azure\.com/scalesetpriority'
SPOT_TAINT_KEY="kubernetes.azure.com/scalesetpriority"

# nodes_table: one row per node: name|zone|pool|priority|unschedulable|cordoned-by annotation
nodes_table() {
  kubectl get nodes -o jsonpath="{range .items[*]}{.metadata.name}|{.metadata.labels.${ZONE_LABEL_PATH}}|{.metadata.labels.${POOL_LABEL_PATH}}|{.metadata.labels.${PRIORITY_LABEL_PATH}}|{.spec.unschedulable}|{.metadata.annotations.aks-spot-test\.io/cordoned-by}{\"\n\"}{end}"
}

# service_pods SERVICE: one row per pod: name|node|phase|deletionTimestamp|uid
service_pods() {
  kubectl get pods -n "$NAMESPACE" -l "${SERVICE_LABEL}=$1" \
    -o jsonpath='{range .items[*]}{.metadata.name}|{.spec.nodeName}|{.status.phase}|{.metadata.deletionTimestamp}|{.metadata.uid}{"\n"}{end}'
}

# node_zone_map: name|zone for every node, for joining pods to zones without one call per pod.
node_zone_map() {
  kubectl get nodes -o jsonpath="{range .items[*]}{.metadata.name}|{.metadata.labels.${ZONE_LABEL_PATH}}{\"\n\"}{end}"
}

# zone_of NODE MAP: the zone of NODE in a node_zone_map output (empty when unknown).
zone_of() {
  local node="$1" map="$2" name zone
  while IFS='|' read -r name zone; do
    if [[ "$name" == "$node" ]]; then
      printf '%s\n' "$zone"
      return 0
    fi
  done <<<"$map"
}

# is_zonal_zone ZONE: AKS zonal pools label nodes `<region>-<n>`; non-zonal pools carry a bare
# fault-domain number such as `0`, which is not a zone that can fail on its own.
is_zonal_zone() {
  [[ "$1" =~ ^[a-z0-9]+-[0-9]+$ ]]
}

# spot_node_names: the names of the nodes carrying the spot label, one a line.
spot_node_names() {
  kubectl get nodes -l "$SPOT_LABEL" -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'
}

# evict_pod POD: create a policy/v1 Eviction so PodDisruptionBudgets are honoured (unlike delete).
# Prints kubectl's output; returns 0 on success, 2 when a PDB refused (HTTP 429), 1 otherwise.
evict_pod() {
  local pod="$1" out rc
  out=$(printf '{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"%s","namespace":"%s"}}' "$pod" "$NAMESPACE" |
    kubectl create --raw "/api/v1/namespaces/${NAMESPACE}/pods/${pod}/eviction" -f - 2>&1)
  rc=$?
  printf '%s\n' "$out"
  if ((rc == 0)); then
    return 0
  fi
  if [[ "$out" == *TooManyRequests* || "$out" == *"disruption budget"* || "$out" == *429* ]]; then
    return 2
  fi
  return 1
}

# tolerates_spot "key=operator=value:effect,...": whether one toleration matches the spot taint
# (key kubernetes.azure.com/scalesetpriority, value spot, effect NoSchedule; Exists and an empty
# effect match too, as in the scheduler; an empty key with Exists tolerates everything).
tolerates_spot() {
  local entry key operator value effect
  local IFS=','
  for entry in $1; do
    key="${entry%%=*}"
    entry="${entry#*=}"
    operator="${entry%%=*}"
    entry="${entry#*=}"
    value="${entry%%:*}"
    effect="${entry#*:}"
    [[ -n "$effect" && "$effect" != "NoSchedule" ]] && continue
    if [[ "$operator" == "Exists" && (-z "$key" || "$key" == "$SPOT_TAINT_KEY") ]]; then
      return 0
    fi
    if [[ "$key" == "$SPOT_TAINT_KEY" && "$value" == "spot" ]]; then
      return 0
    fi
  done
  return 1
}

#!/usr/bin/env bash
# Peak resident memory of `aks-spot-test snapshot` (lean types, 500-item pages, pods counted as pages stream by)
# against `kubectl get pods -A -o json` (the whole pod list at once) on the same simulated `large` cluster
# (5,000 nodes, 150,000 pods), in one invocation. Prints both peaks (kB, from /usr/bin/time -v) and their ratio.
# Debug build (the project never builds --release on the shared 2-core machine): absolute figures are debug figures.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
work="$(mktemp -d)"
kc="$work/kubeconfig"
sim_pid=""
cleanup() {
  if [[ -n "$sim_pid" ]]; then kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --quiet --bin aks-spot-test
bin="$root/target/debug/aks-spot-test"

"$bin" sim --scenario large --kubeconfig-out "$kc" >"$work/sim.log" 2>&1 &
sim_pid=$!
# The large world takes seconds to build; five minutes is the backstop on a loaded machine.
for _ in $(seq 1 600); do [[ -s "$kc" ]] && break; kill -0 "$sim_pid" 2>/dev/null || break; sleep 0.5; done
[[ -s "$kc" ]] || { echo "bench: simulator did not start"; cat "$work/sim.log"; exit 2; }

peak() { # peak RSS in kB of the command given
  /usr/bin/time -v "$@" 2>"$work/time.txt" >"$work/out.txt" || { cat "$work/time.txt" >&2; return 1; }
  awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt"
}

ours="$(peak "$bin" snapshot --kubeconfig "$kc" -o json)"
pods="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total_pods"])' "$work/out.txt" 2>/dev/null || echo '?')"
theirs="$(peak kubectl --kubeconfig "$kc" get pods -A -o json --request-timeout=10m)"
kubectl_pods="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$work/out.txt" 2>/dev/null || echo '?')"
echo "pods (snapshot / kubectl):                $pods / $kubectl_pods"
echo "aks-spot-test snapshot peak RSS:          ${ours} kB"
echo "kubectl get pods -A -o json peak RSS:     ${theirs} kB"
awk -v a="$theirs" -v b="$ours" 'BEGIN { printf "ratio kubectl / aks-spot-test:            %.1fx\n", a / b }'

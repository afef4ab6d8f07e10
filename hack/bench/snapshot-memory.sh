#!/usr/bin/env bash
# Peak resident memory of `aks-spot-test snapshot` (lean types, 500-item pages, pods counted as pages stream by)
# against `kubectl get pods -A -o json` (the whole pod list at once) on the same simulated `large` cluster
# (5,000 nodes, 150,000 pods). Prints both peaks (kB, from /usr/bin/time -v) and their ratio.
#
# The simulator: `aks-spot-test sim --scenario large --kubeconfig-out FILE` when that command works, else the
# ignored test `serve_large_scenario_for_bench` in tests/cluster.rs, which serves the same router and world.
# Debug builds (the project never builds --release on the shared machine): absolute figures are debug figures.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
work="$(mktemp -d)"
kc="$work/kubeconfig"
server_pid=""
cleanup() {
  touch "$work/stop"
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --quiet --bin aks-spot-test
bin="$root/target/debug/aks-spot-test"

"$bin" sim --scenario large --kubeconfig-out "$kc" >"$work/sim.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 600); do [[ -s "$kc" ]] && break; kill -0 "$server_pid" 2>/dev/null || break; sleep 0.5; done
if [[ ! -s "$kc" ]]; then
  kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true
  echo "bench: 'aks-spot-test sim' unavailable, serving through the test harness" >&2
  BENCH_KUBECONFIG="$kc" BENCH_STOP="$work/stop" \
    cargo test --quiet --test cluster -- --ignored --exact serve_large_scenario_for_bench >"$work/sim.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 1200); do [[ -s "$kc" ]] && break; sleep 0.5; done
fi
[[ -s "$kc" ]] || { echo "bench: simulator did not start"; cat "$work/sim.log"; exit 2; }

peak() { # peak RSS in kB of the command given
  /usr/bin/time -v "$@" 2>"$work/time.txt" >"$work/out.txt" || { cat "$work/time.txt" >&2; return 1; }
  awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt"
}

ours="$(peak "$bin" snapshot --kubeconfig "$kc" -o json)"
pods="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total_pods"])' "$work/out.txt" 2>/dev/null || echo '?')"
# kubectl will not send a bearer token over plain http: put a header-adding proxy in front of the simulator.
server="$(awk '/server:/ {print $2; exit}' "$kc")"
token="$(awk '/token:/ {print $2; exit}' "$kc")"
proxy_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
python3 "$root/hack/bench/auth-proxy.py" "$proxy_port" "$server" "$token" &
proxy_pid=$!
sleep 1
theirs="$(peak kubectl --server "http://127.0.0.1:$proxy_port" --kubeconfig /dev/null get pods -A -o json)"
kill "$proxy_pid" 2>/dev/null || true
kubectl_pods="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$work/out.txt" 2>/dev/null || echo '?')"
echo "pods (snapshot / kubectl):                $pods / $kubectl_pods"
echo "aks-spot-test snapshot peak RSS:          ${ours} kB"
echo "kubectl get pods -A -o json peak RSS:     ${theirs} kB"
awk -v a="$theirs" -v b="$ours" 'BEGIN { printf "ratio kubectl / aks-spot-test:            %.1fx\n", a / b }'

#!/usr/bin/env bash
# run-all-tests.sh: runs every categories/*/*.sh of the Bash spot-behavior suite, each in its own
# bash process, in name order, and never stops at a failing script. Exit 0 when every script
# passed, 1 when any failed (non-zero exit, or a FAIL/RUNNING result file), 2 when none ran.
#
# Environment:
#   SUITE_DIR    the suite directory holding categories/ (default: this script's directory)
#   RESULTS_DIR  where the per-test JSON files go (default: $SUITE_DIR/results); stale
#                *.json files in it are removed first so an old result never looks current.
#   TEST_FILTER  comma- or space-separated patterns; a script runs when its path relative to
#                the suite (e.g. categories/01-distribution/DIST-001_spread.sh) contains one
#                (glob characters allowed).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SUITE_DIR="$(cd "${SUITE_DIR:-$here}" && pwd)" || { echo "run-all-tests: no suite dir ${SUITE_DIR:-}" >&2; exit 2; }
RESULTS_DIR="${RESULTS_DIR:-$SUITE_DIR/results}"
mkdir -p "$RESULTS_DIR" || { echo "run-all-tests: cannot create $RESULTS_DIR" >&2; exit 2; }
RESULTS_DIR="$(cd "$RESULTS_DIR" && pwd)"
export RESULTS_DIR SUITE_DIR

rm -f "$RESULTS_DIR"/*.json "$RESULTS_DIR"/*.json.tmp.*

patterns=()
if [[ -n ${TEST_FILTER:-} ]]; then
  IFS=', ' read -r -a patterns <<<"$TEST_FILTER"
fi

selected() {
  local rel=$1 p
  ((${#patterns[@]} == 0)) && return 0
  for p in ${patterns[@]+"${patterns[@]}"}; do
    [[ -z $p ]] && continue
    # shellcheck disable=SC2053 # the pattern is meant as a glob
    [[ $rel == *$p* ]] && return 0
  done
  return 1
}

shopt -s nullglob
scripts=("$SUITE_DIR"/categories/*/*.sh)
shopt -u nullglob

total=0
failed=0
for script in ${scripts[@]+"${scripts[@]}"}; do
  rel=${script#"$SUITE_DIR"/}
  selected "$rel" || continue
  total=$((total + 1))
  echo "### RUN $rel"
  # stdin from /dev/null: a script waiting for input must not steal the runner's.
  (cd "$SUITE_DIR" && bash "$rel" </dev/null)
  rc=$?
  if ((rc == 0)); then
    echo "### OK $rel"
  else
    echo "### FAILED $rel (exit $rc)"
    failed=$((failed + 1))
  fi
done

# A script can exit 0 yet leave a failed or unfinished result (e.g. `finish_test || true`).
if ((failed == 0)); then
  shopt -s nullglob
  for f in "$RESULTS_DIR"/*.json; do
    if grep -Eq '"status": "(FAIL|RUNNING)"' "$f"; then
      echo "### FAILED result $(basename "$f")"
      failed=1
    fi
  done
  shopt -u nullglob
fi

echo "### SUMMARY scripts=$total failed=$failed results=$RESULTS_DIR"
if ((total == 0)); then
  # Nothing ran (a typo in TEST_FILTER, an empty suite): that is not a pass.
  echo "run-all-tests: no test scripts matched under $SUITE_DIR/categories" >&2
  exit 2
fi
((failed == 0)) || exit 1
exit 0

#!/usr/bin/env bash
# lib/common.sh: the Bash spot-behavior suite's result library. Each test script sources it and
# calls start_test / add_evidence / assert_* / skip_test / add_reproduce / finish_test.
#
# Contract with aks-spot-test's Bash parser: one file per test, "$RESULTS_DIR/<TEST_ID>.json":
#   {"test_id","name","category","status":"PASS"|"FAIL"|"SKIP"|"RUNNING","duration_seconds",
#    "error_message","assertions":[{"description","expected","actual","passed"}],"evidence":{},
#    "reproduce_commands":[],"script","started_at","finished_at"}
# start_test writes status RUNNING, so a script killed outright still leaves a file the parser
# reports as FAIL. An EXIT trap turns an early death (set -e, exit 3) into a FAIL with a message.
#
# JSON is written by pure Bash escaping on purpose: jump boxes may lack jq and python3, and one
# code path is one thing to test. Needs Bash 4.2+ (EPOCHREALTIME from 5.0 gives sub-second times).

RESULTS_DIR="${RESULTS_DIR:-results}"

# Empty until start_test, so helpers called out of order fail soft under `set -u`. The
# ${a[@]+"${a[@]}"} expansions below keep empty arrays safe on Bash < 4.4 (older jump boxes).
_COMMON_ASSERTIONS=()
_COMMON_EV_KEYS=()
_COMMON_EV_VALUES=()
_COMMON_REPRODUCE=()
_COMMON_ACTIVE=""

# Escapes $1 as the body of a JSON string (without the quotes) into the variable named by $2.
# Bash strings cannot hold NUL; every other control character is escaped.
_common_json_escape() {
  local s=$1 bs='\' q='"' ch esc hex i
  s=${s//"$bs"/"$bs$bs"}
  s=${s//"$q"/"$bs$q"}
  s=${s//$'\n'/"${bs}n"}
  s=${s//$'\r'/"${bs}r"}
  s=${s//$'\t'/"${bs}t"}
  for ((i = 1; i < 32; i++)); do
    printf -v hex '%02x' "$i"
    printf -v ch "\\x$hex"
    if [[ $s == *"$ch"* ]]; then
      printf -v esc '\\u%04x' "$i"
      s=${s//"$ch"/"$esc"}
    fi
  done
  printf -v "$2" '%s' "$s"
}

# Prints $1 as a quoted JSON string into the variable named by $2.
_common_json_string() {
  local _body
  _common_json_escape "$1" _body
  printf -v "$2" '"%s"' "$_body"
}

_common_now_us() {
  if [[ -n ${EPOCHREALTIME:-} ]]; then
    # The decimal separator follows the locale: keep only the digits (microseconds).
    printf '%s' "${EPOCHREALTIME//[!0-9]/}"
  else
    printf '%s000000' "$(date +%s)"
  fi
}

_common_utc_now() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# Writes the current test's JSON file atomically (tmp + mv), so a reader never sees half a file.
_common_write() {
  local finished_json=$1 duration=$2
  local out="" j
  out+="{"
  _common_json_string "$_COMMON_ID" j; out+="\"test_id\": $j, "
  _common_json_string "$_COMMON_NAME" j; out+="\"name\": $j, "
  _common_json_string "$_COMMON_CATEGORY" j; out+="\"category\": $j, "
  out+="\"status\": \"$_COMMON_STATUS\", "
  out+="\"duration_seconds\": $duration, "
  if [[ -n $_COMMON_ERROR ]]; then
    _common_json_string "$_COMMON_ERROR" j; out+="\"error_message\": $j, "
  else
    out+="\"error_message\": null, "
  fi
  local IFS=,
  out+="\"assertions\": [${_COMMON_ASSERTIONS[*]+"${_COMMON_ASSERTIONS[*]}"}], "
  local ev=() k
  for ((k = 0; k < ${#_COMMON_EV_KEYS[@]}; k++)); do
    local kj vj
    _common_json_string "${_COMMON_EV_KEYS[k]}" kj
    _common_json_string "${_COMMON_EV_VALUES[k]}" vj
    ev+=("$kj: $vj")
  done
  out+="\"evidence\": {${ev[*]+"${ev[*]}"}}, "
  local rep=() r
  for r in ${_COMMON_REPRODUCE[@]+"${_COMMON_REPRODUCE[@]}"}; do
    _common_json_string "$r" j
    rep+=("$j")
  done
  out+="\"reproduce_commands\": [${rep[*]+"${rep[*]}"}], "
  unset IFS
  _common_json_string "$_COMMON_SCRIPT" j; out+="\"script\": $j, "
  out+="\"started_at\": \"$_COMMON_STARTED_AT\", "
  out+="\"finished_at\": $finished_json"
  out+="}"

  mkdir -p "$RESULTS_DIR" || return 1
  local file="$RESULTS_DIR/$_COMMON_FILE_ID.json"
  local tmp="$file.tmp.$$"
  printf '%s\n' "$out" >"$tmp" && mv -f "$tmp" "$file"
}

# The test id becomes a file name: keep it to a safe character set.
_common_file_id() {
  local id=$1
  printf '%s' "${id//[!A-Za-z0-9._-]/_}"
}

# start_test ID NAME CATEGORY: begins a test and writes it as RUNNING.
start_test() {
  if (($# < 3)); then
    echo "start_test: usage: start_test ID NAME CATEGORY" >&2
    return 2
  fi
  _COMMON_ID=$1
  _COMMON_NAME=$2
  _COMMON_CATEGORY=$3
  _COMMON_FILE_ID=$(_common_file_id "$1")
  _COMMON_STATUS=RUNNING
  _COMMON_ERROR=""
  _COMMON_ASSERTIONS=()
  _COMMON_EV_KEYS=()
  _COMMON_EV_VALUES=()
  _COMMON_REPRODUCE=()
  _COMMON_SCRIPT=${BASH_SOURCE[1]:-$0}
  _COMMON_STARTED_AT=$(_common_utc_now)
  _COMMON_START_US=$(_common_now_us)
  _COMMON_ACTIVE=1
  _COMMON_SKIPPED=""
  trap '_common_on_exit $?' EXIT
  echo "=== START $_COMMON_ID: $_COMMON_NAME"
  _common_write null 0
}

# add_evidence KEY VALUE: a fact worth showing in the report; a repeated key keeps the last value.
add_evidence() {
  local key=$1 value=${2-} k
  for ((k = 0; k < ${#_COMMON_EV_KEYS[@]}; k++)); do
    if [[ ${_COMMON_EV_KEYS[k]} == "$key" ]]; then
      _COMMON_EV_VALUES[k]=$value
      return 0
    fi
  done
  _COMMON_EV_KEYS+=("$key")
  _COMMON_EV_VALUES+=("$value")
}

_common_record() {
  local desc=$1 expected=$2 actual=$3 passed=$4 d e a
  _common_json_string "$desc" d
  _common_json_string "$expected" e
  _common_json_string "$actual" a
  _COMMON_ASSERTIONS+=("{\"description\": $d, \"expected\": $e, \"actual\": $a, \"passed\": $passed}")
  if [[ $passed == false ]]; then
    _COMMON_STATUS=FAIL
    local msg="$desc: expected $expected, got $actual"
    if [[ -z $_COMMON_ERROR ]]; then _COMMON_ERROR=$msg; else _COMMON_ERROR+=$'\n'"$msg"; fi
    echo "  FAIL: $msg"
  else
    echo "  ok: $desc"
  fi
}

# assert_pass DESC: records a check that held.
assert_pass() { _common_record "$1" "${2-}" "${3-}" true; }

# assert_fail DESC EXPECTED ACTUAL: records a check that did not hold; the test will FAIL.
assert_fail() { _common_record "$1" "${2-}" "${3-}" false; }

# assert_eq DESC EXPECTED ACTUAL: records whether EXPECTED equals ACTUAL (as strings).
# Returns 0 either way so `set -e` scripts go on collecting evidence.
assert_eq() {
  if [[ ${2-} == "${3-}" ]]; then
    _common_record "$1" "${2-}" "${3-}" true
  else
    _common_record "$1" "${2-}" "${3-}" false
  fi
}

# add_reproduce CMD: a command a human can paste to look at the same thing.
add_reproduce() { _COMMON_REPRODUCE+=("$1"); }

# skip_test REASON: marks the test SKIP and finishes it. The caller then exits (exit 0).
skip_test() {
  _COMMON_SKIPPED=1
  _COMMON_STATUS=SKIP
  _COMMON_ERROR=${1:-skipped}
  finish_test
}

# finish_test: writes the final result. Returns 1 when the test failed, so a script ending in
# finish_test exits non-zero and run-all-tests.sh counts it. Calling it twice is harmless.
finish_test() {
  if [[ -z ${_COMMON_ACTIVE:-} ]]; then
    return 0
  fi
  _COMMON_ACTIVE=""
  if [[ $_COMMON_STATUS == RUNNING ]]; then
    _COMMON_STATUS=PASS
  fi
  local end_us elapsed duration
  end_us=$(_common_now_us)
  elapsed=$((end_us - _COMMON_START_US))
  ((elapsed < 0)) && elapsed=0
  printf -v duration '%d.%03d' $((elapsed / 1000000)) $(((elapsed % 1000000) / 1000))
  _common_write "\"$(_common_utc_now)\"" "$duration"
  echo "=== $_COMMON_STATUS $_COMMON_ID (${duration}s)"
  [[ $_COMMON_STATUS != FAIL ]]
}

# A script that exits before finish_test (set -e, an explicit exit, a signal bash can trap)
# still gets a final FAIL entry saying so, instead of a RUNNING file.
_common_on_exit() {
  local rc=$1
  if [[ -n ${_COMMON_ACTIVE:-} ]]; then
    _COMMON_STATUS=FAIL
    local msg="script exited with status $rc before finish_test"
    if [[ -z $_COMMON_ERROR ]]; then _COMMON_ERROR=$msg; else _COMMON_ERROR+=$'\n'"$msg"; fi
    finish_test || true
    ((rc == 0)) && exit 1
  fi
  return 0
}

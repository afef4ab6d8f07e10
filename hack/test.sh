#!/usr/bin/env bash
# The project's test command: installs what the tests need, then format, lint and every test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
PATH="$(bash hack/tools.sh)"
export PATH
export GOPROXY=off GOTOOLCHAIN=local GOFLAGS=-mod=mod
export AKS_SPOT_TEST_GO119=/usr/lib/go-1.19/bin/go
echo "test: go $(go version 2>/dev/null || echo missing); pytest $(pytest --version 2>&1 | head -1)"
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked --all-targets 2>&1

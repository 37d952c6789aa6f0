#!/usr/bin/env bash
# Runs the whole test suite, installing what it needs (Python venv, Node 22, the MCP
# conformance suite). Usage: ./test.sh
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

echo "== cargo build and lint of the bundled catalog"
cargo build --locked --all-targets
"$CARGO_TARGET_DIR/debug/toolwright" lint tools.d --deny-warnings

echo "== cargo test"
cargo test --locked --no-fail-fast

if [ -x scripts/setup-python.sh ] && [ -d tests/py ]; then
  echo "== MCP client tests (official Python SDK)"
  scripts/setup-python.sh
  TOOLWRIGHT_BIN="$CARGO_TARGET_DIR/debug/toolwright" .venv-test/bin/python -m pytest -q tests/py
fi

if [ -x scripts/conformance.sh ]; then
  echo "== MCP conformance suite"
  scripts/setup-node22.sh
  # The baseline names only the checks that need the suite's own SDK test tools.
  CONFORMANCE_EXPECTED_FAILURES=scripts/conformance-expected-failures.txt \
    TOOLWRIGHT_BIN="$CARGO_TARGET_DIR/debug/toolwright" scripts/conformance.sh
fi
echo "== all tests passed"

#!/usr/bin/env bash
# Runs the whole test suite, installing what it needs (Python venv, Node 22, the MCP
# conformance suite). Usage: ./test.sh
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

echo "== cargo build and lint of the tests' catalogs (tests/fixtures/tools.d, tests/conformance/tools.d)"
cargo build --locked --all-targets
"$CARGO_TARGET_DIR/debug/toolwright" lint tests/fixtures/tools.d --deny-warnings
"$CARGO_TARGET_DIR/debug/toolwright" lint tests/conformance/tools.d --deny-warnings

# tools.d/ is your catalog: what you write there is never part of the test result.
echo "== lint of your catalog tools.d (for your information; it never fails the tests)"
"$CARGO_TARGET_DIR/debug/toolwright" lint tools.d || echo "(tools.d has findings; the tests go on)"

echo "== cargo test"
cargo test --locked --no-fail-fast

# The MCP client and conformance tests run the binary users build (`cargo build`): the builds
# above enable the dev-dependencies' test features (tokio and the AWS SDK with `test-util`)
# in everything they link, the binary included. Cargo keeps both builds, so after the first
# run this is a relink.
echo "== cargo build (the binary users get)"
cargo build --locked

if [ -x scripts/setup-python.sh ] && [ -d tests/py ]; then
  echo "== MCP client tests (official Python SDK)"
  scripts/setup-python.sh
  # moto (AWS APIs with Signature V4 checks) in a virtualenv of its own: it pins botocore.
  TOOLWRIGHT_MOTO_PYTHON="$(scripts/setup-moto.sh | tail -n 1)"
  export TOOLWRIGHT_MOTO_PYTHON
  # Prometheus (the tests start their own on 127.0.0.1): the Debian package, installed if missing.
  TOOLWRIGHT_PROMETHEUS="$(scripts/setup-prometheus.sh | tail -n 1)"
  export TOOLWRIGHT_PROMETHEUS
  TOOLWRIGHT_BIN="$CARGO_TARGET_DIR/debug/toolwright" .venv-test/bin/python -m pytest -q tests/py
fi

if [ -x scripts/conformance.sh ]; then
  echo "== MCP conformance suite"
  scripts/setup-node22.sh
  # The baseline names each check that cannot pass and why (its header says which reasons count).
  CONFORMANCE_EXPECTED_FAILURES=scripts/conformance-expected-failures.txt \
    TOOLWRIGHT_BIN="$CARGO_TARGET_DIR/debug/toolwright" scripts/conformance.sh
fi
echo "== all tests passed"

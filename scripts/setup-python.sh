#!/usr/bin/env bash
# Creates .venv-test in the repository root with the official MCP Python SDK, pytest, httpx,
# pyjwt + cryptography for the auth tests, opentelemetry-proto (with protobuf) to decode the
# OTLP traces of the telemetry test, and PyYAML to read the rendered Kubernetes manifests of the
# deploy test (all from PyPI, exact pins). Idempotent: a stamp file
# with the pins makes a second run instant.
# Usage: scripts/setup-python.sh   (prints the virtualenv's python path last)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${TOOLWRIGHT_VENV:-$ROOT/.venv-test}"
# shellcheck source=pinned-venv.sh
source "$ROOT/scripts/pinned-venv.sh"

# Fail early if the SDK is not importable the way the tests use it.
CHECK=$(cat <<'PY'
import mcp, pytest, httpx, jwt, cryptography, yaml  # noqa: F401
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: F401
from mcp import ClientSession, StdioServerParameters  # noqa: F401
from mcp.client.stdio import stdio_client  # noqa: F401
import mcp.client.streamable_http  # noqa: F401
PY
)
# Exact pins. Change them here; the stamp makes the next run reinstall.
pinned_venv setup-python "$VENV" "$CHECK" \
  "mcp==2.3.0" \
  "pytest==9.2.0" \
  "httpx==0.28.1" \
  "pyjwt==2.15.1" \
  "prometheus-client==0.21.1" \
  "cryptography==50.0.2" \
  "opentelemetry-proto==1.45.2" \
  "protobuf==7.36.2" \
  "pyyaml==6.0.4"
echo "$VENV/bin/python"

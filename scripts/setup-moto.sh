#!/usr/bin/env bash
# Creates .venv-moto in the repository root with moto's server (AWS API emulator, signature
# checks on) and boto3, pinned, in a virtualenv of its own (moto pins botocore; so does
# MiniStack, which has its own). Idempotent: a stamp file with the pins makes a second run instant.
# Usage: scripts/setup-moto.sh   (prints the virtualenv's python path last)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${TOOLWRIGHT_MOTO_VENV:-$ROOT/.venv-moto}"
PY="${PYTHON:-python3}"

PINS=(
  "moto[server]==5.2.6"
)
STAMP="$VENV/.toolwright-pins"
WANT="$(printf '%s\n' "${PINS[@]}")"

if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
  echo "$VENV/bin/python"
  exit 0
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "setup-moto: creating $VENV" >&2
  "$PY" -m venv "$VENV"
fi
echo "setup-moto: installing ${PINS[*]}" >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}" >&2
"$VENV/bin/python" -c "import moto.server, boto3" >&2
printf '%s\n' "$WANT" > "$STAMP"
echo "$VENV/bin/python"

#!/usr/bin/env bash
# Creates .venv-moto in the repository root with moto's server (AWS API emulator, signature
# checks on) and boto3, pinned, in a virtualenv of its own (moto pins botocore; so does
# MiniStack, which has its own). Idempotent: a stamp file with the pins makes a second run instant.
# Usage: scripts/setup-moto.sh   (prints the virtualenv's python path last)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${TOOLWRIGHT_MOTO_VENV:-$ROOT/.venv-moto}"
# shellcheck source=pinned-venv.sh
source "$ROOT/scripts/pinned-venv.sh"

pinned_venv setup-moto "$VENV" "import moto.server, boto3" \
  "moto[server]==5.2.6"
echo "$VENV/bin/python"

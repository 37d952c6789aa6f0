#!/usr/bin/env bash
# MiniStack, the AWS emulator the CloudWatch tests run against, in its own virtualenv
# (.venv-ministack in the repository root: MiniStack pins botocore, so it shares no venv).
#
# Usage:
#   scripts/ministack.sh install        install (idempotent; a stamp with the pins makes a rerun instant)
#                                       and print the path of the `ministack` executable last
#   scripts/ministack.sh start PORT     install, start MiniStack on 127.0.0.1:PORT in the background,
#                                       wait (at most 30 s) for GET /_ministack/health, print its pid last
#   scripts/ministack.sh run PORT       install and run MiniStack in the foreground on 127.0.0.1:PORT
#
# Point an AWS SDK at it with AWS_ENDPOINT_URL=http://127.0.0.1:PORT and static test credentials
# (AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${TOOLWRIGHT_MINISTACK_VENV:-$ROOT/.venv-ministack}"
# shellcheck source=pinned-venv.sh
source "$ROOT/scripts/pinned-venv.sh"

install() {
  # Exact pins. Change them here; the stamp makes the next run reinstall.
  pinned_venv ministack "$VENV" \
    "import os, sys; sys.exit(0 if os.access(os.path.join(sys.prefix, 'bin', 'ministack'), os.X_OK) else 'the package installed no ministack executable in ' + sys.prefix + '/bin')" \
    "ministack==1.5.33" \
    "cbor2==6.3.0"
}

need_port() {
  if [[ ! "${1:-}" =~ ^[0-9]+$ ]]; then
    echo "usage: scripts/ministack.sh start|run PORT" >&2
    exit 2
  fi
}

case "${1:-}" in
  install)
    install
    echo "$VENV/bin/ministack"
    ;;
  run)
    need_port "${2:-}"
    install
    BIND_HOST=127.0.0.1 GATEWAY_PORT="$2" exec "$VENV/bin/ministack"
    ;;
  start)
    need_port "${2:-}"
    install
    LOG="${TMPDIR:-/tmp}/ministack-$2.log"
    BIND_HOST=127.0.0.1 GATEWAY_PORT="$2" nohup "$VENV/bin/ministack" >"$LOG" 2>&1 &
    pid=$!
    for _ in $(seq 1 300); do
      if "$VENV/bin/python" - "$2" <<'PY' 2>/dev/null; then
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/_ministack/health", timeout=1).read()
PY
        echo "$pid"
        exit 0
      fi
      if ! kill -0 "$pid" 2>/dev/null; then
        echo "ministack: exited before it was healthy; its log ($LOG):" >&2
        cat "$LOG" >&2
        exit 1
      fi
      sleep 0.1
    done
    echo "ministack: not healthy on port $2 after 30 s; stopping it (log: $LOG)" >&2
    kill "$pid" 2>/dev/null || true
    exit 1
    ;;
  *)
    echo "usage: scripts/ministack.sh install | start PORT | run PORT" >&2
    exit 2
    ;;
esac

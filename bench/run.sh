#!/usr/bin/env bash
# The benchmarks of issues 7 and 17, end to end, in one command (not part of CI; about 30 minutes):
#   1. installs what is missing: nginx (Debian), MCP Toolbox 1.12 (npm, through lint.sh), FastMCP 2
#      (PyPI `fastmcp<3`, bench/.venv-fastmcp), the awslabs CloudWatch MCP server (PyPI, reuses
#      .venv-awslabs in the repository root when it has it, else bench/.venv-awslabs), MiniStack
#      (scripts/ministack.sh), and builds toolwright (release) and the load generator
#      (bench/mcp/loadgen, its own target directory under $HOME/.cache);
#   2. bench/lint.sh: lint of 1,000 and 10,000 specs against Toolbox's load of the same tools;
#   3. bench/mcp/harness.py: tools/call throughput, latency and CPU per call against nginx, start
#      time, memory, reload latency, and the CloudWatch comparison;
#   4. bench/watches.py (issue 17): 1,000 concurrent watches, each checking nginx every second as an
#      MCP Task, 3 rounds: the server's CPU and memory, tasks/get without backend requests, cancel;
#   writes bench/results/<UTC date>.json, bench/results/watches-<UTC timestamp>.json and BENCHMARKS.md
#   (the harness writes the file, watches.py its section 7).
#
#   bench/run.sh [--quick] [harness options, such as --duration 10 --rounds 3]
#
# --quick is a smoke of every step (short points, one round; results go to bench/results/tmp/,
# BENCHMARKS.md is left alone): it proves the harness works, it measures nothing worth quoting.
# Environment: TOOLWRIGHT_BIN=path measures that binary instead of building this checkout;
# CARGO_TARGET_DIR (default $HOME/.cache/toolwright/target).
# Only 127.0.0.1 is used; every load point is bounded in time; every child is stopped on exit.
set -Eeuo pipefail
# Under `set -e` a failing command ends the script; say which one, so a run never stops silently.
trap 'status=$?; echo "bench/run.sh: line $LINENO: \`$BASH_COMMAND\` failed (exit $status)" >&2' ERR

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
TOOLS=$BENCH/.tools
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/toolwright/target}
LOADGEN_TARGET=$HOME/.cache/toolwright/loadgen-target
DATE=$(date -u +%Y-%m-%d)

quick=0
harness_args=()
for arg in "$@"; do
    case "$arg" in
        --quick) quick=1 ;;
        *) harness_args+=("$arg") ;;
    esac
done

child=
cleanup() {
    if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
        kill -TERM "$child" 2>/dev/null || true   # lint.sh and harness.py stop their own children on TERM
        for _ in $(seq 100); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$child" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs a command as the tracked child, so that a signal stops it too.
run() {
    "$@" &
    child=$!
    local status=0
    wait "$child" || status=$?
    child=
    return "$status"
}

started=$(date +%s)
say() { echo "[run.sh $(( $(date +%s) - started ))s] $*" >&2; }

# 1. Installs.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    say "installing nginx (Debian) ..."
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >&2 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >&2
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

FASTMCP_VENV=$BENCH/.venv-fastmcp
FASTMCP_PINS="fastmcp<3"
if [ ! -x "$FASTMCP_VENV/bin/python" ] || [ "$(cat "$FASTMCP_VENV/.bench-pins" 2>/dev/null)" != "$FASTMCP_PINS" ]; then
    say "installing $FASTMCP_PINS into $FASTMCP_VENV ..."
    python3 -m venv "$FASTMCP_VENV"
    "$FASTMCP_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$FASTMCP_PINS" >&2
    echo "$FASTMCP_PINS" > "$FASTMCP_VENV/.bench-pins"
fi

AWSLABS_PKG="awslabs.cloudwatch-mcp-server==0.3.1"
AWSLABS_VENV=
for v in "$ROOT/.venv-awslabs" "$BENCH/.venv-awslabs"; do
    if [ -x "$v/bin/awslabs.cloudwatch-mcp-server" ] && "$v/bin/python" -c 'import boto3' 2>/dev/null; then
        AWSLABS_VENV=$v
        break
    fi
done
if [ -z "$AWSLABS_VENV" ]; then
    AWSLABS_VENV=$BENCH/.venv-awslabs
    say "installing $AWSLABS_PKG into $AWSLABS_VENV (about 500 MB) ..."
    python3 -m venv "$AWSLABS_VENV"
    "$AWSLABS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$AWSLABS_PKG" >&2
fi

say "MiniStack: $(bash "$ROOT/scripts/ministack.sh" install | tail -n 1)"

say "building the load generator ..."
(cd "$BENCH/mcp/loadgen" && CARGO_TARGET_DIR=$LOADGEN_TARGET cargo build --release --quiet >&2)
LOADGEN=$LOADGEN_TARGET/release/mcp-loadgen

# 2. lint.sh: installs Toolbox, builds toolwright (unless TOOLWRIGHT_BIN), measures lint.
lint_args=()
if [ "$quick" = 1 ]; then
    lint_args=(--rounds 1 --large 2000)
fi
say "bench/lint.sh ${lint_args[*]} ..."
lint_log=$(mktemp)
lint_status=0
run bash "$BENCH/lint.sh" "${lint_args[@]}" > >(tee "$lint_log") || lint_status=$?
if [ "$lint_status" != 0 ]; then
    echo "bench/run.sh: bench/lint.sh failed (exit $lint_status); its messages are above" >&2
    exit 1
fi
sleep 0.2   # let tee finish
lint_json=$(grep -o 'wrote bench/results/lint-[^ ]*\.json' "$lint_log" | tail -n 1 | sed 's/^wrote //' || true)
rm -f "$lint_log"
[ -n "$lint_json" ] || { echo "could not find the results lint.sh wrote" >&2; exit 1; }
LINT_JSON=$ROOT/$lint_json

TOOLBOX=$(find "$TOOLS/node_modules/@toolbox-sdk/server-linux-x64" -type f -name toolbox -perm -u+x 2>/dev/null | head -n 1 || true)
[ -n "$TOOLBOX" ] || { echo "bench/run.sh: lint.sh left no MCP Toolbox under $TOOLS/node_modules" >&2; exit 1; }
if [ -n "${TOOLWRIGHT_BIN:-}" ]; then
    TOOLWRIGHT=$TOOLWRIGHT_BIN
    source_note=${TOOLWRIGHT_SOURCE:-"TOOLWRIGHT_BIN=$TOOLWRIGHT_BIN"}
else
    TOOLWRIGHT=$TOOLS/bin/toolwright   # lint.sh's private copy of this checkout's release build
    rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
    dirty=$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | head -n 1 || true)
    source_note="cargo build --release of $rev${dirty:+ with uncommitted changes}"
fi

# 3. The MCP harness.
out=(--out "$BENCH/results/$DATE.json" --markdown "$ROOT/BENCHMARKS.md")
quick_args=()
if [ "$quick" = 1 ]; then
    out=(--out "$BENCH/results/tmp/smoke-$DATE.json" --markdown "$BENCH/results/tmp/smoke-BENCHMARKS.md")
    quick_args=(--duration 2 --warmup 0.5 --rounds 1 --connections 1,16 --start-rounds 1 --reload-rounds 2
                --cw-rounds 1 --cw-calls 2)
fi
say "bench/mcp/harness.py ..."
run python3 "$BENCH/mcp/harness.py" \
    --toolwright "$TOOLWRIGHT" --toolwright-source "$source_note" \
    --toolbox "$TOOLBOX" --loadgen "$LOADGEN" --nginx "$NGINX" \
    --fastmcp-python "$FASTMCP_VENV/bin/python" \
    --awslabs-server "$AWSLABS_VENV/bin/awslabs.cloudwatch-mcp-server" --aws-python "$AWSLABS_VENV/bin/python" \
    --ministack-script "$ROOT/scripts/ministack.sh" \
    --lint-json "$LINT_JSON" "${out[@]}" "${quick_args[@]}" "${harness_args[@]}"

# 4. The watches (issue 17): section 7 of the same BENCHMARKS.md.
watches_args=(--markdown "$ROOT/BENCHMARKS.md")
if [ "$quick" = 1 ]; then
    watches_args=(--watches 100 --rounds 1 --window 5 --settle 2 --polls 20 --poll-sample 5
                  --out "$BENCH/results/tmp/smoke-watches-$DATE.json" --markdown "$BENCH/results/tmp/smoke-BENCHMARKS.md")
fi
say "bench/watches.py ${watches_args[*]} ..."
run python3 "$BENCH/watches.py" --toolwright "$TOOLWRIGHT" --toolwright-source "$source_note" --nginx "$NGINX" \
    "${watches_args[@]}"
say "done"

#!/usr/bin/env bash
# The lint benchmark of issue 2, end to end: installs MCP Toolbox 1.12.0 into bench/.tools,
# builds toolwright (release), generates 1,000- and 10,000-tool catalogs and measures, alternating:
#   toolwright lint on 1,000 and on 10,000 specs (wall time of the whole process),
#   Toolbox from process start to its first answered tools/list with the same 1,000 tools.
# Writes bench/results/lint-<UTC date>.json and prints a table.
#
#   bench/lint.sh [--rounds N] [--small N] [--large N] [--wait-quiet SECONDS]
#                 (defaults: 5 rounds, 1000, 10000, no waiting; on a shared machine
#                  --wait-quiet 900 waits up to 15 min for other work to stop before the rounds)
#
# Environment: TOOLWRIGHT_BIN=path skips the cargo build and measures that binary (TOOLWRIGHT_SOURCE
# says where it came from, for the record);
# CARGO_TARGET_DIR (default $HOME/.cache/toolwright/target).
# Only 127.0.0.1 is used; every child process is stopped when this script ends.
set -Eeuo pipefail
# Under `set -e` a failing command ends the script; say which one, so a run never stops silently.
trap 'status=$?; echo "bench/lint.sh: line $LINENO: \`$BASH_COMMAND\` failed (exit $status)" >&2' ERR

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
TOOLS=$BENCH/.tools
TOOLBOX_PKG=@toolbox-sdk/server-linux-x64
TOOLBOX_VERSION=1.12.0

child=
cleanup() {
    if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
        kill -TERM "$child" 2>/dev/null || true   # lint_bench.py kills its own children on TERM
        for _ in $(seq 50); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$child" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. MCP Toolbox from npm (a Go binary inside the package).
# Prints the toolbox executable, or nothing when it is not installed (on a fresh clone the folder
# does not exist yet: that is not an error).
find_toolbox() {
    local dir="$TOOLS/node_modules/$TOOLBOX_PKG"
    [ -d "$dir" ] || return 0
    find "$dir" -type f -name toolbox -perm -u+x 2>/dev/null | head -n 1 || true
}
# Whether $1 is Toolbox $TOOLBOX_VERSION (no `grep -q`: it may close the pipe early, which
# pipefail would count as a failure of the binary).
toolbox_is_pinned() {
    "$1" --version 2>/dev/null | grep "version $TOOLBOX_VERSION" >/dev/null
}
TOOLBOX=$(find_toolbox)
if [ -z "$TOOLBOX" ] || ! toolbox_is_pinned "$TOOLBOX"; then
    command -v npm >/dev/null || { echo "bench/lint.sh: npm is needed to install MCP Toolbox (apt-get install npm)" >&2; exit 2; }
    echo "installing $TOOLBOX_PKG@$TOOLBOX_VERSION into $TOOLS ..." >&2
    mkdir -p "$TOOLS"
    npm install --prefix "$TOOLS" --no-audit --no-fund "$TOOLBOX_PKG@$TOOLBOX_VERSION" >&2
    TOOLBOX=$(find_toolbox)
fi
[ -n "$TOOLBOX" ] || { echo "bench/lint.sh: no toolbox binary under $TOOLS/node_modules/$TOOLBOX_PKG after npm install" >&2; exit 2; }
toolbox_is_pinned "$TOOLBOX" || { echo "bench/lint.sh: $TOOLBOX is not version $TOOLBOX_VERSION" >&2; exit 2; }

# 2. toolwright, release build.
if [ -n "${TOOLWRIGHT_BIN:-}" ]; then
    TOOLWRIGHT=$TOOLWRIGHT_BIN
    echo "using TOOLWRIGHT_BIN=$TOOLWRIGHT (no build)" >&2
else
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/toolwright/target}
    echo "building toolwright (release) in $CARGO_TARGET_DIR ..." >&2
    rev=$(git -C "$ROOT" rev-parse --short=10 HEAD 2>/dev/null || echo unknown)
    dirty=$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | head -n 1 || true)
    built_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    (cd "$ROOT" && cargo build --release >&2)
    # Measure a private copy: the shared target directory may be rebuilt by others meanwhile.
    mkdir -p "$TOOLS/bin"
    cp "$CARGO_TARGET_DIR/release/toolwright" "$TOOLS/bin/toolwright.tmp"
    mv -f "$TOOLS/bin/toolwright.tmp" "$TOOLS/bin/toolwright"
    TOOLWRIGHT=$TOOLS/bin/toolwright
fi
[ -x "$TOOLWRIGHT" ] || { echo "no toolwright binary at $TOOLWRIGHT" >&2; exit 2; }

# 3. Generate, check and measure (python3, standard library only).
if [ -n "${TOOLWRIGHT_BIN:-}" ]; then
    source=${TOOLWRIGHT_SOURCE:-TOOLWRIGHT_BIN=$TOOLWRIGHT_BIN (not built by lint.sh)}
else
    source="cargo build --release of $ROOT at $rev${dirty:+ with uncommitted changes}, $built_at"
fi
python3 "$BENCH/lint_bench.py" --toolwright "$TOOLWRIGHT" --toolbox "$TOOLBOX" --toolwright-source "$source" "$@" &
child=$!
status=0
wait "$child" || status=$?
child=
exit "$status"

#!/usr/bin/env bash
# Runs the MCP conformance suite (both pinned versions, with Node 22) against `toolwright serve --http`,
# scenario by scenario, and writes a per-scenario table of pass/fail and check counts to
# tests/conformance-results.txt. Exits 1 if any scenario fails.
#
# Two catalogs are served. The scenarios that call the suite's fixture tools, resources and prompts
# (CATALOG_SCENARIOS below) run against the conformance catalog (tests/conformance/tools.d: toolwright specs of
# those fixtures), served from a copy whose connection points at its backend (tests/conformance/backend.py,
# started here on a free port). The fixture-free scenarios run against the example catalog
# (tests/fixtures/tools.d). Servers are started only for the scenarios asked for.
#
# Usage: scripts/conformance.sh [SCENARIO...]
#        (default: every server scenario of either suite version, as `list --server` names them; a scenario a
#        version lacks is a SKIP row for that version)
# Env:   TOOLWRIGHT_BIN   the binary (default $CARGO_TARGET_DIR/debug/toolwright, else target/debug/toolwright)
#        CONFORMANCE_KEEP=1  keep the work directory (server logs, checks.json files)
#        CONFORMANCE_TIMEOUT seconds allowed per scenario run (default 120)
#        CONFORMANCE_EXPECTED_FAILURES=FILE  opt-in baseline: failed checks listed there, one per line as
#          `SUITE_VERSION SCENARIO CHECK_ID  # why` (SUITE_VERSION may be *), are counted as "expected" instead
#          of "failed"; a listed check that now passes is reported as stale. Off by default: every failure counts.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSIONS=(0.1.16 0.2.0-alpha.12)
# Scenarios about stateless serving also run against a second server started with --stateless.
STATELESS_SCENARIOS=(server-stateless)
# Scenarios (glob patterns) that need the suite's fixtures (tools, resources, prompts, completions): served from
# tests/conformance/tools.d. Every other scenario runs against the example catalog.
CATALOG_SCENARIOS=(
  'tasks-*' 'tools-call-*' 'json-schema-*' 'elicitation-*' 'resources-*' 'sep-2164-*' 'sep-2640-*' 'prompts-*'
  'completion-*' 'input-required-result-*'
)
RESULTS="$ROOT/tests/conformance-results.txt"
PER_RUN_TIMEOUT="${CONFORMANCE_TIMEOUT:-120}"

if [[ -n "${TOOLWRIGHT_BIN:-}" ]]; then BIN="$TOOLWRIGHT_BIN"
elif [[ -n "${CARGO_TARGET_DIR:-}" ]]; then BIN="$CARGO_TARGET_DIR/debug/toolwright"
else BIN="$ROOT/target/debug/toolwright"; fi
[[ -x "$BIN" ]] || { echo "conformance: no toolwright binary at $BIN (cargo build, or set TOOLWRIGHT_BIN)" >&2; exit 2; }

NODE="$("$ROOT/scripts/setup-node22.sh" | tail -n 1)"
[[ -x "$NODE" ]] || { echo "conformance: Node 22 not installed" >&2; exit 2; }
export PATH="$(dirname "$NODE"):$PATH"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/toolwright-conformance.XXXXXX")"
SERVER_PIDS=()
cleanup() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null
    fi
  done
  if [[ -n "${CONFORMANCE_KEEP:-}" ]]; then echo "conformance: work directory kept at $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

matches_any() { local x="$1"; shift; local p; for p in "$@"; do [[ "$x" == $p ]] && return 0; done; return 1; }
in_list() { local x="$1"; shift; local y; for y in "$@"; do [[ "$x" == "$y" ]] && return 0; done; return 1; }

# Each version's server scenarios, as its CLI lists them.
declare -A AVAILABLE
for v in "${VERSIONS[@]}"; do
  SUITE="$ROOT/.tools/conformance-$v/node_modules/@modelcontextprotocol/conformance/dist/index.js"
  AVAILABLE[$v]="$("$NODE" "$SUITE" list --server 2>/dev/null | sed -n 's/^  - \([^ ]*\).*/\1/p' | tr '\n' ' ')"
done
if [[ $# -gt 0 ]]; then
  SCENARIOS=("$@")
else
  SCENARIOS=()
  for v in "${VERSIONS[@]}"; do
    for s in ${AVAILABLE[$v]}; do
      in_list "$s" "${SCENARIOS[@]}" || SCENARIOS+=("$s")
    done
  done
fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_server NAME TOOLS_DIR [extra serve args...]: starts a server, sets URL_<NAME>; bounded wait on /healthz.
start_server() {
  local name="$1" tools="$2"; shift 2
  local attempt port pid log="$WORK/serve-$name.log"
  for attempt in 1 2 3; do
    port="$(free_port)"
    "$BIN" serve --http "127.0.0.1:$port" --tools "$tools" --no-watch "$@" </dev/null >"$log" 2>&1 &
    pid=$!
    SERVER_PIDS+=("$pid")
    for _ in $(seq 200); do # 20 s
      if ! kill -0 "$pid" 2>/dev/null; then break; fi
      if curl -fsS --max-time 1 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
        printf -v "URL_$name" 'http://127.0.0.1:%s/mcp' "$port"
        echo "conformance: $name server (--tools $tools $*) at http://127.0.0.1:$port/mcp, pid $pid" >&2
        return 0
      fi
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    grep -q "cannot bind" "$log" || break
  done
  echo "conformance: the $name server did not come up; its log:" >&2
  cat "$log" >&2
  exit 2
}

# start_backend: starts tests/conformance/backend.py (it prints `PORT n` once listening, and ends by itself
# when this script is gone or after the lifetime) and writes the catalog copy that points at it.
CATALOG_DIR="$WORK/conformance-tools.d"
start_backend() {
  local log="$WORK/backend.log" out="$WORK/backend.out" pid port=""
  python3 "$ROOT/tests/conformance/backend.py" --parent $$ --lifetime 3600 </dev/null >"$out" 2>"$log" &
  pid=$!
  SERVER_PIDS+=("$pid")
  for _ in $(seq 100); do # 10 s
    port="$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$out")"
    [[ -n "$port" ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z "$port" ]]; then
    echo "conformance: the backend did not come up; its log:" >&2
    cat "$log" >&2
    exit 2
  fi
  echo "conformance: backend at http://127.0.0.1:$port, pid $pid" >&2
  # The catalog's connection names 127.0.0.1:8765; the copy names the backend's port. Nothing else changes.
  cp -R "$ROOT/tests/conformance/tools.d" "$CATALOG_DIR"
  grep -rl --include='*.yaml' 'http://127.0.0.1:8765' "$CATALOG_DIR" | while read -r f; do
    sed -i "s|http://127\.0\.0\.1:8765|http://127.0.0.1:$port|g" "$f"
  done
  if ! grep -rq "http://127.0.0.1:$port" "$CATALOG_DIR"; then
    echo "conformance: no connection in tests/conformance/tools.d names http://127.0.0.1:8765" >&2
    exit 2
  fi
}

# ensure_server NAME: starts the server NAME (sessionful, stateless: the example catalog; catalog: the
# conformance catalog and its backend) unless it runs already.
ensure_server() {
  local urlvar="URL_$1"
  [[ -n "${!urlvar:-}" ]] && return 0
  case "$1" in
    sessionful) start_server sessionful "$ROOT/tests/fixtures/tools.d" ;;
    stateless) start_server stateless "$ROOT/tests/fixtures/tools.d" --stateless ;;
    catalog) start_backend; start_server catalog "$CATALOG_DIR" ;;
    *) echo "conformance: no server named $1" >&2; exit 2 ;;
  esac
}

ROWS="$WORK/rows.tsv"      # version scenario server result passed failed untestable warnings other expected
BASELINE="${CONFORMANCE_EXPECTED_FAILURES:-}"
[[ -z "$BASELINE" || -f "$BASELINE" ]] || { echo "conformance: no baseline file $BASELINE" >&2; exit 2; }
DETAILS="$WORK/details.txt"
: >"$ROWS"; : >"$DETAILS"

# summarize CHECKS_JSON VERSION SCENARIO: prints "passed failed untestable warnings other expected" and writes the failed and warned
# checks to stderr. "untestable" counts the failures whose message starts with "Not testable" (the suite's own
# words when the server lacks an SDK test fixture, but also when it lacks a method the check needs): they
# still fail the scenario.
summarize() {
  python3 - "$1" "$2" "$3" "$BASELINE" <<'PY'
import json, sys
checks_path, version, scenario, baseline_path = sys.argv[1:5]
expected_ids = set()
if baseline_path:
    for line in open(baseline_path):
        fields = line.split("#", 1)[0].split()
        if len(fields) == 3 and fields[0] in ("*", version) and fields[1] == scenario:
            expected_ids.add(fields[2])
checks = json.load(open(checks_path))
count = {"SUCCESS": 0, "FAILURE": 0, "WARNING": 0}
other = untestable = expected = 0
for c in checks:
    st = c.get("status")
    cid = c.get("id") or c.get("name")
    if st == "FAILURE" and cid in expected_ids:
        expected += 1
        msg = (c.get("errorMessage") or "").replace("\n", " ")
        sys.stderr.write(f"    EXPECTED-FAILURE {cid}: {msg[:600]}\n")
        continue
    if st == "SUCCESS" and cid in expected_ids:
        sys.stderr.write(f"    STALE-BASELINE {cid}: passes now; remove it from {baseline_path}\n")
    if st in count:
        count[st] += 1
    else:
        other += 1
    msg = (c.get("errorMessage") or c.get("description") or "").replace("\n", " ")
    if st == "FAILURE" and msg.startswith("Not testable"):
        untestable += 1
    if st in ("FAILURE", "WARNING"):
        sys.stderr.write(f"    {st} {cid}: {msg[:600]}\n")
print(count["SUCCESS"], count["FAILURE"], untestable, count["WARNING"], other, expected)
PY
}

for v in "${VERSIONS[@]}"; do
  SUITE="$ROOT/.tools/conformance-$v/node_modules/@modelcontextprotocol/conformance/dist/index.js"
  read -r -a available <<<"${AVAILABLE[$v]}"
  echo "conformance $v: ${#available[@]} server scenarios available" >&2
  for s in "${SCENARIOS[@]}"; do
    if ! in_list "$s" "${available[@]}"; then
      echo "conformance $v: $s is not in this version; skipped" >&2
      printf '%s\t%s\t%s\tSKIP\t-\t-\t-\t-\t-\t-\n' "$v" "$s" "-" >>"$ROWS"
      continue
    fi
    if matches_any "$s" "${CATALOG_SCENARIOS[@]}"; then
      targets=(catalog)
    else
      targets=(sessionful)
      in_list "$s" "${STATELESS_SCENARIOS[@]}" && targets+=(stateless)
    fi
    for t in "${targets[@]}"; do
      ensure_server "$t"
      urlvar="URL_$t"; url="${!urlvar}"
      out="$WORK/out/$v/$t/$s"; mkdir -p "$out"
      echo "conformance $v: $s against the $t server" >&2
      timeout "$PER_RUN_TIMEOUT" "$NODE" "$SUITE" server --url "$url" --scenario "$s" -o "$out" >"$out/run.log" 2>&1
      rc=$?
      checks="$(find "$out" -name checks.json | head -n 1)"
      if [[ -z "$checks" ]]; then
        result=ERROR; read -r p f u w o x <<<"- - - - - -"
        { echo "[$v] $s ($t): the suite wrote no checks (exit $rc); last output:"; tail -n 20 "$out/run.log" | sed 's/^/    /'; } >>"$DETAILS"
      else
        read -r p f u w o x < <(summarize "$checks" "$v" "$s" 2>"$out/failures.txt")
        if [[ $rc -eq 124 || "$f" -gt 0 ]]; then result=FAIL
        elif [[ "$x" -gt 0 ]]; then result=XFAIL
        elif [[ "$p" -gt 0 ]]; then result=PASS
        elif [[ "$o" -gt 0 ]]; then result=SKIPPED
        else result=FAIL; fi
        if [[ -s "$out/failures.txt" ]]; then
          { echo "[$v] $s ($t): $result"; cat "$out/failures.txt"; } >>"$DETAILS"
        fi
        [[ $rc -eq 124 ]] && echo "[$v] $s ($t): timed out after ${PER_RUN_TIMEOUT}s" >>"$DETAILS"
      fi
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$v" "$s" "$t" "$result" "$p" "$f" "$u" "$w" "$o" "$x" >>"$ROWS"
    done
  done
done

{
  echo "# MCP conformance of toolwright serve --http, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# binary: $BIN ($("$BIN" --version 2>/dev/null))"
  echo "# node: $("$NODE" --version); suites: ${VERSIONS[*]}"
  echo "# server: sessionful and stateless serve the example catalog (tests/fixtures/tools.d); catalog serves the"
  echo "# conformance catalog (tests/conformance/tools.d) backed by tests/conformance/backend.py."
  echo "# passed/failed/warnings count checks; untestable = failed checks the suite calls \"Not testable\" (they still"
  echo "# fail the scenario); other = INFO and SKIPPED checks; expected = failures listed in the opt-in baseline"
  echo "# (${BASELINE:-none}), not counted as failed. Result: PASS = no failed check and at least one passed;"
  echo "# XFAIL = no failed check, but some listed as expected; SKIPPED = the suite itself skipped every check;"
  echo "# SKIP = the scenario is not in this version; FAIL and ERROR fail the run."
  echo
  printf '%-15s %-46s %-10s %-6s %6s %6s %10s %8s %6s %8s\n' suite scenario server result passed failed untestable warnings other expected
  while IFS=$'\t' read -r v s t r p f u w o x; do
    printf '%-15s %-46s %-10s %-6s %6s %6s %10s %8s %6s %8s\n' "$v" "$s" "$t" "$r" "$p" "$f" "$u" "$w" "$o" "$x"
  done <"$ROWS"
  echo
  awk -F'\t' '
    { runs[$1]++; if ($4=="PASS") pass[$1]++; else if ($4=="XFAIL") xfail[$1]++; else if ($4=="SKIPPED") skipped[$1]++
      else if ($4=="SKIP") skip[$1]++; else fail[$1]++
      if ($5 ~ /^[0-9]+$/) { cp[$1]+=$5; cf[$1]+=$6; cu[$1]+=$7; cx[$1]+=$10 } }
    END { for (v in runs) printf "%s: %d scenario runs passed, %d passed but for expected failures, %d failed, %d skipped by the suite, %d not in this version; checks: %d passed, %d failed (%d of them \"not testable\"), %d expected failures\n", v, pass[v]+0, xfail[v]+0, fail[v]+0, skipped[v]+0, skip[v]+0, cp[v], cf[v], cu[v], cx[v] }' "$ROWS" | sort
  if [[ -s "$DETAILS" ]]; then
    echo
    echo "## Failures and warnings"
    cat "$DETAILS"
  fi
} >"$RESULTS"

cat "$RESULTS"
if awk -F'\t' '$4=="FAIL" || $4=="ERROR" {bad=1} END {exit !bad}' "$ROWS"; then
  echo "conformance: some scenarios failed (see $RESULTS)" >&2
  exit 1
fi
echo "conformance: every scenario passed" >&2

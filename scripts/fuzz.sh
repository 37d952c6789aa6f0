#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a bounded time and prints a summary. Outside CI:
# the seed corpus is replayed in CI by tests/fuzz_regressions.rs instead.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS   libFuzzer -max_total_time per target (default 60)
#   TARGET    spec_compile spec_structured render_args jsonrpc jq_in_spec xml_answer (default: all)
# Environment:
#   FUZZ_SANITIZER   none (default, fastest) or address
#   FUZZ_ARGS        extra libFuzzer flags, such as "-seed=1 -only_ascii=1"
#   CARGO_TARGET_DIR where cargo builds (shared caches welcome)
#
# New corpus entries go to fuzz/work/<target>/ (ignored by git); crashes, timeouts and
# out-of-memory inputs to fuzz/artifacts/<target>/. Exit 1 if any target found one.
# cargo-fuzz needs nightly features; on a stable toolchain RUSTC_BOOTSTRAP=1 enables them
# for these builds only. cargo-fuzz itself is installed into .tools/cargo-fuzz on first use.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SECONDS_EACH="${1:-60}"
if [[ $# -gt 0 ]]; then shift; fi
if ! [[ "$SECONDS_EACH" =~ ^[0-9]+$ ]] || [[ "$SECONDS_EACH" -lt 1 ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
  exit 2
fi
ALL_TARGETS=(spec_compile spec_structured render_args jsonrpc jq_in_spec xml_answer)
TARGETS=("$@")
if [[ ${#TARGETS[@]} -eq 0 ]]; then TARGETS=("${ALL_TARGETS[@]}"); fi

SANITIZER="${FUZZ_SANITIZER:-none}"
CARGO_FUZZ_VERSION="0.13.2"
CARGO_FUZZ="$ROOT/.tools/cargo-fuzz/bin/cargo-fuzz"
if [[ ! -x "$CARGO_FUZZ" ]]; then
  echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION into .tools/cargo-fuzz" >&2
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$ROOT/.tools/cargo-fuzz" >&2
fi
if ! rustc --version | grep -q nightly; then
  export RUSTC_BOOTSTRAP=1
fi

# The same flags for build and run, so `run` does not rebuild.
BUILD_FLAGS=(-s "$SANITIZER" --codegen-units 16)

dict_of() {
  case "$1" in
    spec_compile | spec_structured) echo "$ROOT/fuzz/dict/spec.dict" ;;
    render_args) echo "$ROOT/fuzz/dict/args.dict" ;;
    jsonrpc) echo "$ROOT/fuzz/dict/jsonrpc.dict" ;;
    jq_in_spec) echo "$ROOT/fuzz/dict/jq.dict" ;;
  esac
}

# Extra libFuzzer flags per target. The structured target reads its input through `arbitrary`,
# where a few bytes make a trivial document: start at the full length instead of growing to it.
extra_of() {
  case "$1" in
    spec_structured) echo "-len_control=0" ;;
    *) echo "" ;;
  esac
}

max_len_of() {
  case "$1" in
    spec_compile) echo 16384 ;;
    spec_structured) echo 8192 ;;
    render_args) echo 1024 ;;
    jsonrpc) echo 4096 ;;
    jq_in_spec) echo 2048 ;;
  esac
}

echo "fuzz: building ${TARGETS[*]} (sanitizer: $SANITIZER)" >&2
for t in "${TARGETS[@]}"; do
  "$CARGO_FUZZ" fuzz build "${BUILD_FLAGS[@]}" "$t" >&2
done
# jq_in_spec runs filters in jq worker processes of a real toolwright binary.
if [[ " ${TARGETS[*]} " == *" jq_in_spec "* && -z "${TOOLWRIGHT_BIN:-}" ]]; then
  (cd "$ROOT" && cargo build --quiet >&2)
  export TOOLWRIGHT_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/toolwright"
fi

LOGS="$ROOT/fuzz/work/logs"
mkdir -p "$LOGS"
declare -A RESULT EXECS RATE NEW RSS
failed=0
for t in "${TARGETS[@]}"; do
  work="$ROOT/fuzz/work/$t"
  artifacts="$ROOT/fuzz/artifacts/$t"
  seeds="$ROOT/fuzz/corpus/$t"
  mkdir -p "$work" "$artifacts" "$seeds"
  log="$LOGS/$t.log"
  before="$(find "$artifacts" -type f | wc -l)"
  echo "fuzz: $t for ${SECONDS_EACH}s (log: ${log#"$ROOT"/})" >&2
  # shellcheck disable=SC2046,SC2086 # extra_of and FUZZ_ARGS are lists of flags
  set +e
  "$CARGO_FUZZ" fuzz run "${BUILD_FLAGS[@]}" "$t" "$work" "$seeds" -- \
    -max_total_time="$SECONDS_EACH" -timeout=30 -rss_limit_mb=4096 -max_len="$(max_len_of "$t")" \
    -dict="$(dict_of "$t")" -print_final_stats=1 -artifact_prefix="$artifacts/" $(extra_of "$t") ${FUZZ_ARGS:-} >"$log" 2>&1
  rc=$?
  set -e
  after="$(find "$artifacts" -type f | wc -l)"
  stat() { grep -a "^stat::$1:" "$log" | tail -n 1 | awk '{print $2}'; }
  EXECS[$t]="$(stat number_of_executed_units)"
  RATE[$t]="$(stat average_exec_per_sec)"
  NEW[$t]="$(stat new_units_added)"
  RSS[$t]="$(stat peak_rss_mb)"
  if [[ $rc -eq 0 && $after -eq $before ]]; then
    RESULT[$t]="ok"
  else
    RESULT[$t]="FOUND (exit $rc; $((after - before)) new artifact(s) in ${artifacts#"$ROOT"/})"
    failed=1
    grep -a -m 1 -A 30 -E "panicked at|==[0-9]+==ERROR|ALARM|out-of-memory|deadly signal" "$log" >&2 || tail -n 40 "$log" >&2
  fi
done

echo
printf '%-16s %14s %10s %9s %8s  %s\n' target executions exec/s new_units rss_mb result
for t in "${TARGETS[@]}"; do
  printf '%-16s %14s %10s %9s %8s  %s\n' "$t" "${EXECS[$t]:-?}" "${RATE[$t]:-?}" "${NEW[$t]:-?}" "${RSS[$t]:-?}" "${RESULT[$t]}"
done
if [[ $failed -ne 0 ]]; then
  echo
  echo "Reproduce one input with: $CARGO_FUZZ fuzz run ${BUILD_FLAGS[*]} TARGET fuzz/artifacts/TARGET/FILE" >&2
  echo "Minimize it with:         $CARGO_FUZZ fuzz tmin ${BUILD_FLAGS[*]} TARGET fuzz/artifacts/TARGET/FILE" >&2
fi
exit "$failed"

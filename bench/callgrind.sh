#!/usr/bin/env bash
# Instructions per tools/call of one toolwright binary, counted by callgrind: repeatable for the
# same binary and inputs whatever else the machine is doing (unlike CPU time), so two builds can
# be compared on a noisy machine, and with a debug build the per-function costs say where a
# difference comes from (callgrind_annotate --inclusive=yes OUT).
#
#   bench/callgrind.sh BINARY [OUT]      (OUT: the callgrind file, default /tmp/toolwright.callgrind)
#   SIGNED=1 bench/callgrind.sh BINARY   the same call with every request signed (auth.aws_sigv4,
#                                        static keys from the environment; nginx does not check)
#
# The same setup as bench/ab.py: nginx serves a static JSON file, one http tool in front of it,
# 2026-07-28 calls from the load generator (bench/run.sh builds it) on one connection. Counters are
# zeroed after a warm-up, so start-up is not counted. Needs valgrind and nginx. 127.0.0.1 only.
set -euo pipefail
BIN=$(realpath "$1")
OUT=${2:-/tmp/toolwright.callgrind}
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOADGEN=${LOADGEN:-$HOME/.cache/toolwright/loadgen-target/release/mcp-loadgen}
W=$(mktemp -d /tmp/toolwright-callgrind-XXXXXX)
chmod 755 "$W"
mkdir -p "$W/www" "$W/tools"
cp "$BENCH/mcp/item.json" "$W/www/"
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
BP=$(port); PP=$(port); SP=$(port)
sed -e "s#@PREFIX@#$W#g; s#@DOCROOT@#$W/www#g; s#@BACKEND_PORT@#$BP#; s#@PROXY_PORT@#$PP#; s#@WORKERS@#1#" "$BENCH/mcp/nginx.conf.in" >"$W/nginx.conf"
NG= SV=
cleanup() {
  [[ -n "$SV" ]] && kill -TERM "$SV" 2>/dev/null || true
  [[ -n "$NG" ]] && kill "$NG" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
nginx -p "$W" -c "$W/nginx.conf" &
AUTH=
if [[ "${SIGNED:-}" == 1 ]]; then
  AUTH=', auth: {aws_sigv4: {service: execute-api, region: us-east-1}}'
  export AWS_ACCESS_KEY_ID=AKIDBENCHMARK0000000 AWS_SECRET_ACCESS_KEY=benchmark-only AWS_REGION=us-east-1 \
    AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/nonexistent/toolwright-bench AWS_SHARED_CREDENTIALS_FILE=/nonexistent/toolwright-bench
fi
NG=$!
cat >"$W/tools/bench.yaml" <<Y
kind: connection
name: bench
http: {base_url: "http://127.0.0.1:$BP", allow_private_networks: true$AUTH}
---
kind: tool
name: get_item
description: One item of the benchmark backend.
input: {type: object, properties: {id: {type: string}}, required: [id]}
action:
  http: {connection: bench, method: GET, url: "/items/{{ id }}"}
Y
valgrind --tool=callgrind --callgrind-out-file="$OUT" "$BIN" serve --http "127.0.0.1:$SP" --tools "$W/tools" --no-watch --http-threads 1 2>"$W/valgrind.log" &
SV=$!
for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$SP/healthz" && break; sleep 0.3; done
python3 -c 'import json;print(json.dumps({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_item","arguments":{"id":"checkout-7"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"callgrind","version":"1"}}}}))' >"$W/call.json"
load() {
  "$LOADGEN" --url "http://127.0.0.1:$SP/mcp" --method POST --body-file "$W/call.json" -H Content-Type:application/json \
    -H Accept:application/json,text/event-stream -H MCP-Protocol-Version:2026-07-28 -H Mcp-Method:tools/call -H Mcp-Name:get_item \
    --expect bench-item-ok --connections 1 --warmup 0 --duration "$1"
}
load 3 >/dev/null
callgrind_control -z "$SV" >/dev/null
load 12 >"$W/load.json"
callgrind_control -d "$SV" >/dev/null
sleep 1
calls=$(python3 -c "import json;print(json.load(open('$W/load.json'))['requests'])")
ir=$(grep -h '^totals:' "$OUT".* 2>/dev/null | tail -n 1 | awk '{print $2}')
python3 -c "print(f'{$ir / $calls:.0f} instructions per call ({$calls} calls); profile: $(ls "$OUT".* | tail -n 1)')"

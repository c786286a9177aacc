#!/usr/bin/env bash
# Run gitlab-ci-local (npm package "gitlab-ci-local"), installing it under .tools/ on first
# use. erpsync's tests use `gitlab-ci-local --list` to check the .gitlab-ci.yml that
# `erpsync init --ci gitlab` writes against GitLab's CI schema and rules. 4.70.0 is the newest
# release that runs on Node 20 (later ones need Node 22).
set -euo pipefail
version=4.70.0
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix="$root/.tools/gitlab-ci-local"
package="$prefix/node_modules/gitlab-ci-local"
if ! grep -qs "\"version\": \"$version\"" "$package/package.json"; then
	command -v npm >/dev/null || { echo "gitlab-ci-local: node and npm are needed" >&2; exit 2; }
	npm install --silent --no-audit --no-fund --prefix "$prefix" "gitlab-ci-local@$version" >&2
fi
exec node "$package/dist/index.js" "$@"

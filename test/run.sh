#!/usr/bin/env bash
# `npm test`: installs what is missing (npm packages, the stack's tools into the cache), builds, lints,
# then runs every test — unit tests and the integration tests against the real local stack.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # `npm install`, not `npm ci`: the lock cannot list other platforms' optional binaries (e.g. @swc/core-darwin-*)
  # when the registry in reach does not serve them, and `npm ci` refuses such a lock. The locked versions hold.
  echo "== npm install (locked versions)"
  npm install --no-audit --no-fund
fi
echo "== tools (cached by version in ${MULTI_ENI_CACHE:-$HOME/.cache/multi-eni})"
bash stack/install.sh >/dev/null
echo "== build"
npm run --silent build
echo "== lint"
npm run --silent lint
echo "== tests"
NODE_OPTIONS=--experimental-vm-modules exec npx jest --runInBand "$@"

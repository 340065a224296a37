#!/usr/bin/env bash
# What `npm test`, `npm run demo` and `npm run bench` need first on a fresh clone: the npm packages (the locked
# versions) and a build. The stack's tools are installed by their users (test/run.sh, the demo, the bench).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # `npm install`, not `npm ci`: the lock cannot list other platforms' optional binaries (e.g. @swc/core-darwin-*)
  # when the registry in reach does not serve them, and `npm ci` refuses such a lock. The locked versions hold.
  # --no-save: the checkout stays as cloned (npm would otherwise rewrite package-lock.json, e.g. to add the
  # optional binaries of other platforms the registry does serve).
  echo "== npm install (locked versions)" >&2
  npm install --no-audit --no-fund --no-save >&2
fi
npm run --silent build >&2

#!/usr/bin/env bash
# `npm test`: installs what is missing (npm packages, the stack's tools into the cache), builds, lints,
# then runs every test — unit tests and the integration tests against the real local stack.
set -euo pipefail
cd "$(dirname "$0")/.."
bash dev/scripts/prepare.sh
echo "== tools (cached by version in ${MULTI_ENI_CACHE:-$HOME/.cache/multi-eni})"
bash dev/stack/install.sh --temporal-cluster >/dev/null  # with the cluster tools: test/temporal-cluster runs its own
bash dev/kubelet/install.sh >/dev/null
echo "== lint"
npm run --silent lint
echo "== tests"
export NODE_OPTIONS=--experimental-vm-modules
if [ $# -gt 0 ]; then exec npx jest --runInBand "$@"; fi
# The workflow tests first, in a process of their own (see jest.config.js), then everything else; both always run.
rc=0
npx jest --runInBand --selectProjects workflow || rc=$?
npx jest --runInBand --selectProjects unit integration || rc=$?
exit $rc

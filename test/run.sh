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
# Beside the main run, the durability suites against the Temporal cluster (MULTI_ENI_TEMPORAL=cluster) on a second stack.
rc=0
npx jest --runInBand --selectProjects workflow || rc=$?
# The suites that prove durability run a second time against the Temporal cluster (PostgreSQL, four services), on a
# stack of their own (its own directory and port base), beside the main run: most of their time is waiting on EC2's
# windows and Temporal's timeouts, so the two lanes share the 2 cores well.
CLUSTER_SUITES=(test/controller/lifecycle.test.ts test/controller/crash-points.test.ts test/controller/faults.test.ts
  test/controller/persistent-error.test.ts test/controller/selector-race.test.ts)
lane_log=$(mktemp -t multi-eni-cluster-lane.XXXXXX)
(
  export MULTI_ENI_TEMPORAL=cluster
  export MULTI_ENI_STACK_DIR="${MULTI_ENI_STACK_DIR:-${TMPDIR:-/tmp}/multi-eni-stack}-cluster"
  export MULTI_ENI_PORT_BASE=$(( ${MULTI_ENI_PORT_BASE:-17200} + 1000 ))
  npx jest --runInBand "${CLUSTER_SUITES[@]}" --selectProjects integration
) >"$lane_log" 2>&1 &
lane=$!
npx jest --runInBand --selectProjects unit integration || rc=$?
lane_rc=0
wait "$lane" || lane_rc=$?
echo "== the durability suites against the Temporal cluster (exit $lane_rc)"
cat "$lane_log"
rm -f "$lane_log"
[ "$lane_rc" -eq 0 ] || rc=$lane_rc
exit $rc

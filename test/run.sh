#!/usr/bin/env bash
# `npm test`: installs what is missing (npm packages, the stack's tools into the cache), builds, lints,
# then runs every test — unit tests and the integration tests against the real local stack.
set -euo pipefail
cd "$(dirname "$0")/.."
bash dev/scripts/prepare.sh
echo "== tools (cached by version in ${MULTI_ENI_CACHE:-$HOME/.cache/multi-eni})"
bash dev/stack/install.sh --temporal-cluster >/dev/null  # with the cluster tools: the cluster lane and the drills need them
bash dev/kubelet/install.sh >/dev/null
echo "== lint"
npm run --silent lint
echo "== tests"
export NODE_OPTIONS=--experimental-vm-modules
if [ $# -gt 0 ]; then exec npx jest --runInBand "$@"; fi
# The workflow tests first, in a process of their own (see jest.config.js). Then three lanes at once, each on a stack
# of its own (its own directory and port base), so no lane sees another's EC2 holds, kills or restarts. Most of the
# integration tests' time is spent waiting (EC2's windows, Temporal's timeouts after a kill), so the lanes share the
# 2 cores well:
#   main:    the unit tests and every integration suite but the crash lane's, against the dev server;
#   crash:   the suites that kill the controller, the node agent or the stack mid-operation, against the dev server;
#   cluster: the suites that prove durability, and the Web UI, a second time against the Temporal cluster
#            (PostgreSQL, the four services, ui-server); and helm install of the real Temporal chart on a kubelet,
#            whose stores are that stack's PostgreSQL (it runs only here).
# Every lane always runs; the exit code is the first failure's. A lane's output is printed when it ends.
rc=0
npx jest --runInBand --selectProjects workflow || rc=$?
CRASH_SUITES=(test/controller/crash-points.test.ts test/controller/stack-crash.test.ts)
CLUSTER_ONLY=(test/kubelet-temporal.test.ts)
CLUSTER_SUITES=(test/controller/lifecycle.test.ts test/controller/crash-points.test.ts test/controller/faults.test.ts
  test/controller/persistent-error.test.ts test/controller/selector-race.test.ts test/browser/web-ui.test.ts "${CLUSTER_ONLY[@]}")
base_dir="${MULTI_ENI_STACK_DIR:-${TMPDIR:-/tmp}/multi-eni-stack}"
base_port=${MULTI_ENI_PORT_BASE:-17200}
declare -A lane_pid lane_log
start_lane() { # name temporal port-offset suites...
  local name=$1 temporal=$2 offset=$3
  shift 3
  lane_log[$name]=$(mktemp -t "multi-eni-$name-lane.XXXXXX")
  MULTI_ENI_TEMPORAL=$temporal MULTI_ENI_STACK_DIR="$base_dir-$name" MULTI_ENI_PORT_BASE=$((base_port + offset)) \
    npx jest --runInBand "$@" --selectProjects integration >"${lane_log[$name]}" 2>&1 &
  lane_pid[$name]=$!
}
start_lane crash dev 2000 "${CRASH_SUITES[@]}"
start_lane cluster cluster 1000 "${CLUSTER_SUITES[@]}"
MULTI_ENI_TEMPORAL=dev npx jest --runInBand --selectProjects unit integration \
  --testPathIgnorePatterns /node_modules/ /test/lifecycle-workflow/ "${CRASH_SUITES[@]}" "${CLUSTER_ONLY[@]}" || rc=$?
for name in crash cluster; do
  lane_rc=0
  wait "${lane_pid[$name]}" || lane_rc=$?
  echo "== the $name lane ($base_dir-$name, exit $lane_rc)"
  cat "${lane_log[$name]}"
  rm -f "${lane_log[$name]}"
  [ "$lane_rc" -eq 0 ] || [ "$rc" -ne 0 ] || rc=$lane_rc
done
exit $rc

#!/usr/bin/env bash
# Runs every test of kuberay-c (what `make test` and CI call), in order:
#   1. formatting check (clang-format) of the C sources
#   2. C unit tests (CTest label "unit"), under ASan+UBSan, then again under valgrind
#   3. a fresh, private control plane instance ("krc-test", its own ports and state), with kwok
#   4. C integration tests (CTest label "integration") against it
#   5. pytest: tests/integration (the substrate) and tests/e2e (end to end)
# The instance is stopped and its state removed on every exit path. Steps after a failure still
# run, so one run shows every failure; the exit code is non-zero if any step failed.
# Usage: hack/test.sh [BUILD_DIR]     (default build/debug, already built by `make build`)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
build=${1:-build/debug}
cd "$repo"
. hack/versions.env

name=${KRC_TEST_CLUSTER:-krc-test}
port_base=${KRC_TEST_PORT_BASE:-17400}
failed=()
step() { echo; echo "==== [test] $*"; }

cleanup() {
  local rc=$? left
  step "stopping test control plane '$name'"
  hack/cluster.sh down --name "$name" --purge || true
  # Nothing of the instance may outlive it: node agents, pod supervisors, pod processes.
  left=$(pgrep -af -- "${KRC_CACHE:-$HOME/.cache/kuberay-c}/clusters/$name/" || true)
  if [ -n "$left" ]; then
    echo "[test] FAILED: processes left after stopping '$name':" >&2
    echo "$left" >&2
    rc=1
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "clang-format check"
if ! clang-format --dry-run --Werror $(git ls-files '*.c' '*.h') 2>&1 | tail -20; then
  failed+=("format")
fi

step "C unit tests (ctest -L unit)"
ctest --test-dir "$build" -L unit --output-on-failure || failed+=("unit")

step "C unit tests under valgrind (build/valgrind, no sanitizers)"
hack/valgrind.sh || failed+=("valgrind")

# Node agents (kuberay-node from this build) run real pods for tests/e2e/test_node_agent.py. Their
# nodes carry a taint so that tests expecting no schedulable node hold, and a short crash back-off.
nodes=${KRC_TEST_NODES:-2}
export KRC_NODE_BINARY=${KRC_NODE_BINARY:-$repo/$build/src/node/kuberay-node}
export KRC_NODE_TAINTS=${KRC_NODE_TAINTS-kuberay-c.io/node-agent=true:NoSchedule}
export KRC_NODE_BACKOFF_BASE_MS=${KRC_NODE_BACKOFF_BASE_MS:-1000}
# Volume contents re-read every 5 s and tokens renewed at 2% of their lifetime, so the refresh
# tests of test_node_agent.py finish quickly (the kubelet's defaults: about a minute, and 80%).
export KRC_NODE_ARGS=${KRC_NODE_ARGS-"--volume-refresh-seconds 5 --token-refresh-fraction 0.02"}
step "starting test control plane '$name' (ports $port_base..$((port_base + 9)), $nodes node agents)"
hack/cluster.sh down --name "$name" --purge >/dev/null 2>&1 || true
# --no-operator: the e2e tests run their own kuberay-operator processes, one per test namespace.
if ! hack/cluster.sh up --name "$name" --port-base "$port_base" --kwok --nodes "$nodes" --no-operator; then
  failed+=("cluster-up")
  echo "[test] FAILED: could not start the control plane; skipping the tests that need it" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
eval "$(hack/cluster.sh env --name "$name")"
export KRC_TEST_CLUSTER_NAME=$name

step "C integration tests (ctest -L integration) against $KUBECONFIG"
ctest --test-dir "$build" -L integration --output-on-failure || failed+=("integration")

step "pytest tests/integration tests/e2e"
venv=$(hack/venv.sh 2>/dev/null | tail -1)
KRC_BUILD_DIR="$repo/$build" "$venv/bin/python" -m pytest -v -p no:cacheprovider tests/integration tests/e2e
rc=$?
# 5 = no tests collected: not a failure of the suite while e2e is still empty.
if [ $rc -ne 0 ] && [ $rc -ne 5 ]; then failed+=("pytest"); fi

echo
if [ ${#failed[@]} -ne 0 ]; then
  echo "[test] FAILED steps: ${failed[*]}"
  exit 1
fi
echo "[test] all steps passed"

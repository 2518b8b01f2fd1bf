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
  step "stopping test control plane '$name'"
  hack/cluster.sh down --name "$name" --purge || true
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

step "starting test control plane '$name' (ports $port_base..$((port_base + 9)))"
hack/cluster.sh down --name "$name" --purge >/dev/null 2>&1 || true
if ! hack/cluster.sh up --name "$name" --port-base "$port_base" --kwok; then
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

#!/usr/bin/env bash
# Runs every C unit test under valgrind (memcheck: invalid accesses, uninitialised reads, definite
# and indirect leaks) in a Debug build without sanitizers (valgrind and ASan do not mix).
# Usage: hack/valgrind.sh [BUILD_DIR]   (default build/valgrind; configured and built here)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
build=${1:-$repo/build/valgrind}
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DKRC_SANITIZE=OFF >/dev/null &&
  cmake --build "$build" >/dev/null || { echo "[valgrind] FAILED: build of $build" >&2; exit 1; }
passed=0
failed=0
for t in "$build"/tests/unit/test_*; do
  [ -x "$t" ] || continue
  log="$build/valgrind-$(basename "$t").log"
  if KRC_TESTDATA="$repo/tests/data" valgrind -q --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect "$t" >"$log" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "[valgrind] FAILED: $(basename "$t") (log: $log)"
    grep -E '^==[0-9]+==' "$log" | head -20
  fi
done
echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

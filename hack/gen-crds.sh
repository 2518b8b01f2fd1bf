#!/usr/bin/env bash
# Writes config/crd/bases/ray.io_rayclusters.yaml from the field table in src/api/crd_schema.c,
# or with --check fails (exit 1) when the committed file differs from what the table renders.
# Run it after editing the table; the unit test test_crd_schema makes the same check.
# Usage: hack/gen-crds.sh [--check]
# Uses krc-gen-crds from build/debug, else build/release (KRC_BUILD_DIR picks another), brought
# up to date with `cmake --build`; configures build/debug as `make build` does if neither exists.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
out="$repo/config/crd/bases/ray.io_rayclusters.yaml"

mode=--out
case "${1:-}" in
  "") ;;
  --check) mode=--check ;;
  -h | --help) echo "usage: hack/gen-crds.sh [--check]"; exit 0 ;;
  *) echo "usage: hack/gen-crds.sh [--check]" >&2; exit 2 ;;
esac
[ $# -le 1 ] || { echo "usage: hack/gen-crds.sh [--check]" >&2; exit 2; }

build=${KRC_BUILD_DIR:-}
if [ -z "$build" ]; then
  for d in "$repo/build/debug" "$repo/build/release"; do
    if [ -f "$d/CMakeCache.txt" ]; then
      build=$d
      break
    fi
  done
fi
if [ -z "$build" ]; then
  build=$repo/build/debug
  echo "[gen-crds] configuring $build (Debug, ASan+UBSan)" >&2
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DKRC_SANITIZE=ON >/dev/null
fi
# Only this target: the generator must not wait on (or fail with) unrelated code.
cmake --build "$build" --target krc-gen-crds >/dev/null ||
  { echo "[gen-crds] FAILED: build of krc-gen-crds in $build" >&2; exit 1; }
exec "$build/src/api/krc-gen-crds" "$mode" "$out"

#!/usr/bin/env bash
# Writes config/crd/bases/ray.io_{rayclusters,rayjobs,raycronjobs}.yaml from the field tables in
# src/api/crd_schema.c, or with --check fails (exit 1) when a committed file differs from what the
# tables render.
# Run it after editing the table; the unit test test_crd_schema makes the same check.
#
# Two renderings of the embedded Kubernetes types (pod templates, Service, EnvVar, ...):
#   opaque    objects with x-kubernetes-preserve-unknown-fields (small files, nothing checked)
#   expanded  their full schemas from the pinned Kubernetes' OpenAPI v3 documents, as KubeRay's
#             controller-gen CRDs have them (the API server prunes, defaults and type-checks pod
#             templates); read from the k8s.io/kubernetes@$K8S_VERSION module that
#             hack/toolchain.sh downloads (KRC_K8S_OPENAPI_DIR overrides the directory).
# The committed files say which one they are (header comment); --expanded / --opaque switch, and
# without either the current rendering is kept. Expanded CRDs must be applied server-side
# (kubectl apply --server-side): they exceed the client-side last-applied annotation limit.
#
# Usage: hack/gen-crds.sh [--check] [--expanded | --opaque]
# Uses krc-gen-crds from build/debug, else build/release (KRC_BUILD_DIR picks another), brought
# up to date with `cmake --build`; configures build/debug as `make build` does if neither exists.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/versions.env"
usage="usage: hack/gen-crds.sh [--check] [--expanded | --opaque]"
marker="and the Kubernetes OpenAPI"

mode=--out
form=
for arg in "$@"; do
  case "$arg" in
    --check) mode=--check ;;
    --expanded) form=expanded ;;
    --opaque) form=opaque ;;
    -h | --help) echo "$usage"; exit 0 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
if [ -z "$form" ]; then
  form=opaque
  head -n 1 "$repo/config/crd/bases/ray.io_rayclusters.yaml" 2>/dev/null | grep -q "$marker" &&
    form=expanded
fi

k8s_args=()
if [ "$form" = expanded ]; then
  dir=${KRC_K8S_OPENAPI_DIR:-}
  if [ -z "$dir" ]; then
    modcache=$(go env GOMODCACHE 2>/dev/null || true)
    dir=${modcache:-$HOME/go/pkg/mod}/k8s.io/kubernetes@$K8S_VERSION/api/openapi-spec/v3
  fi
  [ -f "$dir/api__v1_openapi.json" ] || {
    echo "[gen-crds] FAILED: no Kubernetes OpenAPI in $dir (run hack/toolchain.sh, or set KRC_K8S_OPENAPI_DIR)" >&2
    exit 1
  }
  k8s_args=(--k8s-openapi "$dir")
fi

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
exec "$build/src/api/krc-gen-crds" "${k8s_args[@]}" "$mode" "$repo"

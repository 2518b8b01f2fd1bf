#!/usr/bin/env bash
# Writes config/crd/bases/ray.io_{rayclusters,rayjobs,raycronjobs}.yaml from the field tables in
# src/api/crd_schema.c, or with --check fails (exit 1) when a committed file differs from what the
# tables render.
# Run it after editing the table; the unit test test_crd_schema makes the same check.
#
# The embedded Kubernetes types (pod templates, Service, EnvVar, ...) get their full schemas from
# the pinned Kubernetes' OpenAPI v3 documents, as KubeRay's controller-gen CRDs have them (the API
# server prunes unknown fields, defaults and type-checks pod templates); they are read from the
# k8s.io/kubernetes@$K8S_VERSION module that hack/toolchain.sh downloads (KRC_K8S_OPENAPI_DIR
# overrides the directory). That is what is committed. --opaque renders them instead as objects
# with x-kubernetes-preserve-unknown-fields (small files, nothing checked: for comparisons only,
# --check then fails against the committed files). The full CRDs (0.7-1.4 MB, as KubeRay's) must
# be installed with `kubectl create` or `kubectl apply --server-side`: client-side apply stores
# the whole object in the last-applied annotation, which the API server limits to 256 KiB.
#
# Usage: hack/gen-crds.sh [--check] [--expanded | --opaque] [--root DIR]
#   --root DIR   write (or check) DIR/config/crd/bases/ (which must exist) instead of the
#                repository's, e.g. for an --opaque rendering to compare with
# Uses krc-gen-crds from build/debug, else build/release (KRC_BUILD_DIR picks another), brought
# up to date with `cmake --build`; configures build/debug as `make build` does if neither exists.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/versions.env"
usage="usage: hack/gen-crds.sh [--check] [--expanded | --opaque] [--root DIR]"

mode=--out
form=
root=$repo
while [ $# -gt 0 ]; do
  case "$1" in
    --check) mode=--check ;;
    --expanded) form=expanded ;; # the default; kept for old command lines
    --opaque) form=opaque ;;
    --root) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; root=$(cd "$2" && pwd); shift ;;
    -h | --help) echo "$usage"; exit 0 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$form" ] || form=expanded

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
exec "$build/src/api/krc-gen-crds" "${k8s_args[@]}" "$mode" "$root"

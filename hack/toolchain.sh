#!/usr/bin/env bash
# Builds (once) the pinned upstream test substrate into the cache outside the repo:
#   $KRC_CACHE/k8s-$K8S_VERSION/bin/   kube-apiserver kube-controller-manager kube-scheduler kubectl etcd
#   $KRC_CACHE/kwok-$KWOK_VERSION/bin/ kwok
# from the Go modules pinned in hack/tools/*/go.mod (versions recorded in hack/versions.env).
# A cold build compiles Kubernetes from source: ~10 minutes on 2 cores; afterwards a stamp file
# makes this a no-op that takes milliseconds.
# Usage: hack/toolchain.sh [k8s|kwok|all]   (default all)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.env"
cache=${KRC_CACHE:-$HOME/.cache/kuberay-c}
what=${1:-all}

log() { echo "[toolchain] $*" >&2; }
die() { echo "[toolchain] FAILED: $*" >&2; exit 1; }

command -v go >/dev/null || die "no 'go' on PATH (needed only to build the pinned Kubernetes components)"
export GOFLAGS="${GOFLAGS:-} -trimpath"

build_k8s() {
  local out="$cache/k8s-$K8S_VERSION/bin"
  local stamp="$out/.complete"
  if [ -f "$stamp" ]; then
    log "kubernetes $K8S_VERSION + etcd $ETCD_VERSION: cached in $out"
    return 0
  fi
  mkdir -p "$out"
  log "building kubernetes $K8S_VERSION (apiserver, controller-manager, scheduler, kubectl) and etcd $ETCD_VERSION"
  log "  from hack/tools/k8s/go.mod into $out (cold: ~10 min on 2 cores; log: $out/../build.log)"
  local start=$SECONDS
  # Stamp the version into the binaries the way upstream's release build does, so that /version,
  # kubectl and version-skew checks see the real release instead of v0.0.0-master.
  local minor=${K8S_VERSION#v1.}
  minor=${minor%%.*}
  local vflags="" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    vflags="$vflags -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    vflags="$vflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  (cd "$here/tools/k8s" &&
    go build -ldflags "$vflags" -o "$out/" \
      k8s.io/kubernetes/cmd/kube-apiserver \
      k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler \
      k8s.io/kubernetes/cmd/kubectl &&
    go build -o "$out/etcd" go.etcd.io/etcd/server/v3) >"$out/../build.log" 2>&1 ||
    { tail -20 "$out/../build.log" >&2; die "go build of the control plane (see $out/../build.log)"; }
  for b in kube-apiserver kube-controller-manager kube-scheduler kubectl etcd; do
    [ -x "$out/$b" ] || die "$b missing after build"
  done
  "$out/kube-apiserver" --version | grep -q "$K8S_VERSION" || die "kube-apiserver does not report $K8S_VERSION"
  touch "$stamp"
  log "kubernetes built in $((SECONDS - start)) s"
}

build_kwok() {
  local out="$cache/kwok-$KWOK_VERSION/bin"
  local stamp="$out/.complete"
  if [ -f "$stamp" ]; then
    log "kwok $KWOK_VERSION: cached in $out"
    return 0
  fi
  mkdir -p "$out"
  log "building kwok $KWOK_VERSION from hack/tools/kwok/go.mod into $out"
  local start=$SECONDS
  (cd "$here/tools/kwok" && go build -o "$out/kwok" sigs.k8s.io/kwok/cmd/kwok) >"$out/../build.log" 2>&1 ||
    { tail -20 "$out/../build.log" >&2; die "go build of kwok (see $out/../build.log)"; }
  touch "$stamp"
  log "kwok built in $((SECONDS - start)) s"
}

case "$what" in
  k8s) build_k8s ;;
  kwok) build_kwok ;;
  all) build_k8s; build_kwok ;;
  *) die "usage: $0 [k8s|kwok|all]" ;;
esac

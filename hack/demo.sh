#!/usr/bin/env bash
# The main job (what `make demo` runs once everything is built): start the local control plane
# and exercise it. Idempotent: a second run reuses the running instance.
# While the operator does not exist yet, the job is: create a namespace and a ConfigMap with
# kubectl, read them back, and print the API server's verbose readiness.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
name=${KRC_CLUSTER_NAME:-default}
step() { echo "[demo] $*"; }

step "starting the local control plane '$name'"
hack/cluster.sh up --name "$name" || { echo "[demo] FAILED: control plane did not start" >&2; exit 1; }
eval "$(hack/cluster.sh env --name "$name")"

step "creating namespace 'demo' and ConfigMap 'demo/hello'"
kubectl create namespace demo --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl -n demo create configmap hello --from-literal=greeting="hello from kuberay-c" \
  --dry-run=client -o yaml | kubectl apply -f - >/dev/null
step "read back: $(kubectl -n demo get configmap hello -o jsonpath='{.data.greeting}')"

step "kubectl get --raw '/readyz?verbose':"
kubectl get --raw '/readyz?verbose'
echo
step "done. The control plane keeps running; use it with:"
echo "    eval \"\$(hack/cluster.sh env --name $name)\"; kubectl get ns"
echo "  and stop it with: hack/cluster.sh down --name $name"

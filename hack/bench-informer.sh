#!/usr/bin/env bash
# make bench-informer: the informer's memory and speed over many pods (issue: Kubernetes client).
# Starts a private control plane with kwok ("krc-bench"), creates kwok nodes and N pods bound to
# them (spec.nodeName set, so the scheduler is not what is measured), waits until kwok has marked
# them Running, then runs bench/informer_bench from the Release build, which prints
#   informer: pods=N rss_kb=N baseline_rss_kb=N cache_bytes_per_pod=N list_objects_per_s=N
# and reports the CPU seconds the informer process used. Then it measures watch-event handling:
# informer_bench --churn starts a generator that patches pods BENCH_CHURN times (default 3000) and
# prints a line before the last one:
#   informer-watch: events=N events_per_s=N cpu_seconds=S events_per_cpu_s=N list_cpu_seconds=S
# The instance is removed at the end.
# Usage: hack/bench-informer.sh [PODS]   (default 40000; BENCH_KEEP=1 keeps the cluster;
#        KRC_BENCH_NAME / KRC_BENCH_PORT_BASE pick the instance (krc-bench, 17600);
#        KRC_BENCH_BUILD_DIR picks the Release build (build/release), KRC_BENCH_BINARY the program;
#        BENCH_CHURN=0 skips the watch measurement)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
pods=${1:-40000}
churn=${BENCH_CHURN:-3000}
name=${KRC_BENCH_NAME:-krc-bench}
port_base=${KRC_BENCH_PORT_BASE:-17600}
pods_per_node=1000
chunk=500
parallel=4
bench=${KRC_BENCH_BINARY:-${KRC_BENCH_BUILD_DIR:-build/release}/bench/informer_bench}
log() { echo "[bench-informer] $*" >&2; }

[ -x "$bench" ] || { log "FAILED: $bench not built (make release)"; exit 1; }
cleanup() { [ "${BENCH_KEEP:-0}" = 1 ] || hack/cluster.sh down --name "$name" --purge >/dev/null 2>&1 || true; }
trap cleanup EXIT
hack/cluster.sh down --name "$name" --purge >/dev/null 2>&1 || true
hack/cluster.sh up --name "$name" --port-base "$port_base" --kwok >&2
eval "$(hack/cluster.sh env --name "$name")"

nodes=$(((pods + pods_per_node - 1) / pods_per_node))
log "creating $nodes kwok nodes and $pods pods in namespace bench"
kubectl create namespace bench >/dev/null
for ((i = 0; i < nodes; i++)); do
  cat <<YAML
apiVersion: v1
kind: Node
metadata:
  name: kwok-bench-$i
  annotations: {kwok.x-k8s.io/node: fake}
  labels: {type: kwok, kubernetes.io/hostname: kwok-bench-$i}
spec:
  taints: [{key: kwok.x-k8s.io/node, value: fake, effect: NoSchedule}]
---
YAML
done | kubectl create -f - >/dev/null

# One YAML List of $chunk pods per kubectl call, $parallel calls at a time. The pods look like a
# Ray worker's: KubeRay's labels, an annotation, resources, a /dev/shm volume.
make_chunk() {
  local start=$1 end=$2 i
  echo "apiVersion: v1"
  echo "kind: List"
  echo "items:"
  for ((i = start; i < end; i++)); do
    cat <<YAML
- apiVersion: v1
  kind: Pod
  metadata:
    name: raycluster-$((i / 4))-worker-$i
    namespace: bench
    labels: {ray.io/cluster: raycluster-$((i / 4)), ray.io/node-type: worker, ray.io/group: workers, ray.io/is-ray-node: "yes", app.kubernetes.io/created-by: kuberay-operator, app.kubernetes.io/name: kuberay}
    annotations: {ray.io/ft-enabled: "false"}
  spec:
    nodeName: kwok-bench-$((i / pods_per_node))
    tolerations: [{key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule}]
    containers:
    - name: ray-worker
      image: rayproject/ray:2.52.0
      command: [/bin/bash, -lc, --]
      args: ["ulimit -n 65536; ray start --address=raycluster-$((i / 4))-head-svc.bench.svc.cluster.local:6379 --block"]
      resources: {limits: {cpu: "1", memory: 2Gi}, requests: {cpu: "1", memory: 2Gi}}
      volumeMounts: [{mountPath: /dev/shm, name: shared-mem}]
    volumes: [{name: shared-mem, emptyDir: {medium: Memory}}]
YAML
  done
}
export -f make_chunk
export pods_per_node
start=$SECONDS
seq 0 "$chunk" $((pods - 1)) | xargs -P "$parallel" -I{} bash -c \
  'end=$(({} + '"$chunk"')); [ $end -gt '"$pods"' ] && end='"$pods"'; make_chunk {} $end | kubectl create -f - >/dev/null'
log "created $pods pods in $((SECONDS - start)) s; waiting for kwok to mark them Running"
deadline=$((SECONDS + 900))
while :; do
  pending=$(kubectl get pods -n bench --field-selector=status.phase=Pending -o name --chunk-size=5000 | wc -l)
  [ "$pending" -eq 0 ] && break
  [ $SECONDS -lt $deadline ] || { log "FAILED: $pending pods still Pending after 15 min"; exit 1; }
  sleep 5
done
log "all pods Running after $((SECONDS - start)) s; running the informer"
out=$(mktemp)
/usr/bin/time -f "cpu_seconds=%U+%S max_rss_kb=%M" -o "$out.time" \
  "$bench" --namespace bench --expect "$pods" --page-size 500 --churn "$churn" | tee "$out"
cat "$out.time" >&2
# With the churn generator (a child process) the timer's CPU includes it: use the informer's own.
cpu=$(sed -n 's/^informer-watch:.* list_cpu_seconds=\([0-9.]*\).*/\1/p' "$out")
[ -n "$cpu" ] || cpu=$(sed -n 's/^cpu_seconds=\([0-9.]*\)+\([0-9.]*\).*/\1 \2/p' "$out.time" | awk '{printf "%.2f", $1 + $2}')
line=$(grep '^informer:' "$out")
watch=$(grep '^informer-watch:' "$out" || true)
rm -f "$out" "$out.time"
[ -z "$watch" ] || echo "$watch"
echo "$line cpu_seconds=$cpu"

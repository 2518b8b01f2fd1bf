#!/usr/bin/env bash
# make bench-node: the node agent (kuberay-node, src/node) running real pods.
# Starts a private control plane ("bench-node") with one node agent from the Release build,
# creates BENCH_NODE_PODS pods (default 50) with a trivial command in one request and measures
#   - the seconds from that request until every pod is Ready (status written by the agent),
#   - the agent's resident memory and CPU use while it idles with those pods for BENCH_IDLE_S
#     seconds (default 30): CPU from /proc/<pid>/stat (utime+stime) over the window.
# The last line is
#   node: pods=N seconds_to_all_ready=N agent_rss_kb=N idle_cpu_percent=N
# The instance is removed at the end. Usage: hack/bench-node.sh [PODS]
#   (BENCH_KEEP=1 keeps the cluster; KRC_BENCH_NAME / KRC_BENCH_PORT_BASE pick the instance
#   (bench-node, 17800); KRC_NODE_BINARY overrides KRC_BENCH_BUILD_DIR/src/node/kuberay-node,
#   KRC_BENCH_BUILD_DIR defaults to build/release)
# Also logged (stderr): the agent's and its pod supervisors' CPU ticks over the idle window, which
# do not depend on how busy the rest of the machine is.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
pods=${1:-${BENCH_NODE_PODS:-50}}
idle=${BENCH_IDLE_S:-30}
name=${KRC_BENCH_NAME:-bench-node}
port_base=${KRC_BENCH_PORT_BASE:-17800}
build_dir=${KRC_BENCH_BUILD_DIR:-$PWD/build/release}
export KRC_NODE_BINARY=${KRC_NODE_BINARY:-$build_dir/src/node/kuberay-node}
ready_timeout_s=600
log() { echo "[bench-node] $*" >&2; }

[ -x "$KRC_NODE_BINARY" ] || { log "FAILED: $KRC_NODE_BINARY not built (make release)"; exit 1; }
cleanup() { [ "${BENCH_KEEP:-0}" = 1 ] || hack/cluster.sh down --name "$name" --purge >/dev/null 2>&1 || true; }
trap cleanup EXIT
hack/cluster.sh down --name "$name" --purge >/dev/null 2>&1 || true
# No taints and no operator: nothing but the agent and the control plane works during the run.
KRC_NODE_TAINTS="" hack/cluster.sh up --name "$name" --port-base "$port_base" --nodes 1 --no-operator >&2
eval "$(hack/cluster.sh env --name "$name")"
node=krc-$name-node-1
agent=$(pgrep -f "kuberay-node agent .*--node-name $node( |\$)" | head -1 || true)
[ -n "$agent" ] || { log "FAILED: no agent process for $node"; exit 1; }
kubectl create namespace bench >/dev/null
kubectl -n bench wait --for=create serviceaccount/default --timeout=60s >/dev/null

{
  echo "apiVersion: v1"
  echo "kind: List"
  echo "items:"
  for ((i = 0; i < pods; i++)); do
    cat <<YAML
- apiVersion: v1
  kind: Pod
  metadata: {name: bench-$i, namespace: bench, labels: {app: bench}}
  spec:
    nodeName: $node
    terminationGracePeriodSeconds: 1
    containers: [{name: main, image: ignored, command: [sleep, "1000000"]}]
YAML
  done
} >"${TMPDIR:-/tmp}/bench-node-$$.yaml"

log "creating $pods pods on $node"
start=$(date +%s.%N)
kubectl create -f "${TMPDIR:-/tmp}/bench-node-$$.yaml" >/dev/null
rm -f "${TMPDIR:-/tmp}/bench-node-$$.yaml"
ready=0
while :; do
  ready=$(kubectl -n bench get pods -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True || true)
  [ "$ready" -ge "$pods" ] && break
  if awk -v s="$start" -v n="$(date +%s.%N)" -v t="$ready_timeout_s" 'BEGIN { exit !(n - s > t) }'; then
    log "FAILED: only $ready of $pods pods Ready after ${ready_timeout_s}s"
    exit 1
  fi
  sleep 0.1
done
end=$(date +%s.%N)
seconds=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }')
log "all $pods pods Ready after ${seconds}s; idling ${idle}s"

# utime + stime (fields 14 and 15 of /proc/<pid>/stat, after the parenthesised command name)
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
# The pod supervisors of this agent: `kuberay-node pod-supervisor --state-dir <its state root>/...`
state_root=$(tr '\0' '\n' <"/proc/$agent/cmdline" | awk 'p { print; exit } /^--state-dir$/ { p = 1 }')
supervisors() { pgrep -f "pod-supervisor --state-dir ${state_root:-/nonexistent}/" || true; }
sup_ticks() {
  local t=0 p
  for p in $(supervisors); do t=$((t + $(cpu_ticks "$p" 2>/dev/null || echo 0))); done
  echo "$t"
}
hz=$(getconf CLK_TCK)
t0=$(cpu_ticks "$agent")
s0=$(sup_ticks)
w0=$(date +%s.%N)
sleep "$idle"
t1=$(cpu_ticks "$agent")
s1=$(sup_ticks)
w1=$(date +%s.%N)
log "idle window $(awk -v s="$w0" -v e="$w1" 'BEGIN { printf "%.1f", e - s }')s: agent_cpu_ticks=$((t1 - t0)) supervisors=$(supervisors | wc -l) supervisor_cpu_ticks=$((s1 - s0)) (CLK_TCK=$hz)"
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$agent/status")
cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$w0" -v e="$w1" 'BEGIN { printf "%.1f", (b - a) / hz / (e - s) * 100 }')
kubectl delete namespace bench --wait=false >/dev/null
echo "node: pods=$pods seconds_to_all_ready=$seconds agent_rss_kb=$rss idle_cpu_percent=$cpu"

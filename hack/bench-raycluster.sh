#!/usr/bin/env bash
# make bench-raycluster: the RayCluster controller under load (issue 5, "Performance").
# Starts a private control plane with kwok and no node agents ("krc-bench-rc"), installs the CRDs,
# creates kwok nodes, runs the Release kuberay-operator (leader election off, every namespace,
# KubeRay's default --qps 100 --burst 200), then with bench/raycluster_bench:
#   1. creates N RayClusters (1 head + 3 workers) at once in namespace bench and waits until all
#      are `ready` (kwok marks their pods Running and Ready: config/kwok/stages.yaml); takes the
#      operator's peak RSS (VmHWM) and CPU seconds from /proc at that moment, and the API
#      server's apiserver_request_total before and after, whose write verbs (POST, PUT, PATCH,
#      DELETE, DELETECOLLECTION, APPLY) by resource are printed on stderr;
#   2. head-of-line: in namespace bench-hol, one RayCluster scales from 0 to 500 workers; once 20
#      of those exist, 5 RayClusters are created one after another while it goes on, and
#      hol_delay_ms is the longest any of them waited for its head pod (create call to the pod's
#      ADDED watch event).
# The last line of stdout is
#   raycluster: clusters=N pods=N seconds_to_all_ready=N peak_rss_kb=N cpu_seconds=N writes_per_cluster=N hol_delay_ms=N
# writes_per_cluster counts the writes the operator makes (pods, services, RayCluster status,
# events.k8s.io Events, autoscaler RBAC, jobs) over phase 1, divided by N; writes of other
# components (kwok's pod status, node heartbeats, the controller-manager's EndpointSlices, the
# bench's own RayCluster creates) are in the stderr breakdown but not in the number. stderr also
# has the API server's mean time per pod create, which bounds both phases (the operator creates
# serially), and the operator's memory after phase 2.
# Pods are pinned to kwok nodes by spec.nodeName (the scheduler's 50 QPS is not what is measured);
# BENCH_SCHEDULER=1 lets kube-scheduler place them instead (its "Scheduled" Events then count
# as the operator's: both write events.k8s.io).
#
# Usage: hack/bench-raycluster.sh [CLUSTERS]   (default 1000; also BENCH_CLUSTERS)
# Environment: BENCH_WORKERS (3), BENCH_HOL_WORKERS (500), BENCH_KEEP=1 (keep the instance),
# BENCH_TIMEOUT_S (1800: each phase fails after it),
# KRC_BENCH_PORT_BASE (17700), KRC_BENCH_NAME (krc-bench-rc: the instance's name, so that two runs
# can share a machine), KRC_BENCH_BUILD (build/release: the operator and the bench driver),
# KRC_BENCH_OPERATOR_ARGS (extra operator flags, e.g. --reconcile-concurrency=4).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
clusters=${1:-${BENCH_CLUSTERS:-1000}}
workers=${BENCH_WORKERS:-3}
hol_workers=${BENCH_HOL_WORKERS:-500}
hol_probes=5
name=${KRC_BENCH_NAME:-krc-bench-rc}
port_base=${KRC_BENCH_PORT_BASE:-17700}
build=${KRC_BENCH_BUILD:-build/release}
bench=$build/bench/raycluster_bench
operator=$build/src/controller/kuberay-operator
pods_per_node=500
timeout_s=${BENCH_TIMEOUT_S:-1800}
ns=bench
hol_ns=bench-hol
WRITE_VERBS="POST PUT PATCH DELETE DELETECOLLECTION APPLY"
log() { echo "[bench-raycluster] $*" >&2; }
die() { log "FAILED: $*"; exit 1; }

[[ "$clusters" =~ ^[1-9][0-9]*$ ]] || die "bad cluster count '$clusters'"
[ -x "$bench" ] || die "$bench not built (make release)"
[ -x "$operator" ] || die "$operator not built (make release)"

op_pid=""
state=""
before=""
after=""
# SIGTERM, then SIGKILL after OPERATOR_STOP_S: a graceful stop that takes longer is reported.
OPERATOR_STOP_S=10
stop_operator() {
  local t0=$SECONDS
  kill -TERM "$op_pid" 2>/dev/null || true
  while kill -0 "$op_pid" 2>/dev/null && [ $((SECONDS - t0)) -lt $OPERATOR_STOP_S ]; do sleep 0.2; done
  if kill -0 "$op_pid" 2>/dev/null; then
    log "the operator did not exit within ${OPERATOR_STOP_S} s of SIGTERM: killed"
    kill -KILL "$op_pid" 2>/dev/null || true
  else
    log "the operator exited $((SECONDS - t0)) s after SIGTERM"
  fi
  wait "$op_pid" 2>/dev/null || true
  op_pid=""
}
cleanup() {
  local rc=$?
  if [ -n "$op_pid" ] && kill -0 "$op_pid" 2>/dev/null; then
    stop_operator
  fi
  if [ $rc -ne 0 ] && [ -n "$state" ] && [ -f "$state/logs/bench-operator.log" ]; then
    log "last lines of the operator's log:"
    tail -5 "$state/logs/bench-operator.log" >&2 || true
  fi
  rm -f "$before" "$after"
  [ "${BENCH_KEEP:-0}" = 1 ] || hack/cluster.sh down --name "$name" --purge >/dev/null 2>&1 || true
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# This script runs the operator itself (flags it controls, its PID to measure): no other one.
up_args=(--name "$name" --port-base "$port_base" --kwok --nodes 0)
grep -q -- '--no-operator' hack/cluster.sh && up_args+=(--no-operator)
hack/cluster.sh down --name "$name" --purge >/dev/null 2>&1 || true
hack/cluster.sh up "${up_args[@]}" >&2
eval "$(hack/cluster.sh env --name "$name")"
state=$KRC_NODE_STATE_ROOT

kubectl apply --server-side --force-conflicts -f config/crd/bases/ray.io_rayclusters.yaml >/dev/null
until [ "$(kubectl get crd rayclusters.ray.io -o jsonpath='{.status.conditions[?(@.type=="Established")].status}' 2>/dev/null)" = True ]; do sleep 0.5; done

pods_total=$((clusters * (1 + workers) + hol_workers + 1 + hol_probes))
nodes=$(((pods_total + pods_per_node - 1) / pods_per_node))
log "creating $nodes kwok nodes, namespaces $ns and $hol_ns"
for ((i = 0; i < nodes; i++)); do
  cat <<YAML
apiVersion: v1
kind: Node
metadata:
  name: kwok-rc-$i
  annotations: {kwok.x-k8s.io/node: fake}
  labels: {type: kwok, kubernetes.io/hostname: kwok-rc-$i}
spec:
  taints: [{key: kwok.x-k8s.io/node, value: fake, effect: NoSchedule}]
---
YAML
done | kubectl create -f - >/dev/null
kubectl create namespace "$ns" >/dev/null
kubectl create namespace "$hol_ns" >/dev/null
kubectl wait --for=condition=Ready --timeout=60s node -l type=kwok >/dev/null
# Pods are admitted only once their namespace has its default ServiceAccount.
for n in "$ns" "$hol_ns"; do
  for ((i = 0; i < 100; i++)); do
    kubectl -n "$n" get serviceaccount default >/dev/null 2>&1 && break
    sleep 0.2
  done
done

probe_port=$((port_base + 7))
log "starting $operator"
# shellcheck disable=SC2086 # KRC_BENCH_OPERATOR_ARGS is a list of flags
"$operator" --kubeconfig "$KUBECONFIG" --metrics-addr "127.0.0.1:$((port_base + 6))" \
  --health-probe-bind-address "127.0.0.1:$probe_port" --enable-leader-election=false \
  --log-stdout-encoder=console ${KRC_BENCH_OPERATOR_ARGS:-} >"$state/logs/bench-operator.log" 2>&1 &
op_pid=$!
for ((i = 0; i < 150; i++)); do
  curl -sf "http://127.0.0.1:$probe_port/readyz" 2>/dev/null | grep -qx ok && break
  kill -0 "$op_pid" 2>/dev/null || die "the operator exited (log: $state/logs/bench-operator.log)"
  sleep 0.2
done
curl -sf "http://127.0.0.1:$probe_port/readyz" | grep -qx ok || die "operator not ready after 30 s"

# apiserver_request_total, write verbs only, as "verb group resource subresource code count".
request_counts() {
  kubectl get --raw /metrics | awk -v verbs="$WRITE_VERBS" '
    BEGIN { n = split(verbs, v, " "); for (i = 1; i <= n; i++) w[v[i]] = 1 }
    /^apiserver_request_total\{/ {
      split("", l)
      s = substr($0, index($0, "{") + 1); s = substr(s, 1, index(s, "}") - 1)
      m = split(s, kv, ",")
      for (i = 1; i <= m; i++) { p = index(kv[i], "="); val = substr(kv[i], p + 2); l[substr(kv[i], 1, p - 1)] = substr(val, 1, length(val) - 1) }
      if (!(l["verb"] in w)) next
      key = l["verb"] " " (l["group"] == "" ? "core" : l["group"]) " " l["resource"] " " (l["subresource"] == "" ? "-" : l["subresource"]) " " l["code"]
      c[key] += $NF
    }
    END { for (k in c) print k, c[k] }'
}

# The API server's own time for pod creates (sum and count of apiserver_request_duration_seconds):
# what the operator's serial creates cost, which bounds both phases.
pod_create_stats() {
  kubectl get --raw /metrics | awk '/^apiserver_request_duration_seconds_(sum|count)\{/ &&
    /resource="pods"/ && /subresource=""/ && /verb="POST"/ { if ($0 ~ /_sum\{/) s += $NF; else c += $NF }
    END { print s + 0, c + 0 }'
}
mean_ms() { # "SUM0 COUNT0" "SUM1 COUNT1"
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); n = y[2] - x[2]
    printf "%.0f", (n > 0 ? (y[1] - x[1]) / n * 1000 : 0) }'
}

placement=(--node-prefix kwok-rc- --nodes "$nodes")
[ "${BENCH_SCHEDULER:-0}" = 1 ] && placement=(--node-prefix "")
before=$(mktemp)
after=$(mktemp)
request_counts >"$before"
pc0=$(pod_create_stats)
log "phase 1: $clusters RayClusters with 1 head + $workers workers"
create_line=$("$bench" create --namespace "$ns" --clusters "$clusters" --workers "$workers" \
  --operator-pid "$op_pid" --timeout-s "$timeout_s" "${placement[@]}") || die "phase 1 failed"
request_counts >"$after"
pc1=$(pod_create_stats)
echo "$create_line" >&2

# The operator's writes: what it creates, updates or deletes for RayClusters. The bench's own
# RayCluster POSTs, kwok's pods/status, node and lease heartbeats and EndpointSlices are others'.
# Prints "verb group resource subresource code count counted-as" for the delta from $1 to $2.
write_breakdown() {
  awk '
  NR == FNR { b[$1 " " $2 " " $3 " " $4 " " $5] = $6; next }
  { k = $1 " " $2 " " $3 " " $4 " " $5; d = $6 - b[k]; if (d <= 0) next
    who = "other"
    if (($3 == "pods" && $4 == "-") || $3 == "services" || ($3 == "events" && $2 == "events.k8s.io") ||
        ($3 == "serviceaccounts" && $4 == "-") || $3 == "roles" || $3 == "rolebindings" || $3 == "jobs" ||
        ($3 == "rayclusters" && !($1 == "POST" && $4 == "-")))
      who = "operator"
    printf "%s %s %s %s %s %d %s\n", $1, $2, $3, $4, $5, d, who }' "$1" "$2" | sort -k7,7r -k6,6nr
}
breakdown=$(write_breakdown "$before" "$after")
{
  echo "API write requests during phase 1 (verb group resource subresource code count counted-as):"
  echo "$breakdown" | awk '{ printf "  %-7s %-20s %-16s %-12s %s %7d  %s\n", $1, $2, $3, $4, $5, $6, $7 }'
} >&2
op_writes=$(echo "$breakdown" | awk '$7 == "operator" { s += $6 } END { print s + 0 }')
op_events=$(echo "$breakdown" | awk '$7 == "operator" && $3 == "events" { s += $6 } END { print s + 0 }')
wpc=$(awk -v w="$op_writes" -v n="$clusters" 'BEGIN { printf "%.1f", w / n }')
wpc_no_events=$(awk -v w="$op_writes" -v e="$op_events" -v n="$clusters" 'BEGIN { printf "%.1f", (w - e) / n }')
log "operator writes: $op_writes ($wpc per cluster; $wpc_no_events without events)"
log "pod create (POST pods) in the API server: $(mean_ms "$pc0" "$pc1") ms on average"

log "phase 2: head-of-line, a RayCluster scaling 0 -> $hol_workers workers"
mv "$after" "$before"
hol_line=$("$bench" hol --namespace "$hol_ns" --big-workers "$hol_workers" --start-after 20 \
  --probes "$hol_probes" \
  --timeout-s "$timeout_s" "${placement[@]}") || die "phase 2 failed"
echo "$hol_line" >&2
request_counts >"$after"
{
  echo "API write requests by the operator during phase 2 (verb group resource subresource code count):"
  write_breakdown "$before" "$after" | awk '$7 == "operator" { printf "  %-7s %-20s %-16s %-12s %s %7d\n", $1, $2, $3, $4, $5, $6 }'
} >&2
log "pod create (POST pods) in the API server during phase 2: $(mean_ms "$pc1" "$(pod_create_stats)") ms on average"

kill -0 "$op_pid" 2>/dev/null || die "the operator died during the run"
log "operator after phase 2: $(grep -E '^(VmHWM|VmRSS|RssAnon|RssFile):' "/proc/$op_pid/status" | tr -s ' \t\n' ' ')"
if grep -Eq 'Sanitizer|runtime error' "$state/logs/bench-operator.log"; then
  die "sanitizer report in the operator's log"
fi
stop_operator
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }
echo "raycluster: clusters=$(field "$create_line" clusters) pods=$(field "$create_line" pods)" \
  "seconds_to_all_ready=$(field "$create_line" seconds_to_all_ready)" \
  "peak_rss_kb=$(field "$create_line" peak_rss_kb) cpu_seconds=$(field "$create_line" cpu_seconds)" \
  "writes_per_cluster=$wpc hol_delay_ms=$(field "$hol_line" hol_delay_ms)"

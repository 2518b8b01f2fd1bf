#!/usr/bin/env bash
# The main job (what `make demo` runs once everything is built): a RayCluster and a batch job on
# it, the way KubeRay users run them.
#   1. start the local control plane with two node agents and kuberay-operator (hack/cluster.sh up;
#      it installs the CRDs and RBAC and runs the operator; if it did not, this script does);
#   2. apply config/samples/ray-cluster.sample.yaml (a RayCluster, 1 head + 1 worker, and the
#      ConfigMap with a small Ray program: ten tasks on the worker computing a sum of squares),
#      wait for `state: ready` and until `ray status`, run in the head pod with `kubectl exec`,
#      shows every node alive; print it;
#   3. apply config/samples/ray-job.use-existing-raycluster.yaml (a RayJob that selects that
#      cluster with clusterSelector), wait for SUCCEEDED, print the job's output (the submitter's
#      log) and how long each phase took;
#   4. delete the RayJob and the RayCluster (also when a step fails, unless KRC_DEMO_KEEP=1). The
#      control plane keeps running.
# Idempotent: a second run reuses the running instance and starts afresh.
# Knobs: KRC_CLUSTER_NAME (instance, default "default"), KRC_DEMO_PORT_BASE (its port base when
# it is started, see hack/cluster.sh), KRC_DEMO_NAMESPACE (default "demo"), KRC_DEMO_TIMEOUT_S
# (each wait, default 900), KRC_DEMO_KEEP=1 (leave the RayCluster and RayJob).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
name=${KRC_CLUSTER_NAME:-default}
ns=${KRC_DEMO_NAMESPACE:-demo}
samples=config/samples
cluster_yaml=$samples/ray-cluster.sample.yaml
job_yaml=$samples/ray-job.use-existing-raycluster.yaml
cluster=raycluster-kuberay       # metadata.name in $cluster_yaml
job=rayjob-use-existing-raycluster # metadata.name in $job_yaml
workers=1                          # the worker group's replicas in $cluster_yaml
keep=${KRC_DEMO_KEEP:-0}
port_base=${KRC_DEMO_PORT_BASE:-}
timeout_s=${KRC_DEMO_TIMEOUT_S:-900}
ray_status_timeout_s=120 # one `kubectl exec ... ray status` (a Python start on a busy box)
step() { echo "[demo] $*"; }
fail() {
  echo "[demo] FAILED: $*" >&2
  if [ -n "${KUBECONFIG:-}" ]; then
    kubectl -n "$ns" get rayjob,raycluster,pods,jobs -o wide 2>/dev/null >&2 || true
    kubectl -n "$ns" get raycluster "$cluster" -o jsonpath='{.status}' 2>/dev/null >&2 || true
    echo >&2
    kubectl -n "$ns" get rayjob "$job" -o jsonpath='{.status}' 2>/dev/null >&2 || true
    echo >&2
    log=$(operator_log)
    [ -f "$log" ] && { echo "[demo] last lines of $log:" >&2; tail -20 "$log" >&2; }
  fi
  exit 1
}
state_dir() { echo "${KRC_CACHE:-$HOME/.cache/kuberay-c}/clusters/$name"; }
operator_log() {
  local d; d=$(state_dir)
  if [ -f "$d/logs/operator.log" ]; then echo "$d/logs/operator.log"; else echo "$d/demo-operator.log"; fi
}

step "starting the local control plane '$name' with two node agents and kuberay-operator"
hack/cluster.sh up --name "$name" ${port_base:+--port-base "$port_base"} --nodes 2 || fail "control plane did not start (hack/cluster.sh up)"
eval "$(hack/cluster.sh env --name "$name")"

# hack/cluster.sh installs the CRDs and runs the operator; older versions of it did neither.
if ! kubectl get crd rayjobs.ray.io >/dev/null 2>&1; then
  step "installing the CRDs"
  kubectl apply --server-side -f config/crd/bases/ >/dev/null || fail "kubectl apply config/crd/bases"
fi
cluster_status=$(hack/cluster.sh status --name "$name" 2>/dev/null || true)
if ! grep -q '^operator: running' <<<"$cluster_status"; then
  bin=build/release/src/controller/kuberay-operator
  [ -x "$bin" ] || bin=build/debug/src/controller/kuberay-operator
  [ -x "$bin" ] || fail "kuberay-operator is not built (make release)"
  pidfile="$(state_dir)/demo-operator.pid"
  if ! { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }; then
    step "starting $bin (log $(operator_log))"
    nohup "$bin" --kubeconfig "$KUBECONFIG" --metrics-addr 0 --health-probe-bind-address 0 \
      --enable-leader-election=false --log-stdout-encoder console >>"$(operator_log)" 2>&1 &
    echo $! >"$pidfile"
    sleep 2
    kill -0 "$(cat "$pidfile")" 2>/dev/null || fail "kuberay-operator exited at once"
  fi
fi


# Deletes what this run created (on success after the output, on failure after the diagnostics).
created=0
cleanup() {
  local rc=$?
  if [ "$created" = 1 ] && [ "$keep" != 1 ] && [ -n "${KUBECONFIG:-}" ]; then
    [ $rc -eq 0 ] || echo "[demo] cleaning up after the failure: deleting RayJob $ns/$job and RayCluster $ns/$cluster" >&2
    kubectl -n "$ns" delete rayjob "$job" --ignore-not-found --wait=true --timeout=120s >/dev/null 2>&1 ||
      echo "[demo] could not delete RayJob $ns/$job" >&2
    kubectl -n "$ns" delete -f "$cluster_yaml" --ignore-not-found --wait=true --timeout=120s >/dev/null 2>&1 ||
      echo "[demo] could not delete RayCluster $ns/$cluster" >&2
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Seconds since $1 (a `date +%s` value).
since() { echo $(($(date +%s) - $1)); }
# Fails unless less than timeout_s passed since $1; $2 says what was awaited.
check_deadline() { [ "$(since "$1")" -lt "$timeout_s" ] || fail "$2 did not happen within ${timeout_s}s"; }

kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
if kubectl -n "$ns" get rayjob "$job" >/dev/null 2>&1 || kubectl -n "$ns" get raycluster "$cluster" >/dev/null 2>&1; then
  step "deleting the RayJob and RayCluster of an earlier run"
  kubectl -n "$ns" delete rayjob "$job" --ignore-not-found --wait=true --timeout=120s >/dev/null ||
    fail "could not delete the RayJob of an earlier run"
  kubectl -n "$ns" delete raycluster "$cluster" --ignore-not-found --wait=true --timeout=120s >/dev/null ||
    fail "could not delete the RayCluster of an earlier run"
  kubectl -n "$ns" wait --for=delete pod -l "ray.io/cluster=$cluster" --timeout=120s >/dev/null 2>&1 || true
fi

# --- 1. the RayCluster ---
step "namespace '$ns': applying $cluster_yaml (RayCluster '$cluster', head + $workers worker, and the ConfigMap with the Ray program)"
created=1
t0=$(date +%s)
kubectl -n "$ns" apply -f "$cluster_yaml" >/dev/null || fail "kubectl apply -f $cluster_yaml"

step "waiting for the RayCluster's state: ready (timeout ${timeout_s}s)"
last=""
while :; do
  check_deadline "$t0" "RayCluster $cluster reaching state ready"
  s=$(kubectl -n "$ns" get raycluster "$cluster" -o \
    jsonpath='{.status.state}|{.status.readyWorkerReplicas}|{.status.head.podIP}' 2>/dev/null || true)
  IFS='|' read -r cstate ready_workers head_ip <<<"$s"
  if [ "$s" != "$last" ]; then
    step "  +$(since "$t0")s state=${cstate:--} readyWorkerReplicas=${ready_workers:-0} head=${head_ip:--}"
    last=$s
  fi
  [ "$cstate" = ready ] && break
  sleep 1
done
t_ready=$(date +%s)

head_pod=$(kubectl -n "$ns" get pods -l "ray.io/cluster=$cluster,ray.io/node-type=head" \
  -o jsonpath='{.items[0].metadata.name}' 2>/dev/null || true)
[ -n "$head_pod" ] || fail "no head pod with labels ray.io/cluster=$cluster,ray.io/node-type=head"

# `ray status` counts the alive nodes per node type (KubeRay's ray.io/group names) under "Active:"
# and, once they idle, "Idle:", e.g. " 1 headgroup"; the workers register with the GCS a little
# after their pods are Ready.
expect_nodes=$((1 + workers))
step "waiting until 'ray status' in $head_pod shows $expect_nodes alive nodes"
status_out="" nodes=0
while :; do
  [ "$(since "$t0")" -lt "$timeout_s" ] || fail "'ray status' did not show $expect_nodes nodes" \
    "within ${timeout_s}s (it showed $nodes); its last output:"$'\n'"$status_out"
  status_out=$(timeout "$ray_status_timeout_s" \
    kubectl -n "$ns" exec "$head_pod" -c ray-head -- ray status 2>&1 || true)
  nodes=$(awk '/^Active:/ {on = 1; next} /^Pending:/ {on = 0} on && $1 ~ /^[0-9]+$/ {n += $1}
    END {print n + 0}' <<<"$status_out")
  [ "$nodes" -ge "$expect_nodes" ] && break
  sleep 2
done
t_nodes=$(date +%s)
step "ray status (kubectl -n $ns exec $head_pod -c ray-head -- ray status):"
sed 's/^/    /' <<<"$status_out"

# --- 2. the RayJob on that cluster ---
step "applying $job_yaml (RayJob '$job', clusterSelector ray.io/cluster: $cluster)"
kubectl -n "$ns" apply -f "$job_yaml" >/dev/null || fail "kubectl apply -f $job_yaml"
t_submit=$(date +%s)
t_running="" t_end="" last=""
step "waiting for the job (timeout ${timeout_s}s)"
while :; do
  check_deadline "$t_submit" "RayJob $job finishing"
  s=$(kubectl -n "$ns" get rayjob "$job" -o \
    jsonpath='{.status.jobDeploymentStatus}|{.status.jobStatus}|{.status.rayClusterName}' \
    2>/dev/null || true)
  IFS='|' read -r deploy jstatus rcname <<<"$s"
  now=$(date +%s)
  if [ "$s" != "$last" ]; then
    step "  +$((now - t_submit))s jobDeploymentStatus=${deploy:-New} jobStatus=${jstatus:--} rayClusterName=${rcname:--}"
    last=$s
  fi
  [ -z "$t_running" ] && case $jstatus in RUNNING | SUCCEEDED | FAILED | STOPPED) t_running=$now ;; esac
  case $deploy in
  Complete | Failed | ValidationFailed) t_end=$now; break ;;
  esac
  sleep 1
done
[ -n "$t_running" ] || t_running=$t_end

# The submitter's log is the driver's output (`ray job logs --follow`); Ray's own scheduler and
# warning chatter is left out here (it stays in the full log), and so are its terminal colours.
joblog=$(kubectl -n "$ns" logs "job/$job" 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' || true)
step "output of the job (kubectl -n $ns logs job/$job, Ray's scheduler messages left out):"
sed -n '/Running entrypoint for job/,$p' <<<"$joblog" |
  grep -v -e '^\s*$' -e '(raylet)' -e '(autoscaler' -e 'Warning' -e 'warnings.warn' |
  sed 's/^/    /' || true
[ "$deploy" = Complete ] && [ "$jstatus" = SUCCEEDED ] ||
  fail "the RayJob ended $deploy/$jstatus: $(kubectl -n "$ns" get rayjob "$job" -o jsonpath='{.status.message}')"
[ "$rcname" = "$cluster" ] || fail "the RayJob ran on '$rcname', not on the selected RayCluster '$cluster'"
grep -q 'sum of squares of 0..9 = 285' <<<"$joblog" || fail "the job's log does not hold the program's result"

step "phases:"
printf '    %-52s %4ss\n' "RayCluster ready (pods started, Ray up)" $((t_ready - t0)) \
  "all $expect_nodes nodes alive in ray status" $((t_nodes - t_ready)) \
  "Ray job running (submitter submitted it)" $((t_running - t_submit)) \
  "finished (SUCCEEDED, status Complete)" $((t_end - t_running)) \
  "total" $((t_end - t0))

if [ "$keep" = 1 ]; then
  step "KRC_DEMO_KEEP=1: leaving RayJob $ns/$job and RayCluster $ns/$cluster"
else
  step "cleaning up: deleting RayJob $ns/$job and RayCluster $ns/$cluster (with its pods and service)"
  t_del=$(date +%s)
  kubectl -n "$ns" delete rayjob "$job" --wait=true --timeout=120s >/dev/null || fail "delete the RayJob"
  kubectl -n "$ns" delete -f "$cluster_yaml" --wait=true --timeout=120s >/dev/null || fail "delete the RayCluster"
  kubectl -n "$ns" wait --for=delete pod -l "ray.io/cluster=$cluster" --timeout=120s >/dev/null 2>&1 ||
    fail "the RayCluster's pods were not deleted within 120s"
  created=0
  step "  deleted in $(since "$t_del")s"
fi
step "done. The control plane keeps running; use it with:"
echo "    eval \"\$(hack/cluster.sh env --name $name)\"; kubectl get rayclusters,rayjobs -A"
echo "  and stop it with: hack/cluster.sh down --name $name"

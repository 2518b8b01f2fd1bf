#!/usr/bin/env bash
# The main job (what `make demo` runs once everything is built): a batch job on Ray, the way
# KubeRay users run one.
#   1. start the local control plane with two node agents and kuberay-operator (hack/cluster.sh up;
#      it installs the CRDs and RBAC and runs the operator; if it did not, this script does);
#   2. apply a RayJob whose entrypoint is a small Ray program (ten tasks on the worker computing a
#      sum of squares) mounted from a ConfigMap, exactly as KubeRay's ray-job.sample.yaml does;
#   3. wait for SUCCEEDED, print the job's output (the submitter's log) and how long each phase took;
#   4. delete the RayJob (its RayCluster and submitter go with it). The control plane keeps running.
# Idempotent: a second run reuses the running instance and starts a fresh RayJob.
# Knobs: KRC_CLUSTER_NAME (instance, default "default"), KRC_DEMO_NAMESPACE (default "demo"),
# KRC_DEMO_TIMEOUT_S (default 900).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
name=${KRC_CLUSTER_NAME:-default}
ns=${KRC_DEMO_NAMESPACE:-demo}
job=rayjob-sample
timeout_s=${KRC_DEMO_TIMEOUT_S:-900}
step() { echo "[demo] $*"; }
fail() {
  echo "[demo] FAILED: $*" >&2
  if [ -n "${KUBECONFIG:-}" ]; then
    kubectl -n "$ns" get rayjob,raycluster,pods,jobs 2>/dev/null >&2 || true
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
hack/cluster.sh up --name "$name" --nodes 2 || fail "control plane did not start (hack/cluster.sh up)"
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

step "namespace '$ns': ConfigMap with the Ray program, RayJob '$job' (head + 1 worker, K8sJobMode)"
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
if kubectl -n "$ns" get rayjob "$job" >/dev/null 2>&1; then
  kubectl -n "$ns" delete rayjob "$job" --wait=true --timeout=120s >/dev/null ||
    fail "could not delete the RayJob of an earlier run"
fi
kubectl -n "$ns" apply -f - >/dev/null <<'EOF' || fail "kubectl apply of the RayJob"
apiVersion: v1
kind: ConfigMap
metadata:
  name: ray-job-code-sample
data:
  sample_code.py: |
    import socket
    import ray

    ray.init()

    @ray.remote(num_cpus=1)
    def square(x):
        return x * x, socket.gethostname()

    results = ray.get([square.remote(i) for i in range(10)])
    print("sum of squares of 0..9 =", sum(r[0] for r in results))
    print("tasks ran on:", ", ".join(sorted({r[1] for r in results})))
---
apiVersion: ray.io/v1
kind: RayJob
metadata:
  name: rayjob-sample
spec:
  entrypoint: python /home/ray/samples/sample_code.py
  shutdownAfterJobFinishes: true
  ttlSecondsAfterFinished: 60
  rayClusterSpec:
    rayVersion: "2.52.0"
    headGroupSpec:
      rayStartParams:
        num-cpus: "0"            # tasks go to the worker
      template:
        spec:
          containers:
          - name: ray-head
            image: rayproject/ray:2.52.0
            env:
            - {name: RAY_USAGE_STATS_ENABLED, value: "0"}
            # the dashboard's modules may take more than Ray's default 30 s on a busy 2-core box
            - {name: RAY_DASHBOARD_SUBPROCESS_MODULE_WAIT_READY_TIMEOUT, value: "600"}
            resources:
              limits: {cpu: "1", memory: 2Gi}
            volumeMounts:
            - {name: code-sample, mountPath: /home/ray/samples}
          volumes:
          - name: code-sample
            configMap:
              name: ray-job-code-sample
              items: [{key: sample_code.py, path: sample_code.py}]
    workerGroupSpecs:
    - groupName: small-group
      replicas: 1
      minReplicas: 1
      maxReplicas: 1
      rayStartParams: {}
      template:
        spec:
          containers:
          - name: ray-worker
            image: rayproject/ray:2.52.0
            env: [{name: RAY_USAGE_STATS_ENABLED, value: "0"}]
            resources:
              limits: {cpu: "1", memory: 1Gi}
EOF

start=$(date +%s)
t_ready="" t_running="" t_end="" last=""
step "waiting for the job (timeout ${timeout_s}s)"
while :; do
  now=$(date +%s)
  [ $((now - start)) -lt "$timeout_s" ] || fail "the RayJob did not finish within ${timeout_s}s"
  s=$(kubectl -n "$ns" get rayjob "$job" -o \
    jsonpath='{.status.jobDeploymentStatus}|{.status.jobStatus}|{.status.rayClusterStatus.state}' \
    2>/dev/null || true)
  IFS='|' read -r deploy jstatus cstate <<<"$s"
  if [ "$s" != "$last" ]; then
    step "  +$((now - start))s jobDeploymentStatus=${deploy:-New} jobStatus=${jstatus:--} cluster=${cstate:--}"
    last=$s
  fi
  [ -z "$t_ready" ] && { [ "$cstate" = ready ] || [ "$deploy" = Running ]; } && t_ready=$now
  [ -z "$t_running" ] && case $jstatus in RUNNING | SUCCEEDED | FAILED | STOPPED) t_running=$now ;; esac
  case $deploy in
  Complete | Failed | ValidationFailed) t_end=$now; break ;;
  esac
  sleep 1
done
[ -n "$t_ready" ] || t_ready=$t_end
[ -n "$t_running" ] || t_running=$t_end

# The submitter's log is the driver's output (`ray job logs --follow`); Ray's own scheduler and
# warning chatter is left out here (it stays in the full log).
joblog=$(kubectl -n "$ns" logs "job/$job" 2>/dev/null || true)
step "output of the job (kubectl -n $ns logs job/$job, Ray's scheduler messages left out):"
sed -n '/Running entrypoint for job/,$p' <<<"$joblog" |
  grep -v -e '^\s*$' -e '(raylet)' -e '(autoscaler' -e 'Warning' -e 'warnings.warn' |
  sed 's/^/    /' || true
[ "$deploy" = Complete ] && [ "$jstatus" = SUCCEEDED ] ||
  fail "the RayJob ended $deploy/$jstatus: $(kubectl -n "$ns" get rayjob "$job" -o jsonpath='{.status.message}')"
grep -q 'sum of squares of 0..9 = 285' <<<"$joblog" || fail "the job's log does not hold the program's result"

step "phases:"
printf '    %-44s %4ss\n' "RayCluster ready (pods started, Ray up)" $((t_ready - start)) \
  "Ray job running (submitter submitted it)" $((t_running - t_ready)) \
  "finished (SUCCEEDED, status Complete)" $((t_end - t_running)) \
  "total" $((t_end - start))

step "cleaning up: deleting RayJob $ns/$job (its RayCluster and submitter Job go with it)"
kubectl -n "$ns" delete rayjob "$job" --wait=true --timeout=120s >/dev/null || fail "delete the RayJob"
step "done. The control plane keeps running; use it with:"
echo "    eval \"\$(hack/cluster.sh env --name $name)\"; kubectl get rayjobs -A"
echo "  and stop it with: hack/cluster.sh down --name $name"

"""RayClusters of kuberay-operator running real Ray (the pinned version) on the node agents.

Each test runs its own operator (watching only the test's namespace, as in
test_raycluster_controller.py) against an instance with node agents (hack/test.sh starts two;
skipped without). The Ray pods are what the operator builds from KubeRay-style manifests; only a
toleration for the agents' taint, small CPU/memory requests and RAY_USAGE_STATS_ENABLED=0 (no
network off the machine) are added. Ray programs run inside the head pod through the dashboard's
job API (`ray job submit`, from the host, which reaches pod IPs on the instance's bridge): the
entrypoint runs in the head's Ray container, so `ray status` there is the head's view.
"""
import glob
import os
import re
import shutil
import subprocess
import textwrap
import time

import pytest
import yaml
from kubernetes import client

from conftest import kubectl, wait_for
from test_raycluster_controller import (GROUP, PLURAL, VERSION, Operator, check_log,  # noqa: F401
                                        crd)

AGENT_TAINT_KEY = "kuberay-c.io/node-agent"
RAY_IMAGE = "rayproject/ray:2.52.0"
RAY_TIMEOUT_S = 600  # Ray start on a shared, loaded 2-core machine (seen: > 300 s)
JOB_TIMEOUT_S = 300
# No usage stats (no network off the machine); the dashboard may take more than its default 30 s
# to start its modules on a loaded machine (it then exits and the head never becomes ready).
RAY_ENV = [{"name": "RAY_USAGE_STATS_ENABLED", "value": "0"},
           {"name": "RAY_DASHBOARD_SUBPROCESS_MODULE_WAIT_READY_TIMEOUT", "value": "300"}]
TOLERATIONS = [{"key": AGENT_TAINT_KEY, "operator": "Exists"}]


@pytest.fixture(scope="module")
def agent_nodes(core, cluster):
    prefix = f"krc-{cluster['name']}-node-"
    nodes = [n.metadata.name for n in core.list_node().items if n.metadata.name.startswith(prefix)]
    if not nodes:
        pytest.skip("the cluster under test runs no node agents (hack/cluster.sh up --nodes N)")
    return sorted(nodes)


@pytest.fixture
def custom(api):
    return client.CustomObjectsApi(api)


@pytest.fixture
def ray_operator(crd, agent_nodes, namespace, core, custom, tmp_path):  # noqa: F811
    op = Operator(namespace, tmp_path)
    op.start()
    yield op
    op.stop()
    check_log(op)
    # A test that failed half-way may leave a RayCluster with the GCS FT finalizer, which no
    # operator would remove any more: drop it so that the namespace can go.
    for rc in custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)["items"]:
        if rc["metadata"].get("finalizers"):
            custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL,
                                                  rc["metadata"]["name"],
                                                  {"metadata": {"finalizers": None}})
    # Nothing of the namespace's pods may outlive the test on the node agents.
    uids = [p.metadata.uid for p in core.list_namespaced_pod(namespace).items]
    kubectl("delete", "pods", "--all", "-n", namespace, "--wait=false", check=False)
    wait_for(lambda: not core.list_namespaced_pod(namespace).items, f"pods of {namespace} gone",
             timeout=120)
    for uid in uids:
        wait_for(lambda: not sandbox_dirs(uid), f"sandbox of pod {uid} removed", timeout=30)


def sandbox_dirs(uid):
    root = os.environ.get("KRC_NODE_STATE_ROOT", "")
    return glob.glob(os.path.join(root, "n*", "pods", uid)) if root else []


def ray_container(name, cpu_limit, memory="1Gi"):
    return {"name": name, "image": RAY_IMAGE, "env": list(RAY_ENV),
            "resources": {"limits": {"cpu": cpu_limit, "memory": memory},
                          "requests": {"cpu": "100m", "memory": "256Mi"}}}


def ray_cluster(name, replicas=2, min_replicas=0, max_replicas=5, head_params=None, **spec):
    """A KubeRay-sample-like RayCluster: the head has no CPUs for tasks (num-cpus 0), so every
    task that needs a CPU runs on a worker of group `small` (1 CPU each)."""
    return {
        "apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": name},
        "spec": {
            "rayVersion": "2.52.0",
            "headGroupSpec": {
                "rayStartParams": {"num-cpus": "0", **(head_params or {})},
                "template": {"spec": {"tolerations": TOLERATIONS,
                                      "containers": [ray_container("ray-head", "1", "2Gi")]}}},
            "workerGroupSpecs": [{
                "groupName": "small", "replicas": replicas, "minReplicas": min_replicas,
                "maxReplicas": max_replicas, "rayStartParams": {},
                "template": {"spec": {"tolerations": TOLERATIONS,
                                      "terminationGracePeriodSeconds": 5,
                                      "containers": [ray_container("ray-worker", "1")]}}}],
            **spec,
        },
    }


def get_rc(custom, ns, name):
    return custom.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name)


def set_workers(custom, ns, name, replicas, workers_to_delete=None, attempts=10):
    for _ in range(attempts):
        rc = get_rc(custom, ns, name)
        group = rc["spec"]["workerGroupSpecs"][0]
        group["replicas"] = replicas
        if workers_to_delete is not None:
            group["scaleStrategy"] = {"workersToDelete": workers_to_delete}
        try:
            custom.replace_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name, rc)
            return
        except client.ApiException as e:
            if e.status != 409:
                raise
    pytest.fail(f"{attempts} conflicts in a row updating {ns}/{name}")


def live_pods(core, ns, selector):
    return [p for p in core.list_namespaced_pod(ns, label_selector=selector).items
            if p.metadata.deletion_timestamp is None]


def pod_ready(p):
    conds = {c.type: c.status for c in (p.status.conditions or [])}
    return p.status.phase == "Running" and conds.get("Ready") == "True"


def worker_pods(core, ns, cluster):
    return live_pods(core, ns, f"ray.io/cluster={cluster},ray.io/node-type=worker")


def head_pod(core, ns, cluster):
    heads = live_pods(core, ns, f"ray.io/cluster={cluster},ray.io/node-type=head")
    return heads[0] if len(heads) == 1 else None


def wait_ready_workers(core, ns, cluster, n, timeout=RAY_TIMEOUT_S):
    def ok():
        pods = worker_pods(core, ns, cluster)
        return len(pods) == n and all(pod_ready(p) for p in pods) and pods
    return wait_for(ok, f"{n} ready worker pods of {cluster}", timeout=timeout, interval=1)


def wait_state_ready(custom, ns, name, workers):
    last = {}

    def ok():
        last["status"] = st = get_rc(custom, ns, name).get("status", {})
        return st.get("state") == "ready" and st.get("readyWorkerReplicas", 0) == workers and st
    deadline = time.monotonic() + RAY_TIMEOUT_S
    while time.monotonic() < deadline:
        if (st := ok()):
            return st
        time.sleep(1)
    pytest.fail(f"timed out waiting for {name} state ready with {workers} ready workers; "
                f"last status: {last.get('status')}")


def head_ip(core, ns, cluster):
    p = wait_for(lambda: (lambda h: h if h and pod_ready(h) and h.status.pod_ip else None)(
        head_pod(core, ns, cluster)), f"ready head pod of {cluster}", timeout=RAY_TIMEOUT_S,
        interval=1)
    return p.status.pod_ip


def ray_cli():
    ray = shutil.which("ray")
    assert ray, "the ray CLI is not on PATH (hack/cluster.sh env)"
    return ray


def submit(core, ns, cluster, *entrypoint, timeout=JOB_TIMEOUT_S):
    """Runs `entrypoint` as a Ray job in the head pod; returns its output (the job's logs)."""
    address = f"http://{head_ip(core, ns, cluster)}:8265"
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    # The dashboard's job API comes up a little after the head's readiness probe passes; and
    # right after a head restart (GCS FT) Ray may place the job's supervisor on a node it has not
    # yet registered ("could not be scheduled": the entrypoint never ran, so a retry is safe).
    retry_on = ("Connection refused", "Job supervisor actor could not be scheduled")
    deadline = time.monotonic() + timeout
    while True:
        proc = subprocess.run([ray_cli(), "job", "submit", "--address", address, "--", *entrypoint],
                              capture_output=True, text=True, env=env, timeout=timeout)
        if proc.returncode == 0 or time.monotonic() > deadline or \
                not any(r in proc.stderr + proc.stdout for r in retry_on):
            break
        time.sleep(2)
    assert proc.returncode == 0 and "succeeded" in proc.stdout, \
        f"job {entrypoint} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


def printed(out, key):
    """The value the job printed as a line KEY=value (the CLI also echoes the entrypoint)."""
    found = re.findall(r"^" + key + r"=([0-9.]+)\s*$", out, re.M)
    assert found, f"the job printed no {key}=...:\n{out[-4000:]}"
    return found[-1]


def python_job(program):
    return ["python", "-c", textwrap.dedent(program)]


def ray_node_count(status_text):
    """The number of live Ray nodes in `ray status` output: the Active and Idle sections list
    either one node id per line or "<count> <node type>" lines (KubeRay group names)."""
    if "Active:" not in status_text or "Pending:" not in status_text:
        return 0
    block = status_text.split("Active:")[1].split("Pending:")[0]
    n = 0
    for line in block.splitlines():
        words = line.split()
        if len(words) == 2 and words[0].isdigit():
            n += int(words[0])
        elif words and words[0].startswith("node_"):
            n += 1
    return n


def gone(fn):
    try:
        fn()
        return False
    except client.ApiException as e:
        if e.status == 404:
            return True
        raise


TASK_ON_WORKER = """
    import ray
    ray.init()

    @ray.remote(num_cpus=1)
    def where():
        return ray.util.get_node_ip_address()

    print("TASK_IP=" + ray.get(where.remote()))
"""


def test_one_head_two_workers_run_ray_scale_and_are_deleted_without_leftovers(
        ray_operator, core, custom, namespace):
    ns, name = namespace, "rc-ray"
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, ray_cluster(name, 2))
    st = wait_state_ready(custom, ns, name, 2)
    assert st["desiredWorkerReplicas"] == 2 and st["head"]["podIP"], st

    # `ray status` in the head: the head and both workers are Ray nodes.
    out = wait_for(lambda: (lambda o: o if ray_node_count(o) == 3 else None)(
        submit(core, ns, name, "ray", "status")), "ray status to list 3 nodes",
        timeout=RAY_TIMEOUT_S, interval=2)
    assert " 1 headgroup" in out and " small" in out, out

    # A task needing a CPU runs on a worker (the head has none).
    ips = {p.status.pod_ip for p in worker_pods(core, ns, name)}
    out = submit(core, ns, name, *python_job(TASK_ON_WORKER))
    task_ip = printed(out, "TASK_IP")
    assert task_ip in ips, (task_ip, ips, out)

    # Scale to 3, then back to 1 naming the two pods to remove.
    set_workers(custom, ns, name, 3)
    pods = wait_ready_workers(core, ns, name, 3)
    names = sorted(p.metadata.name for p in pods)
    victims, keep = names[:2], names[2]
    set_workers(custom, ns, name, 1, workers_to_delete=victims)
    pods = wait_ready_workers(core, ns, name, 1)
    assert [p.metadata.name for p in pods] == [keep], (keep, pods)

    # A deleted worker pod is replaced by a new one.
    kubectl("delete", "pod", keep, "-n", ns, "--wait=false")
    pods = wait_for(lambda: (lambda w: w if len(w) == 1 and w[0].metadata.name != keep and
                             pod_ready(w[0]) else None)(worker_pods(core, ns, name)),
                    "the deleted worker replaced", timeout=RAY_TIMEOUT_S, interval=1)
    wait_state_ready(custom, ns, name, 1)

    # Deleting the RayCluster removes every pod, Service and sandbox it had.
    uids = [p.metadata.uid for p in core.list_namespaced_pod(ns).items]
    custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name)
    wait_for(lambda: gone(lambda: get_rc(custom, ns, name)), "the RayCluster gone", timeout=60)
    wait_for(lambda: not core.list_namespaced_pod(ns).items, "every pod gone", timeout=120)
    wait_for(lambda: not [s for s in core.list_namespaced_service(ns).items],
             "every Service gone", timeout=60)
    for uid in uids:
        wait_for(lambda: not sandbox_dirs(uid), f"sandbox of pod {uid} removed", timeout=30)


AUTOSCALE_JOB = """
    import ray
    ray.init()

    @ray.remote(num_cpus=1)
    def on_a_worker():
        return ray.util.get_node_ip_address()

    print("SCALED_TASK_IP=" + ray.get(on_a_worker.remote()))
"""


def test_autoscaler_scales_a_group_from_zero_up_for_a_task_and_down_when_idle(
        ray_operator, core, custom, namespace):
    ns, name = namespace, "rc-auto"
    body = ray_cluster(name, replicas=0, min_replicas=0, max_replicas=2,
                       enableInTreeAutoscaling=True,
                       autoscalerOptions={"idleTimeoutSeconds": 15, "env": list(RAY_ENV),
                                          "resources": {"requests": {"cpu": "100m",
                                                                     "memory": "256Mi"},
                                                        "limits": {"cpu": "500m",
                                                                   "memory": "512Mi"}}})
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, body)
    wait_state_ready(custom, ns, name, 0)
    head = head_pod(core, ns, name)
    assert [c.name for c in head.spec.containers] == ["ray-head", "autoscaler"]
    assert head.spec.service_account_name == name
    assert not worker_pods(core, ns, name)

    # The task needs a CPU, which only a worker has: the autoscaler (in the head pod, using its
    # ServiceAccount token) raises replicas, the operator creates the pod, the task runs there.
    out = submit(core, ns, name, *python_job(AUTOSCALE_JOB))
    ip = printed(out, "SCALED_TASK_IP")
    pods = worker_pods(core, ns, name)
    assert ip in {p.status.pod_ip for p in pods}, (ip, pods)
    assert get_rc(custom, ns, name)["spec"]["workerGroupSpecs"][0]["replicas"] >= 1

    # Idle for idleTimeoutSeconds: the autoscaler lowers replicas and names the pod in
    # workersToDelete; the operator deletes it.
    def scaled_down():
        group = get_rc(custom, ns, name)["spec"]["workerGroupSpecs"][0]
        return group.get("replicas") == 0 and not worker_pods(core, ns, name) and group
    group = wait_for(scaled_down, "the autoscaler to scale the idle group to 0",
                     timeout=RAY_TIMEOUT_S, interval=2)
    assert "scaleStrategy" in group, group
    log = kubectl("logs", head.metadata.name, "-c", "autoscaler", "-n", ns).stdout
    assert "Forbidden" not in log and "Unauthorized" not in log, log[-4000:]


REDIS_COMMAND = ["redis-server", "--port", "6379", "--bind", "0.0.0.0", "--protected-mode", "no",
                 "--save", "", "--appendonly", "no", "--dir", "/tmp"]

DETACHED_CREATE = """
    import ray
    ray.init(namespace="ft")

    @ray.remote(num_cpus=1, lifetime="detached", name="counter")
    class Counter:
        def __init__(self):
            self.n = 0

        def incr(self):
            self.n += 1
            return self.n

    c = Counter.remote()
    print("COUNT=%d" % ray.get(c.incr.remote()))
"""

DETACHED_CALL = """
    import ray
    ray.init(namespace="ft")
    c = ray.get_actor("counter")
    print("COUNT=%d" % ray.get(c.incr.remote()))
"""


def redis_keys(ip):
    out = subprocess.run(["redis-cli", "-h", ip, "-p", "6379", "--raw", "keys", "*"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return [k for k in out.stdout.split() if k]


def test_gcs_ft_with_external_redis_keeps_a_detached_actor_across_a_head_restart(
        ray_operator, core, custom, namespace, api):
    if not shutil.which("redis-server") or not shutil.which("redis-cli"):
        pytest.skip("redis-server is not installed (hack/deps.sh)")
    ns, name = namespace, "rc-ft"
    kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "redis"},
         "spec": {"selector": {"app": "redis"}, "ports": [{"port": 6379}]}},
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": "redis", "labels": {"app": "redis"}},
         "spec": {"tolerations": TOLERATIONS, "terminationGracePeriodSeconds": 2,
                  "containers": [{"name": "redis", "image": "redis:7", "command": REDIS_COMMAND,
                                  "readinessProbe": {"tcpSocket": {"port": 6379},
                                                     "periodSeconds": 1}}]}}]))
    redis = wait_for(lambda: (lambda p: p if pod_ready(p) else None)(
        core.read_namespaced_pod("redis", ns)), "redis pod ready", timeout=60)
    body = ray_cluster(name, replicas=1, gcsFaultToleranceOptions={"redisAddress": "redis:6379"})
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, body)
    wait_state_ready(custom, ns, name, 1)
    rc = get_rc(custom, ns, name)
    assert "ray.io/gcs-ft-redis-cleanup-finalizer" in rc["metadata"]["finalizers"]
    head = head_pod(core, ns, name)
    assert head.metadata.annotations["ray.io/ft-enabled"] == "true"
    storage_ns = head.metadata.annotations["ray.io/external-storage-namespace"]
    assert storage_ns == rc["metadata"]["uid"]
    env = {e.name: e.value for e in head.spec.containers[0].env}
    assert env["RAY_REDIS_ADDRESS"] == "redis:6379"
    assert env["RAY_external_storage_namespace"] == storage_ns
    worker = worker_pods(core, ns, name)[0]
    wenv = {e.name: e.value for e in worker.spec.containers[0].env}
    assert wenv["RAY_gcs_rpc_server_reconnect_timeout_s"] == "600"

    out = submit(core, ns, name, *python_job(DETACHED_CREATE))
    assert printed(out, "COUNT") == "1", out
    assert any(storage_ns in k for k in redis_keys(redis.status.pod_ip)), "GCS writes to Redis"

    # Kill the head: the operator creates a new head pod, whose GCS recovers from Redis; the
    # worker (and the detached actor on it) lives on and reconnects.
    old = head.metadata.name
    kubectl("delete", "pod", old, "-n", ns, "--grace-period=0", "--force", "--wait=false")
    wait_for(lambda: (lambda h: h if h and h.metadata.name != old and pod_ready(h) else None)(
        head_pod(core, ns, name)), "a new ready head pod", timeout=RAY_TIMEOUT_S, interval=1)
    assert [p.metadata.name for p in worker_pods(core, ns, name)] == [worker.metadata.name]
    out = submit(core, ns, name, *python_job(DETACHED_CALL))
    assert printed(out, "COUNT") == "2", out

    # Deletion: pods first, then the Redis cleanup Job (run on the node agent, with Ray's
    # cleanup_redis_storage) empties the storage namespace, then the finalizer goes.
    custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name)
    batch = client.BatchV1Api(api)
    jobs = wait_for(lambda: batch.list_namespaced_job(
        ns, label_selector=f"ray.io/cluster={name},ray.io/node-type=redis-cleanup").items,
        "the Redis cleanup Job", timeout=120)
    job_pod_spec = jobs[0].spec.template.spec
    job_pod_spec_ok = [c.name for c in job_pod_spec.containers] == ["ray-head"]
    assert job_pod_spec_ok, job_pod_spec
    wait_for(lambda: gone(lambda: get_rc(custom, ns, name)), "the RayCluster gone after cleanup",
             timeout=RAY_TIMEOUT_S, interval=2)
    try:  # the Job is garbage-collected with the cluster: check it only if still there
        job = batch.read_namespaced_job(jobs[0].metadata.name, ns)
        assert any(c.type == "Complete" and c.status == "True"
                   for c in job.status.conditions or []), job.status
    except client.ApiException as e:
        assert e.status == 404, e
    assert not [k for k in redis_keys(redis.status.pod_ip) if storage_ns in k]
    events = kubectl("get", "events.events.k8s.io", "-n", ns, "-o",
                     "jsonpath={range .items[*]}{.reason}{'\\n'}{end}").stdout.split()
    assert "CreatedRedisCleanupJob" in events and "ForceDeletedStuckCluster" not in events, events

"""The RayService controller of kuberay-operator end to end: real Ray Serve in pods on the node
agents (spec rayservice.md §5-§12, §16, §17).

One RayService whose cluster is a single head (Ray start-up dominates: ~20-30 s per cluster on
the 2-core CI machine) serves a tiny Serve application: a Python module from a ConfigMap mounted
into the head and put on PYTHONPATH (the node agent runs the host's Ray virtualenv, so no
runtime_env download is needed). The test follows the object through its life in one go, to pay
for as few Ray start-ups as possible:
  1. creation: pending cluster, Serve config submitted, Services created, promotion, Ready with
     one serve endpoint; HTTP to the serve Service's endpoint answers the application's text;
  2. a serveConfigV2 change is applied in place (same cluster, new answer);
  3. a rayClusterConfig change makes a new cluster; the Services switch to it (same ClusterIP)
     once it serves, and the old cluster is deleted after rayClusterDeletionDelaySeconds;
     a worker group appended afterwards updates the active cluster in place;
  4. suspend deletes the clusters and Services and ends in Suspended;
  5. deletion removes the finalizer once no cluster is left.
Each test runs its own operator watching only the test's namespace.
"""
import json
import urllib.request

import pytest
from kubernetes import client

from conftest import CRD_APPLY_TIMEOUT_S, REPO, kubectl, wait_crd_established, wait_for
from test_raycluster_controller import Operator, check_log

GROUP, VERSION, PLURAL = "ray.io", "v1", "rayservices"
CRDS = [REPO / "config" / "crd" / "bases" / f"ray.io_{p}.yaml"
        for p in ("rayclusters", "rayservices")]
RAY_TIMEOUT_S = 300
TOLERATION = {"key": "kuberay-c.io/node-agent", "operator": "Exists"}
APP = """\
from ray import serve


@serve.deployment(ray_actor_options={"num_cpus": 0})
class Hello:
    def __init__(self):
        self.msg = "unset"

    def reconfigure(self, config):
        self.msg = config.get("msg", "unset")

    async def __call__(self, request):
        return self.msg


app = Hello.bind()
"""


def serve_config(msg):
    return f"""\
applications:
  - name: hello
    route_prefix: /
    import_path: hello_app:app
    deployments:
      - name: Hello
        user_config:
          msg: {msg}
"""


def cluster_config(marker="1"):
    env = [{"name": "RAY_USAGE_STATS_ENABLED", "value": "0"},
           {"name": "RAY_DASHBOARD_SUBPROCESS_MODULE_WAIT_READY_TIMEOUT", "value": "600"},
           {"name": "PYTHONPATH", "value": "/home/ray/serveapp"},
           {"name": "TEST_MARKER", "value": marker}]
    head = {"name": "ray-head", "image": "rayproject/ray:2.52.0", "env": env,
            "resources": {"limits": {"cpu": "1", "memory": "2Gi"}},
            "volumeMounts": [{"name": "app", "mountPath": "/home/ray/serveapp"}]}
    return {
        "rayVersion": "2.52.0",
        "headGroupSpec": {"rayStartParams": {"num-cpus": "1"}, "template": {"spec": {
            "tolerations": [TOLERATION], "containers": [head],
            "volumes": [{"name": "app", "configMap": {"name": "serve-app"}}]}}},
        "workerGroupSpecs": [],
    }


@pytest.fixture(scope="module")
def crds(cluster):
    for crd in CRDS:
        kubectl("apply", "--server-side", "--force-conflicts", "-f", str(crd),
                timeout=CRD_APPLY_TIMEOUT_S)
    for name in ("rayclusters.ray.io", "rayservices.ray.io"):
        wait_crd_established(name)


@pytest.fixture
def custom(api):
    return client.CustomObjectsApi(api)


@pytest.fixture
def operator(crds, namespace, core, tmp_path):
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="serve-app"), data={"hello_app.py": APP}))
    op = Operator(namespace, tmp_path)
    op.start()
    yield op
    # The RayServices carry the operator's finalizer: delete them while it still runs.
    kubectl("-n", namespace, "delete", "rayservices", "--all", "--wait=true", "--timeout=90s",
            check=False)
    op.stop()
    check_log(op)


def get_rs(custom, ns, name):
    return custom.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name)


def cond(rs, ctype):
    for c in rs.get("status", {}).get("conditions", []):
        if c["type"] == ctype:
            return c
    return {}


def clusters(custom, ns):
    items = custom.list_namespaced_custom_object(GROUP, VERSION, ns, "rayclusters")["items"]
    return sorted(i["metadata"]["name"] for i in items)


def serve_answer(core, ns, svc="demo-serve-svc"):
    """The application's answer through the serve Service's ready endpoint (pod IP:port)."""
    try:
        ep = core.read_namespaced_endpoints(svc, ns)
    except client.ApiException:
        return None
    for subset in ep.subsets or []:
        port = subset.ports[0].port
        for addr in subset.addresses or []:
            try:
                with urllib.request.urlopen(f"http://{addr.ip}:{port}/", timeout=3) as r:
                    return r.read().decode()
            except OSError:
                return None
    return None


def events(core, ns, reason):
    """Notes of the events.k8s.io Events with that reason (read raw: the Python client rejects
    the Events other components write without eventTime)."""
    del core
    r = kubectl("-n", ns, "get", "events.events.k8s.io", "-o", "json")
    return [e.get("note", "") for e in json.loads(r.stdout)["items"] if e.get("reason") == reason]


def test_rayservice_lifecycle(operator, custom, core, namespace):
    body = {"apiVersion": "ray.io/v1", "kind": "RayService", "metadata": {"name": "demo"},
            "spec": {"serveConfigV2": serve_config("v1"), "rayClusterDeletionDelaySeconds": 5,
                     "rayClusterConfig": cluster_config("1")}}
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)

    # 1. creation: the first cluster becomes active and the Service answers.
    wait_for(lambda: get_rs(custom, namespace, "demo").get("status", {}).get("serviceStatus")
             == "Running", "RayService Running", timeout=RAY_TIMEOUT_S, interval=2)
    rs = get_rs(custom, namespace, "demo")
    st = rs["status"]
    first = st["activeServiceStatus"]["rayClusterName"]
    assert first.startswith("demo-") and len(first) == len("demo-") + 5, st
    assert st["numServeEndpoints"] == 1, st
    assert st["activeServiceStatus"]["applicationStatuses"]["hello"]["status"] == "RUNNING", st
    assert cond(rs, "Ready")["reason"] == "NonZeroServeEndpoints", st
    assert cond(rs, "UpgradeInProgress")["reason"] == "NoPendingCluster", st
    assert not st.get("pendingServiceStatus", {}).get("rayClusterName"), st
    assert "ray.io/rayservice-finalizer" in rs["metadata"]["finalizers"]
    assert st["observedGeneration"] == rs["metadata"]["generation"]
    rc = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "rayclusters", first)
    assert rc["metadata"]["labels"]["ray.io/originated-from-crd"] == "RayService"
    assert rc["metadata"]["labels"]["ray.io/originated-from-cr-name"] == "demo"
    assert rc["metadata"]["annotations"]["ray.io/num-worker-groups"] == "0"
    assert len(rc["metadata"]["annotations"]["ray.io/hash-without-replicas-and-workers-to-delete"]) == 32
    assert rc["metadata"]["ownerReferences"][0]["kind"] == "RayService"
    head_svc = core.read_namespaced_service("demo-head-svc", namespace)
    serve_svc = core.read_namespaced_service("demo-serve-svc", namespace)
    assert head_svc.spec.selector["ray.io/cluster"] == first
    assert serve_svc.spec.selector == {"ray.io/cluster": first, "ray.io/serve": "true"}
    assert [(p.name, p.port) for p in serve_svc.spec.ports] == [("serve", 8000)]
    head = core.list_namespaced_pod(
        namespace, label_selector=f"ray.io/cluster={first},ray.io/node-type=head").items[0]
    assert head.metadata.labels["ray.io/serve"] == "true"
    wait_for(lambda: serve_answer(core, namespace) == "v1", "answer v1", timeout=60, interval=1)
    assert any(f"{namespace}/{first}" in n for n in events(core, namespace, "CreatedRayCluster"))
    assert events(core, namespace, "UpdatedServeApplications")
    created = [n for n in events(core, namespace, "CreatedService") if "the service" in n]
    assert sorted(created) == [f"Created the service {namespace}/demo-head-svc",
                               f"Created the service {namespace}/demo-serve-svc"], created

    # §17 metrics, from the operator's cache.
    uid = rs["metadata"]["uid"]
    labels = f'name="demo",namespace="{namespace}",uid="{uid}"'
    wait_for(lambda: f'kuberay_service_condition_ready{{{labels},condition="true"}} 1'
             in (operator.get("/metrics") or ""), "ready metric", timeout=30)
    metrics = operator.get("/metrics")
    assert f"kuberay_service_info{{{labels}}} 1" in metrics, metrics
    assert (f'kuberay_service_condition_upgrade_in_progress{{{labels},condition="false"}} 1'
            in metrics), metrics

    # 2. serveConfigV2 change: applied to the same cluster in place.
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "demo",
                                          {"spec": {"serveConfigV2": serve_config("v2")}})
    wait_for(lambda: serve_answer(core, namespace) == "v2", "answer v2", timeout=90, interval=1)
    assert clusters(custom, namespace) == [first]
    assert get_rs(custom, namespace, "demo")["status"]["activeServiceStatus"][
        "rayClusterName"] == first

    # 3. rayClusterConfig change: blue/green to a new cluster, same Services.
    ip_before = core.read_namespaced_service("demo-serve-svc", namespace).spec.cluster_ip
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "demo",
                                          {"spec": {"rayClusterConfig": cluster_config("2")}})
    wait_for(lambda: cond(get_rs(custom, namespace, "demo"), "UpgradeInProgress").get("status")
             == "True", "upgrade in progress", timeout=30, interval=1)
    pending = get_rs(custom, namespace, "demo")["status"]["pendingServiceStatus"]["rayClusterName"]
    assert pending and pending != first
    answers = []

    def switched():
        answers.append(serve_answer(core, namespace))
        st = get_rs(custom, namespace, "demo")["status"]
        return st["activeServiceStatus"].get("rayClusterName") == pending

    wait_for(switched, "traffic switched to the new cluster", timeout=RAY_TIMEOUT_S, interval=2)
    # The old cluster served until the switch.
    assert all(a == "v2" for a in answers if a is not None) and "v2" in answers, answers
    svc = core.read_namespaced_service("demo-serve-svc", namespace)
    assert svc.spec.selector["ray.io/cluster"] == pending
    assert svc.spec.cluster_ip == ip_before
    assert core.read_namespaced_service("demo-head-svc", namespace).spec.selector[
        "ray.io/cluster"] == pending
    rs = get_rs(custom, namespace, "demo")
    assert cond(rs, "UpgradeInProgress")["reason"] == "NoPendingCluster", rs["status"]
    wait_for(lambda: serve_answer(core, namespace) == "v2", "new cluster answers",
             timeout=60, interval=1)
    wait_for(lambda: clusters(custom, namespace) == [pending], "old cluster deleted",
             timeout=90, interval=2)
    assert any(first in n for n in events(core, namespace, "DeletedRayCluster"))
    assert sorted(events(core, namespace, "UpdatedService")) == [
        f"Updated the service {namespace}/demo-head-svc",
        f"Updated the service {namespace}/demo-serve-svc"]

    # 3b. a worker group appended (replicas 0, no Ray start-up): the active cluster is updated in
    # place (§6.4), no new cluster.
    cfg = cluster_config("2")
    cfg["workerGroupSpecs"] = [{
        "groupName": "extra", "replicas": 0, "minReplicas": 0, "maxReplicas": 1,
        "rayStartParams": {}, "template": {"spec": {"tolerations": [TOLERATION], "containers": [
            {"name": "ray-worker", "image": "rayproject/ray:2.52.0"}]}}}]
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "demo",
                                          {"spec": {"rayClusterConfig": cfg}})

    def updated_in_place():
        rc = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "rayclusters", pending)
        return rc["metadata"]["annotations"].get("ray.io/num-worker-groups") == "1"

    wait_for(updated_in_place, "active cluster updated in place", timeout=30, interval=1)
    rc = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "rayclusters", pending)
    assert [g["groupName"] for g in rc["spec"]["workerGroupSpecs"]] == ["extra"]
    assert clusters(custom, namespace) == [pending]
    assert f"Updated the active RayCluster {namespace}/{pending}" in events(
        core, namespace, "UpdatedRayCluster")
    assert not get_rs(custom, namespace, "demo")["status"]["pendingServiceStatus"].get(
        "rayClusterName")

    # 4. suspend: every owned RayCluster and Service is deleted, then Suspended.
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "demo",
                                          {"spec": {"suspend": True}})
    wait_for(lambda: cond(get_rs(custom, namespace, "demo"), "Suspended").get("status")
             == "True", "Suspended", timeout=90, interval=1)
    rs = get_rs(custom, namespace, "demo")
    assert cond(rs, "Suspending")["reason"] == "SuspendComplete", rs["status"]
    assert cond(rs, "Ready")["reason"] == "SuspendComplete", rs["status"]
    assert not rs["status"].get("serviceStatus") and not rs["status"].get("numServeEndpoints")
    assert clusters(custom, namespace) == []
    svcs = core.list_namespaced_service(
        namespace, label_selector="ray.io/originated-from-crd=RayService").items
    assert [s.metadata.name for s in svcs if not s.metadata.deletion_timestamp] == []
    assert any("during suspend" in n for n in events(core, namespace, "DeletedService"))

    # 5. deletion: the finalizer goes once no cluster is left.
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "demo")

    def gone():
        try:
            get_rs(custom, namespace, "demo")
            return False
        except client.ApiException as e:
            return e.status == 404

    wait_for(gone, "RayService deleted", timeout=90, interval=1)
    wait_for(lambda: clusters(custom, namespace) == [], "clusters deleted", timeout=60)


def test_created_suspended_then_resumed(operator, custom, core, namespace):
    """§12: created with suspend=true: Suspending then Suspended, no cluster ever; resuming
    re-initializes the conditions and prepares and creates a cluster."""
    body = {"apiVersion": "ray.io/v1", "kind": "RayService", "metadata": {"name": "sleepy"},
            "spec": {"serveConfigV2": serve_config("v1"), "suspend": True,
                     "rayClusterConfig": cluster_config()}}
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    wait_for(lambda: cond(get_rs(custom, namespace, "sleepy"), "Suspended").get("status")
             == "True", "Suspended", timeout=30)
    rs = get_rs(custom, namespace, "sleepy")
    assert cond(rs, "Suspending")["status"] == "False"
    assert cond(rs, "UpgradeInProgress")["reason"] == "SuspendComplete"
    assert clusters(custom, namespace) == []
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "sleepy",
                                          {"spec": {"suspend": False}})
    wait_for(lambda: len(clusters(custom, namespace)) == 1, "cluster after resume", timeout=30)
    rs = get_rs(custom, namespace, "sleepy")
    assert cond(rs, "Suspended")["reason"] == "RayServiceResumed", rs["status"]
    assert cond(rs, "Ready")["message"] == \
        "RayService is initializing after resuming from suspend.", rs["status"]
    assert rs["status"]["pendingServiceStatus"]["rayClusterName"] == clusters(custom, namespace)[0]


def test_validation_failure(operator, custom, core, namespace):
    """§3.3: an invalid upgrade type is reported on Ready and by a Warning event; no cluster."""
    body = {"apiVersion": "ray.io/v1", "kind": "RayService", "metadata": {"name": "bad"},
            "spec": {"serveConfigV2": serve_config("v1"), "upgradeStrategy": {"type": "Blue"},
                     "rayClusterConfig": cluster_config()}}
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    want = ("The RayService spec is invalid: Spec.UpgradeStrategy.Type value Blue is invalid, "
            "valid options are NewClusterWithIncrementalUpgrade, NewCluster, or None")
    wait_for(lambda: cond(get_rs(custom, namespace, "bad"), "Ready").get("reason")
             == "ValidationFailed", "ValidationFailed", timeout=30)
    assert cond(get_rs(custom, namespace, "bad"), "Ready")["message"] == want
    wait_for(lambda: events(core, namespace, "InvalidRayServiceSpec"), "event", timeout=30)
    assert events(core, namespace, "InvalidRayServiceSpec")[0] == f"{namespace}/bad: {want}"
    assert clusters(custom, namespace) == []


def test_sample_shapes_accepted(crds, namespace):
    """The CRD takes the shapes of KubeRay's RayService samples (server-side dry run): serve
    Service template, upgrade strategy with cluster upgrade options, deletion delay."""
    body = {"apiVersion": "ray.io/v1", "kind": "RayService", "metadata": {"name": "shape"},
            "spec": {"serveConfigV2": serve_config("v1"), "rayClusterDeletionDelaySeconds": 30,
                     "excludeHeadPodFromServeSvc": True,
                     "upgradeStrategy": {"type": "NewClusterWithIncrementalUpgrade",
                                         "clusterUpgradeOptions": {
                                             "gatewayClassName": "istio", "stepSizePercent": 10,
                                             "intervalSeconds": 30}},
                     "serveService": {"metadata": {"name": "custom-serve"},
                                      "spec": {"ports": [{"name": "serve", "port": 8000}]}},
                     "rayClusterConfig": cluster_config()}}
    r = kubectl("-n", namespace, "create", "--dry-run=server", "-o", "json", "-f", "-",
                input=json.dumps(body))
    got = json.loads(r.stdout)
    assert got["spec"]["upgradeStrategy"]["clusterUpgradeOptions"]["maxSurgePercent"] == 100
    body["spec"]["rayClusterDeletionDelaySeconds"] = -1
    r = kubectl("-n", namespace, "create", "--dry-run=server", "-f", "-", check=False,
                input=json.dumps(body))
    assert r.returncode != 0 and "rayClusterDeletionDelaySeconds" in r.stderr, r.stderr
    r = kubectl("get", "crd", "rayservices.ray.io", "-o",
                "jsonpath={.spec.versions[0].additionalPrinterColumns[*].name}")
    assert r.stdout == "service status num serve endpoints"

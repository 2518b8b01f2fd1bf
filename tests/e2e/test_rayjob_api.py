"""The RayJob and RayCronJob CRDs (config/crd/bases, generated from src/api/crd_schema.c) against a
real API server: every test manifest of tests/data/rayjob (our own, covering the fields of
KubeRay's ray-job.*.yaml and ray-cronjob*.yaml samples) is accepted, the server applies KubeRay's
schema defaults, rejects what KubeRay's schema and CEL rules reject with KubeRay's messages, and
`kubectl get` shows KubeRay's printer columns.

Objects that persist are created with spec.managedBy=kueue.x-k8s.io/multikueue, which makes any
RayJob controller running in the cluster ignore them (spec rayjob.md §4.1); everything else is a
server-side dry run.
"""
import copy
import json
import os
import pathlib

import pytest

from conftest import CRD_APPLY_TIMEOUT_S, REPO, kubectl, wait_crd_established, wait_for

DATA = REPO / "tests" / "data" / "rayjob"
# KRC_CRD_DIR tests other renderings (e.g. krc-gen-crds --k8s-openapi ... --out DIR).
CRD_DIR = pathlib.Path(os.environ.get("KRC_CRD_DIR", REPO / "config" / "crd" / "bases"))
CRDS = [CRD_DIR / f"ray.io_{p}.yaml" for p in ("rayclusters", "rayjobs", "raycronjobs")]
MULTIKUEUE = "kueue.x-k8s.io/multikueue"


@pytest.fixture(scope="module", autouse=True)
def crds(cluster):
    """The CRDs as committed (idempotent when hack/cluster.sh already installed them)."""
    kubectl("apply", "--server-side", "--force-conflicts", *sum((["-f", str(c)] for c in CRDS), []),
            timeout=CRD_APPLY_TIMEOUT_S)
    for name in ("rayjobs.ray.io", "raycronjobs.ray.io"):
        wait_crd_established(name)


def load(name):
    return json.loads((DATA / name).read_text())


def dry_run(obj, namespace):
    """Server-side dry-run create; returns (ok, object or error text)."""
    obj = copy.deepcopy(obj)
    obj["metadata"]["namespace"] = namespace
    obj.pop("status", None)
    r = kubectl("create", "--dry-run=server", "-o", "json", "-f", "-", check=False,
                input=json.dumps(obj))
    return (True, json.loads(r.stdout)) if r.returncode == 0 else (False, r.stderr)


MANIFESTS = sorted(p.name for p in DATA.glob("*.json"))


@pytest.mark.parametrize("manifest", MANIFESTS)
def test_manifest_is_accepted(manifest, namespace):
    ok, out = dry_run(load(manifest), namespace)
    assert ok, f"{manifest} rejected: {out}"
    assert out["kind"] in ("RayJob", "RayCronJob")


def test_v1alpha1_is_served_and_deprecated(namespace):
    job = load("sample.json")
    job["apiVersion"] = "ray.io/v1alpha1"
    for key in ("activeDeadlineSeconds", "preRunningDeadlineSeconds", "submitterConfig"):
        del job["spec"][key]
    job["metadata"]["namespace"] = namespace
    r = kubectl("create", "--dry-run=server", "-o", "json", "-f", "-", check=False,
                input=json.dumps(job))
    assert r.returncode == 0, r.stderr
    assert ("ray.io/v1alpha1 RayJob is deprecated; use ray.io/v1 RayJob. v1alpha1 receives no "
            "new fields and will be unavailable in KubeRay 1.9.") in r.stderr
    assert json.loads(r.stdout)["spec"]["ttlSecondsAfterFinished"] == 0
    del job["spec"]["entrypoint"]
    r = kubectl("create", "--dry-run=server", "-f", "-", check=False, input=json.dumps(job))
    assert r.returncode != 0 and "spec.entrypoint: Required value" in r.stderr, r.stderr


def test_raycluster_v1alpha1_is_served_and_deprecated(namespace):
    cluster = {"apiVersion": "ray.io/v1alpha1", "kind": "RayCluster",
               "metadata": {"name": "old-cluster", "namespace": namespace},
               "spec": copy.deepcopy(load("sample.json")["spec"]["rayClusterSpec"])}
    r = kubectl("create", "--dry-run=server", "-o", "json", "-f", "-", check=False,
                input=json.dumps(cluster))
    assert r.returncode == 0, r.stderr
    assert "ray.io/v1alpha1 RayCluster is deprecated; use ray.io/v1 RayCluster." in r.stderr
    del cluster["spec"]["headGroupSpec"]["rayStartParams"]  # required in v1alpha1 only
    r = kubectl("create", "--dry-run=server", "-f", "-", check=False, input=json.dumps(cluster))
    assert r.returncode != 0 and "rayStartParams: Required value" in r.stderr, r.stderr


def test_server_applies_kuberay_defaults(namespace):
    job = load("deletion-rules.json")
    del job["spec"]["deletionStrategy"]["deletionRules"][0]["condition"]["ttlSeconds"]
    ok, out = dry_run(job, namespace)
    assert ok, out
    spec = out["spec"]
    assert spec["backoffLimit"] == 0
    assert spec["ttlSecondsAfterFinished"] == 0
    assert spec["submissionMode"] == "K8sJobMode"
    assert spec["deletionStrategy"]["deletionRules"][0]["condition"]["ttlSeconds"] == 0
    assert spec["deletionStrategy"]["deletionRules"][1]["condition"]["ttlSeconds"] == 60
    worker = spec["rayClusterSpec"]["workerGroupSpecs"][0]
    assert worker["numOfHosts"] == 1 and worker["priority"] == 0

    cron = load("cronjob.json")
    ok, out = dry_run(cron, namespace)
    assert ok, out
    assert out["spec"]["jobTemplate"]["submissionMode"] == "K8sJobMode"
    assert out["spec"]["jobTemplate"]["backoffLimit"] == 0


def _set(obj, path, value):
    keys = path.split(".")
    for k in keys[:-1]:
        obj = obj[int(k)] if isinstance(obj, list) else obj.setdefault(k, {})
    if value is _DELETE:
        del obj[keys[-1]]
    else:
        obj[keys[-1]] = value


_DELETE = object()

REJECTIONS = [
    ("managedBy value", "sample.json", "spec.managedBy", "someone-else",
     "the managedBy field value must be either 'ray.io/kuberay-operator' or "
     "'kueue.x-k8s.io/multikueue'"),
    ("legacy and rules together", "deletion-rules.json", "spec.deletionStrategy.onSuccess",
     {"policy": "DeleteCluster"},
     "legacy policies (onSuccess/onFailure) and deletionRules cannot be used together within "
     "the same deletionStrategy"),
    ("empty deletion strategy", "sample.json", "spec.deletionStrategy", {},
     "deletionStrategy requires either BOTH onSuccess and onFailure, OR the deletionRules field "
     "(cannot be empty)"),
    ("only onSuccess", "deletion-legacy.json", "spec.deletionStrategy.onFailure", _DELETE,
     "deletionStrategy requires either BOTH onSuccess and onFailure, OR the deletionRules field "
     "(cannot be empty)"),
    ("no deletion rules", "deletion-rules.json", "spec.deletionStrategy.deletionRules", [],
     "should have at least 1 items"),
    ("both conditions", "deletion-rules.json",
     "spec.deletionStrategy.deletionRules.0.condition.jobDeploymentStatus", "Failed",
     "JobStatus and JobDeploymentStatus cannot be used together within the same deletion "
     "condition."),
    ("no condition", "deletion-rules.json", "spec.deletionStrategy.deletionRules.0.condition",
     {"ttlSeconds": 3},
     "the deletion condition requires either the JobStatus or the JobDeploymentStatus field."),
    ("negative rule ttl", "deletion-rules.json",
     "spec.deletionStrategy.deletionRules.0.condition.ttlSeconds", -1,
     "should be greater than or equal to 0"),
    ("unknown policy", "deletion-rules.json", "spec.deletionStrategy.deletionRules.0.policy",
     "DeleteAll", 'Unsupported value: "DeleteAll"'),
    ("unknown condition status", "deletion-rules.json",
     "spec.deletionStrategy.deletionRules.0.condition.jobStatus", "RUNNING",
     'Unsupported value: "RUNNING"'),
    ("preRunningDeadlineSeconds zero", "sample.json", "spec.preRunningDeadlineSeconds", 0,
     "should be greater than or equal to 1"),
    ("backoffLimit as a string", "sample.json", "spec.backoffLimit", "3",
     'spec.backoffLimit: Invalid value: "string"'),
    ("rayClusterSpec without head", "sample.json", "spec.rayClusterSpec.headGroupSpec", _DELETE,
     "spec.rayClusterSpec.headGroupSpec: Required value"),
    ("cron timeZone empty", "cronjob.json", "spec.timeZone", "",
     "should be at least 1 chars long"),
    ("cron without schedule", "cronjob.json", "spec.schedule", _DELETE,
     "spec.schedule: Required value"),
    ("cron template managedBy", "cronjob.json", "spec.jobTemplate.managedBy", "x",
     "the managedBy field value must be either"),
]


@pytest.mark.parametrize("case", REJECTIONS, ids=[c[0] for c in REJECTIONS])
def test_schema_and_cel_rejections(case, namespace):
    _, manifest, path, value, want = case
    obj = load(manifest)
    _set(obj, path, value)
    ok, out = dry_run(obj, namespace)
    assert not ok, f"accepted: {json.dumps(out)[:300]}"
    assert want in out, out


def test_managed_by_is_immutable_and_columns_are_kuberays(namespace):
    job = load("sample.json")
    job["metadata"]["namespace"] = namespace
    job["spec"]["managedBy"] = MULTIKUEUE
    kubectl("create", "-f", "-", input=json.dumps(job))
    r = kubectl("patch", "rayjob", "rayjob-sample", "-n", namespace, "--type=merge", "-p",
                json.dumps({"spec": {"managedBy": "ray.io/kuberay-operator"}}), check=False)
    assert r.returncode != 0 and "the managedBy field is immutable" in r.stderr, r.stderr

    status = {"jobStatus": "RUNNING", "jobDeploymentStatus": "Running",
              "rayClusterName": "rayjob-sample-raycluster-abcde",
              "startTime": "2024-01-01T00:00:00Z"}
    kubectl("patch", "rayjob", "rayjob-sample", "-n", namespace, "--subresource=status",
            "--type=merge", "-p", json.dumps({"status": status}))
    got = json.loads(kubectl("get", "rayjob", "rayjob-sample", "-n", namespace, "-o",
                             "json").stdout)
    assert got["status"]["succeeded"] == 0 and got["status"]["failed"] == 0  # schema defaults
    assert got["status"]["jobStatus"] == "RUNNING"
    # the status subresource: a status sent with a spec update is ignored
    got["status"]["jobStatus"] = "FAILED"
    kubectl("replace", "-f", "-", input=json.dumps(got))
    got = json.loads(kubectl("get", "rayjob", "rayjob-sample", "-n", namespace, "-o",
                             "json").stdout)
    assert got["status"]["jobStatus"] == "RUNNING"

    table = kubectl("get", "rayjobs", "-n", namespace).stdout.splitlines()
    header = table[0].split()
    assert header == ["NAME", "JOB", "STATUS", "DEPLOYMENT", "STATUS", "RAY", "CLUSTER", "NAME",
                      "START", "TIME", "END", "TIME", "AGE"], table[0]
    row = table[1].split()
    assert row[:4] == ["rayjob-sample", "RUNNING", "Running", "rayjob-sample-raycluster-abcde"]
    assert row[4] == "2024-01-01T00:00:00Z"

    r = kubectl("scale", "rayjob", "rayjob-sample", "-n", namespace, "--replicas=1", check=False)
    assert r.returncode != 0  # no scale subresource, as in KubeRay
    kubectl("delete", "rayjob", "rayjob-sample", "-n", namespace, "--wait=false")


def test_raycronjob_columns(namespace):
    cron = load("cronjob-timezone.json")
    cron["metadata"]["namespace"] = namespace
    cron.pop("status")
    cron["spec"]["suspend"] = True
    cron["spec"]["jobTemplate"]["managedBy"] = MULTIKUEUE
    kubectl("create", "-f", "-", input=json.dumps(cron))
    kubectl("patch", "raycronjob", "raycronjob-timezone", "-n", namespace, "--subresource=status",
            "--type=merge", "-p", json.dumps({"status": {"lastScheduleTime":
                                                         "2024-01-01T13:45:00Z"}}))
    table = wait_for(lambda: kubectl("get", "raycronjobs", "-n", namespace).stdout.splitlines(),
                     "raycronjob listing")
    assert table[0].split() == ["NAME", "SCHEDULE", "TIMEZONE", "LAST", "SCHEDULE", "AGE",
                                "SUSPEND"], table[0]
    row = table[1].split()
    assert row[0] == "raycronjob-timezone"
    assert row[-1] == "true"
    assert "Asia/Taipei" in row
    kubectl("delete", "raycronjob", "raycronjob-timezone", "-n", namespace, "--wait=false")


def test_pod_templates_are_typed(namespace):
    """The CRDs carry the full Kubernetes schemas (krc-gen-crds --k8s-openapi, the committed
    rendering, which the header comment of the generated file says), as KubeRay's."""
    with open(CRDS[1]) as f:
        assert "and the Kubernetes OpenAPI" in f.readline()
    job = load("sample.json")
    head = job["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    ok, out = dry_run(job, namespace)
    assert ok, out
    got = out["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert all(p["protocol"] == "TCP" for p in got["ports"])  # the Kubernetes default
    head["imagePullPolicyy"] = "Always"
    ok, out = dry_run(job, namespace)
    assert not ok and 'unknown field "spec.rayClusterSpec.headGroupSpec.template.spec.' \
        'containers[0].imagePullPolicyy"' in out, out
    del head["imagePullPolicyy"]
    head["ports"][0]["containerPort"] = "6379"
    ok, out = dry_run(job, namespace)
    assert not ok and "containerPort" in out, out


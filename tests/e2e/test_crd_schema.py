"""The committed RayCluster CRD (config/crd/bases/ray.io_rayclusters.yaml) carries KubeRay's full
schema, pod templates included (hack/gen-crds.sh from src/api/crd_schema.c and the pinned
Kubernetes OpenAPI), so the API server treats a RayCluster exactly as with KubeRay's CRD: unknown
fields inside a pod template are rejected under kubectl's default strict field validation and
pruned (with a warning) when validation is relaxed, wrong types are rejected with the API
server's message, and Kubernetes defaults (ports' protocol) are applied. Every RayCluster of
tests/data/raycluster is accepted. Everything is a server-side dry run.
"""
import copy
import json

import pytest

from conftest import CRD_APPLY_TIMEOUT_S, REPO, kubectl, wait_crd_established

CRD = REPO / "config" / "crd" / "bases" / "ray.io_rayclusters.yaml"
DATA = REPO / "tests" / "data" / "raycluster"
HEAD = "spec.headGroupSpec.template.spec.containers[0]"


@pytest.fixture(scope="module", autouse=True)
def crd(cluster):
    """The CRD as committed: server-side, as KubeRay documents for its full-schema CRDs."""
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD),
            timeout=CRD_APPLY_TIMEOUT_S)
    wait_crd_established("rayclusters.ray.io")


def test_committed_crd_is_the_full_schema():
    with open(CRD) as f:
        assert "and the Kubernetes OpenAPI" in f.readline()
    assert "x-kubernetes-preserve-unknown-fields" not in CRD.read_text()
    # like KubeRay's (~0.9 MB): far beyond client-side apply's 256 KiB annotation limit
    assert CRD.stat().st_size > 512 * 1024


def load(name="sample.json"):
    return json.loads((DATA / name).read_text())


def dry_run(obj, namespace, *flags):
    """Server-side dry-run create; returns (ok, object or error text, stderr)."""
    obj = copy.deepcopy(obj)
    obj["metadata"] = {"name": obj["metadata"]["name"], "namespace": namespace}
    obj.pop("status", None)
    r = kubectl("create", "--dry-run=server", "-o", "json", *flags, "-f", "-", check=False,
                input=json.dumps(obj))
    return (True, json.loads(r.stdout), r.stderr) if r.returncode == 0 else \
        (False, r.stderr, r.stderr)


@pytest.mark.parametrize("manifest", sorted(p.name for p in DATA.glob("*.json")))
def test_raycluster_manifest_is_accepted(manifest, namespace):
    ok, out, _ = dry_run(load(manifest), namespace)
    assert ok, f"{manifest} rejected: {out}"
    assert out["kind"] == "RayCluster"


def head_container(obj):
    return obj["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]


def test_unknown_field_in_pod_template_rejected_strict_pruned_otherwise(namespace):
    rc = load()
    head_container(rc)["imagePullPolicyy"] = "Always"
    rc["spec"]["workerGroupSpecs"][0]["template"]["spec"]["notAPodField"] = True
    # kubectl's default: strict server-side field validation, as against KubeRay's CRD
    ok, out, _ = dry_run(rc, namespace)
    assert not ok
    assert f'unknown field "{HEAD}.imagePullPolicyy"' in out, out
    assert 'unknown field "spec.workerGroupSpecs[0].template.spec.notAPodField"' in out, out
    # relaxed validation: a warning, and the API server prunes both fields
    ok, out, err = dry_run(rc, namespace, "--validate=warn")
    assert ok, out
    assert f'unknown field "{HEAD}.imagePullPolicyy"' in err, err
    assert "imagePullPolicyy" not in head_container(out)
    assert head_container(out)["image"] == head_container(rc)["image"]
    assert "notAPodField" not in out["spec"]["workerGroupSpecs"][0]["template"]["spec"]
    ok, out, err = dry_run(rc, namespace, "--validate=false")
    assert ok, out
    assert "imagePullPolicyy" not in json.dumps(out) and "notAPodField" not in json.dumps(out)


def test_wrong_types_in_pod_template_are_rejected_with_the_api_servers_message(namespace):
    rc = load()
    head_container(rc)["ports"] = [{"containerPort": "6379", "name": "gcs"}]
    ok, out, _ = dry_run(rc, namespace)
    assert not ok
    assert (f'{HEAD}.ports[0].containerPort: Invalid value: "string": {HEAD}.ports[0].'
            'containerPort in body must be of type integer: "string"') in out, out

    rc = load()
    head_container(rc)["env"] = "A=b"
    ok, out, _ = dry_run(rc, namespace)
    assert not ok
    assert f'{HEAD}.env: Invalid value: "string": {HEAD}.env in body must be of type array' \
        in out, out

    rc = load()
    head_container(rc)["resources"] = {"limits": {"cpu": "lots"}}
    ok, out, _ = dry_run(rc, namespace)
    assert not ok
    assert f'{HEAD}.resources.limits.cpu in body should match' in out, out

    rc = load()
    rc["spec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0].pop("name")
    ok, out, _ = dry_run(rc, namespace)
    assert not ok
    assert "spec.workerGroupSpecs[0].template.spec.containers[0].name: Required value" in out, out


def test_kubernetes_defaults_are_applied_to_pod_templates(namespace):
    rc = load()
    head_container(rc)["ports"] = [{"containerPort": 6379, "name": "gcs"}]
    ok, out, _ = dry_run(rc, namespace)
    assert ok, out
    assert head_container(out)["ports"] == [{"containerPort": 6379, "name": "gcs",
                                             "protocol": "TCP"}]

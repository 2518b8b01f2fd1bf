"""The test substrate is a real Kubernetes control plane: these tests prove each piece the later
tests rely on (API server with CRDs and RBAC, the controller-manager's garbage collector, Job,
ReplicaSet, EndpointSlice and ServiceAccount controllers, the scheduler, kwok, and hack/cluster.sh)."""
import json
import subprocess
import uuid

import pytest
from kubernetes import client

from conftest import CLUSTER_SH, kubectl, wait_for

KWOK_TAINT = client.V1Taint(key="kwok.x-k8s.io/node", value="fake", effect="NoSchedule")
KWOK_TOLERATION = client.V1Toleration(key="kwok.x-k8s.io/node", operator="Exists",
                                      effect="NoSchedule")


def test_readyz_verbose_passes_every_check(cluster):
    out = kubectl("get", "--raw", "/readyz?verbose").stdout
    assert "readyz check passed" in out
    assert "[+]etcd ok" in out
    assert "[-]" not in out, "a readiness check failed:\n" + out


def test_server_reports_the_pinned_version(api, cluster):
    version = client.VersionApi(api).get_code()
    pinned = open(CLUSTER_SH.parent / "versions.env").read()
    assert f"K8S_VERSION={version.git_version}\n" in pinned


def test_crd_and_custom_resource_round_trip_with_status_subresource(api, namespace):
    ext = client.ApiextensionsV1Api(api)
    custom = client.CustomObjectsApi(api)
    group = f"g{uuid.uuid4().hex[:8]}.test.kuberay-c.io"
    crd_name = f"widgets.{group}"
    schema = {"type": "object", "properties": {
        "spec": {"type": "object", "properties": {"size": {"type": "integer", "minimum": 1}}},
        "status": {"type": "object", "properties": {"state": {"type": "string"}}}}}
    ext.create_custom_resource_definition({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": crd_name},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": schema}}]}})
    try:
        def established():
            crd = ext.read_custom_resource_definition(crd_name)
            return any(c.type == "Established" and c.status == "True"
                       for c in (crd.status.conditions or []))
        wait_for(established, f"CRD {crd_name} Established")
        body = {"apiVersion": f"{group}/v1", "kind": "Widget",
                "metadata": {"name": "w1"}, "spec": {"size": 3}}
        wait_for(lambda: custom.create_namespaced_custom_object(group, "v1", namespace,
                                                                "widgets", body),
                 "widget create accepted")
        got = custom.get_namespaced_custom_object(group, "v1", namespace, "widgets", "w1")
        assert got["spec"] == {"size": 3}

        # The status subresource ignores spec changes and vice versa.
        got["status"] = {"state": "ready"}
        got["spec"]["size"] = 99
        custom.replace_namespaced_custom_object_status(group, "v1", namespace, "widgets", "w1", got)
        again = custom.get_namespaced_custom_object(group, "v1", namespace, "widgets", "w1")
        assert again["status"] == {"state": "ready"}
        assert again["spec"] == {"size": 3}

        # The schema is enforced by the API server.
        bad = {"apiVersion": f"{group}/v1", "kind": "Widget",
               "metadata": {"name": "w2"}, "spec": {"size": 0}}
        with pytest.raises(client.ApiException) as err:
            custom.create_namespaced_custom_object(group, "v1", namespace, "widgets", bad)
        assert err.value.status == 422
    finally:
        ext.delete_custom_resource_definition(crd_name)


def test_garbage_collector_deletes_job_whose_owner_is_deleted(api, core, namespace):
    batch = client.BatchV1Api(api)
    owner = core.create_namespaced_config_map(namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="owner")))
    job = client.V1Job(
        metadata=client.V1ObjectMeta(name="owned", owner_references=[client.V1OwnerReference(
            api_version="v1", kind="ConfigMap", name="owner", uid=owner.metadata.uid)]),
        spec=client.V1JobSpec(template=client.V1PodTemplateSpec(spec=client.V1PodSpec(
            restart_policy="Never",
            containers=[client.V1Container(name="c", image="busybox", command=["true"])]))))
    batch.create_namespaced_job(namespace, job)
    # The Job controller really runs: it creates the Job's pod (which stays Pending: no node).
    wait_for(lambda: core.list_namespaced_pod(namespace, label_selector="job-name=owned").items,
             "the Job controller to create the Job's pod")

    core.delete_namespaced_config_map("owner", namespace)

    def job_gone():
        try:
            batch.read_namespaced_job("owned", namespace)
            return False
        except client.ApiException as e:
            return e.status == 404
    wait_for(job_gone, "the garbage collector to delete the orphaned Job")


def test_deployment_pods_stay_pending_and_unschedulable_without_nodes(api, core, namespace):
    apps = client.AppsV1Api(api)
    labels = {"app": "pending-web"}
    apps.create_namespaced_deployment(namespace, client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(
            replicas=2, selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="nginx")])))))

    def unschedulable_pods():
        pods = core.list_namespaced_pod(namespace, label_selector="app=pending-web").items
        done = [p for p in pods if p.status.phase == "Pending" and any(
            c.type == "PodScheduled" and c.status == "False" and c.reason == "Unschedulable"
            for c in (p.status.conditions or []))]
        return len(done) == 2 and done
    pods = wait_for(unschedulable_pods, "2 Pending pods marked Unschedulable by the scheduler")
    assert all(p.spec.node_name is None for p in pods)


def test_kwok_node_and_pod_reach_running_and_endpointslice_follows(api, core, namespace):
    node_name = "kwok-" + uuid.uuid4().hex[:8]
    core.create_node(client.V1Node(
        metadata=client.V1ObjectMeta(name=node_name, annotations={"kwok.x-k8s.io/node": "fake"},
                                     labels={"type": "kwok", "kubernetes.io/hostname": node_name}),
        spec=client.V1NodeSpec(taints=[KWOK_TAINT])))
    try:
        def node_ready():
            node = core.read_node(node_name)
            return any(c.type == "Ready" and c.status == "True"
                       for c in (node.status.conditions or []))
        wait_for(node_ready, f"kwok node {node_name} Ready")

        labels = {"app": "sim"}
        core.create_namespaced_pod(namespace, client.V1Pod(
            metadata=client.V1ObjectMeta(name="sim", labels=labels),
            spec=client.V1PodSpec(
                node_selector={"kubernetes.io/hostname": node_name},
                tolerations=[KWOK_TOLERATION],
                containers=[client.V1Container(
                    name="c", image="x", ports=[client.V1ContainerPort(container_port=8080)])])))
        core.create_namespaced_service(namespace, client.V1Service(
            metadata=client.V1ObjectMeta(name="sim"),
            spec=client.V1ServiceSpec(selector=labels, cluster_ip="None",
                                      ports=[client.V1ServicePort(port=8080)])))

        def running():
            pod = core.read_namespaced_pod("sim", namespace)
            return pod.status.phase == "Running" and pod.status.pod_ip and pod
        pod = wait_for(running, "the kwok pod to reach Running")
        assert pod.spec.node_name == node_name

        discovery = client.DiscoveryV1Api(api)

        def endpoint_ips():
            # Raw JSON: the Python client's model rejects a slice whose endpoints are null, which
            # the EndpointSlice controller legitimately writes before the pod is ready.
            resp = discovery.list_namespaced_endpoint_slice(
                namespace, label_selector="kubernetes.io/service-name=sim",
                _preload_content=False)
            slices = json.loads(resp.data)["items"]
            return [a for s in slices for e in (s.get("endpoints") or []) for a in e["addresses"]]
        assert wait_for(endpoint_ips, "an EndpointSlice with the pod's IP") == [pod.status.pod_ip]
    finally:
        core.delete_node(node_name)


def test_rbac_forbids_a_service_account_without_roles(api, core, namespace):
    core.create_namespaced_service_account(namespace, client.V1ServiceAccount(
        metadata=client.V1ObjectMeta(name="nobody")))
    token = core.create_namespaced_service_account_token(
        "nobody", namespace, client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=600))).status.token
    assert token
    # A client with only the server, the CA and this token: no admin certificate to fall back on.
    cfg = client.Configuration()
    cfg.host = api.configuration.host
    cfg.ssl_ca_cert = api.configuration.ssl_ca_cert
    cfg.api_key = {"authorization": "Bearer " + token}
    restricted = client.CoreV1Api(client.ApiClient(cfg))
    with pytest.raises(client.ApiException) as err:
        restricted.list_namespaced_pod(namespace)
    assert err.value.status == 403
    assert f"system:serviceaccount:{namespace}:nobody" in err.value.body


def test_second_instance_runs_beside_and_down_leaves_no_process(cluster, tmp_path):
    name = "krc-side-" + uuid.uuid4().hex[:6]
    try:
        subprocess.run([str(CLUSTER_SH), "up", "--name", name, "--port-base", "17500"],
                       check=True, capture_output=True, text=True, timeout=180)
        env_out = subprocess.run([str(CLUSTER_SH), "env", "--name", name], check=True,
                                 capture_output=True, text=True).stdout
        side_kubeconfig = [l for l in env_out.splitlines()
                           if l.startswith("export KUBECONFIG=")][0].split("=", 1)[1].strip("'")
        ns = kubectl("--kubeconfig", side_kubeconfig, "get", "ns", "-o", "name").stdout
        assert "namespace/default" in ns
        # The instance under test is untouched by the second one.
        assert "readyz check passed" in kubectl("get", "--raw", "/readyz?verbose").stdout

        # `up --no-operator` stops the instance's operator, and a later plain `up` (what a test
        # restarting the apiserver runs) remembers it and starts none.
        def operator_pids():
            return subprocess.run(["pgrep", "-f", f"kuberay-operator .*clusters/{name}/"],
                                  capture_output=True, text=True).stdout.split()
        assert operator_pids(), "a plain `up` of a new instance starts kuberay-operator"
        subprocess.run([str(CLUSTER_SH), "up", "--name", name, "--no-operator"],
                       check=True, capture_output=True, text=True, timeout=180)
        assert operator_pids() == []
        subprocess.run([str(CLUSTER_SH), "up", "--name", name],
                       check=True, capture_output=True, text=True, timeout=180)
        assert operator_pids() == [], "a plain `up` started the operator --no-operator stopped"
    finally:
        subprocess.run([str(CLUSTER_SH), "down", "--name", name, "--purge"], check=False,
                       capture_output=True, timeout=120)
    left = subprocess.run(["pgrep", "-f", f"clusters/{name}/"], capture_output=True, text=True)
    assert left.stdout == "", f"processes left after down: {left.stdout}"

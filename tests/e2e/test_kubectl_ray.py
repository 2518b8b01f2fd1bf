"""kubectl-ray (the `kubectl ray` plugin, src/cli) against a real control plane, kuberay-operator
and real Ray on the node agents.

One Ray cluster serves the whole module (Ray's start-up dominates the wall time): `create
cluster --wait` creates it while no operator runs yet, the test adds what this substrate needs to
the pod templates (a toleration for the agents' taint, RAY_USAGE_STATS_ENABLED=0: things the
plugin has no flags for), then starts the operator, and `--wait` must see the cluster
provisioned. The tests then read it back with `get cluster/node/workergroup`, scale it and
delete it, in file order; outputs are compared with the spec's texts (kubectl-ray.md §4, §8).
"""
import json
import os
import pathlib
import re
import subprocess
import uuid

import pytest
from kubernetes import client

from conftest import REPO, _has_default_sa, kubectl, wait_for
from test_raycluster_controller import GROUP, PLURAL, VERSION, Operator, check_log, crd  # noqa: F401
from test_raycluster_ray import RAY_ENV, TOLERATIONS, agent_nodes  # noqa: F401

CLUSTER = "demo"
RAY_TIMEOUT_S = 600  # Ray start on a shared, loaded 2-core machine
CMD_TIMEOUT_S = 60

EXAMPLE_1 = """\
apiVersion: ray.io/v1
kind: RayCluster
metadata:
  name: demo
  namespace: default
spec:
  autoscalerOptions:
    version: v2
  enableInTreeAutoscaling: true
  headGroupSpec:
    rayStartParams:
      num-cpus: "0"
    template:
      spec:
        containers:
        - image: rayproject/ray:2.52.0
          name: ray-head
          ports:
          - containerPort: 6379
            name: gcs-server
          - containerPort: 8265
            name: dashboard
          - containerPort: 10001
            name: client
          resources:
            limits:
              memory: 4Gi
            requests:
              cpu: "2"
              memory: 4Gi
  rayVersion: 2.52.0
  workerGroupSpecs:
  - groupName: default-group
    numOfHosts: 1
    replicas: 2
    template:
      spec:
        containers:
        - image: rayproject/ray:2.52.0
          name: ray-worker
          resources:
            limits:
              memory: 4Gi
            requests:
              cpu: "2"
              memory: 4Gi

"""


def plugin_binary():
    build = os.environ.get("KRC_BUILD_DIR", str(REPO / "build" / "debug"))
    path = pathlib.Path(build) / "src" / "cli" / "kubectl-ray"
    if not path.is_file():
        pytest.skip("kubectl-ray is not built")
    return str(path)


def ray(*args, input=None, check=True):
    """Runs kubectl-ray; returns CompletedProcess (stdout, stderr, returncode)."""
    out = subprocess.run([plugin_binary(), *args], capture_output=True, text=True, input=input,
                         timeout=CMD_TIMEOUT_S)
    if check:
        assert out.returncode == 0, f"kubectl-ray {args}: {out.returncode}\n{out.stderr}"
    return out


def table(text):
    """Rows of a kubectl-ray table as lists of cells (cells are separated by >= 3 spaces)."""
    return [re.split(r" {3,}", line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def custom(api):
    return client.CustomObjectsApi(api)


@pytest.fixture(scope="module")
def ns(core):
    name = "t-" + uuid.uuid4().hex[:10]
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    wait_for(lambda: _has_default_sa(core, name), "default ServiceAccount in " + name)
    yield name
    core.delete_namespace(name, propagation_policy="Foreground")


def _template_patch():
    ops = []
    for path in ["/spec/headGroupSpec/template/spec",
                 "/spec/workerGroupSpecs/0/template/spec"]:
        ops.append({"op": "add", "path": path + "/tolerations", "value": TOLERATIONS})
        ops.append({"op": "add", "path": path + "/containers/0/env", "value": RAY_ENV})
    return ops


@pytest.fixture(scope="module")
def demo(crd, agent_nodes, ns, core, custom, tmp_path_factory):  # noqa: F811
    """The module's Ray cluster; yields the output of `create cluster --wait`."""
    create = subprocess.Popen(
        [plugin_binary(), "-n", ns, "create", "cluster", CLUSTER, "--head-cpu", "1",
         "--head-memory", "2Gi", "--worker-cpu", "1", "--worker-memory", "1Gi",
         "--head-ray-start-params", "num-cpus=0", "--wait", "--timeout", f"{RAY_TIMEOUT_S}s"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    op = Operator(ns, tmp_path_factory.mktemp("operator"))
    try:
        wait_for(lambda: custom.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)["items"],
                 "the RayCluster created by kubectl-ray")
        kubectl("patch", "-n", ns, "raycluster", CLUSTER, "--type=json",
                "-p", json.dumps(_template_patch()))
        op.start()
        stdout, stderr = create.communicate(timeout=RAY_TIMEOUT_S + 30)
        assert create.returncode == 0, stderr
        yield stdout
    finally:
        if create.poll() is None:
            create.kill()
        custom.delete_collection_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)
        wait_for(lambda: not core.list_namespaced_pod(ns).items, f"pods of {ns} gone",
                 timeout=120)
        if op.proc:
            op.stop()
            check_log(op)


def test_dry_run_prints_the_generated_cluster_of_example_1():
    out = ray("-n", "default", "create", "cluster", "demo", "--worker-replicas", "2",
              "--head-ray-start-params", "num-cpus=0", "--autoscaler", "V2", "--dry-run")
    assert out.stdout == EXAMPLE_1
    assert out.stderr == ""


def test_errors_go_to_stderr_with_exit_status_1():
    out = ray("create", "cluster", check=False)
    assert (out.returncode, out.stdout) == (1, "")
    assert out.stderr == ("Error: cluster [CLUSTERNAME]\n"
                          "See 'ray create cluster -h' for help and examples\n")
    out = ray("scale", "cluster", "demo", "-w", "g", "-r", "x", check=False)
    assert out.returncode == 1
    assert out.stderr == ('Error: invalid argument "x" for "-r, --replicas" flag: '
                          'strconv.ParseInt: parsing "x": invalid syntax\n')
    out = ray("gte", check=False)
    assert out.returncode == 1
    assert out.stderr.startswith('Error: unknown command "gte" for "ray"\n')
    assert ray().stdout.startswith("Manage Ray resources on Kubernetes\n")


def test_version_without_an_operator_deployment():
    out = ray("version")
    assert out.stdout.splitlines()[0] == "kubectl ray plugin version: development"
    assert out.stdout.splitlines()[1].startswith(
        "warning: KubeRay operator installation cannot be found: ")


def test_create_waits_until_provisioned_and_refuses_a_second_create(demo, ns):
    assert demo == f"Created Ray cluster: {CLUSTER}\nRay cluster {CLUSTER} is provisioned\n"
    out = ray("-n", ns, "create", "cluster", CLUSTER, check=False)
    assert out.returncode == 1
    assert out.stderr == f"Error: the Ray cluster {CLUSTER} in namespace {ns} already exists\n"


def test_get_cluster_shows_it(demo, ns):
    out = ray("-n", ns, "get", "cluster")
    rows = table(out.stdout)
    assert rows[0] == ["NAME", "NAMESPACE", "DESIRED WORKERS", "AVAILABLE WORKERS", "CPUS",
                       "GPUS", "TPUS", "MEMORY", "CONDITION", "STATUS", "AGE"]
    assert len(rows) == 2
    assert rows[1][:10] == [CLUSTER, ns, "1", "1", "2", "0", "0", "3Gi",
                            "RayClusterProvisioned", "ready"]
    assert re.fullmatch(r"\d+(s|m\d*s?)", rows[1][10]), rows[1]
    # -A and the name filter find it too; an unknown name is an error, an empty list is not
    assert CLUSTER in ray("get", "cluster", "-A").stdout
    named = table(ray("-n", ns, "get", "cluster", CLUSTER).stdout)
    assert [r[:-1] for r in named] == [r[:-1] for r in rows]  # AGE may have moved on
    missing = ray("-n", ns, "get", "cluster", "nope", check=False)
    assert (missing.returncode, missing.stderr) == (
        1, f"Error: Ray cluster nope not found in namespace {ns}\n")
    assert ray("-n", "default", "get", "cluster").stdout == ""


def test_get_node_lists_its_pods(demo, ns, core):
    pods = {p.metadata.name: p for p in core.list_namespaced_pod(ns).items}
    rows = table(ray("-n", ns, "get", "nodes", "-c", CLUSTER).stdout)
    assert rows[0] == ["NAME", "CPUS", "GPUS", "TPUS", "MEMORY", "CLUSTER", "TYPE",
                       "WORKER GROUP", "AGE"]
    by_type = {r[6]: r for r in rows[1:]}
    assert sorted(r[0] for r in rows[1:]) == sorted(pods)
    assert by_type["head"][1:8] == ["1", "0", "0", "2Gi", CLUSTER, "head", "headgroup"]
    assert by_type["worker"][1:8] == ["1", "0", "0", "1Gi", CLUSTER, "worker", "default-group"]
    all_rows = table(ray("get", "node", "-A").stdout)
    assert all_rows[0][0] == "NAMESPACE"
    assert [ns, by_type["head"][0]] in [r[:2] for r in all_rows[1:]]


def test_get_workergroup_shows_ready_replicas_and_totals(demo, ns):
    out = ray("-n", ns, "get", "workergroup", "-c", CLUSTER)
    assert table(out.stdout) == [
        ["NAME", "MIN", "MAX", "REPLICAS", "CPUS", "GPUS", "TPUS", "MEMORY", "CLUSTER"],
        ["default-group", "0", "2147483647", "1/1", "1", "0", "0", "1Gi", CLUSTER]]
    missing = ray("-n", ns, "get", "workergroup", "gpu", "-c", CLUSTER, check=False)
    assert missing.stderr == (f"Error: Ray worker group gpu not found in namespace {ns} "
                              f"in Ray cluster {CLUSTER}\n")


def test_log_writes_each_pods_stdout_log_and_ray_session_logs(demo, ns, core, tmp_path):
    pods = sorted(p.metadata.name for p in core.list_namespaced_pod(ns).items)
    out = ray("-n", ns, "log", CLUSTER, "--out-dir", str(tmp_path))
    assert out.stdout == ("Command set to retrieve both head and worker node logs.\n"
                          + "".join(f"Downloading log for Ray Node {pod}\n" for pod in pods))
    assert sorted(os.listdir(tmp_path)) == pods
    for pod in pods:
        want = kubectl("logs", "-n", ns, pod).stdout
        assert (tmp_path / pod / "stdout.log").read_text()[:len(want)] == want
        # /tmp/ray/session_latest/logs of the pod, through pods/exec + tar, as KubeRay does
        assert (tmp_path / pod / "raylet.out").stat().st_size > 0, os.listdir(tmp_path / pod)
    head_pod = next(p for p in pods if "-head-" in p)
    gcs = (tmp_path / head_pod / "gcs_server.out").read_text()
    assert gcs, "gcs_server.out is empty"
    live = kubectl("exec", "-n", ns, head_pod, "--", "head", "-c", "200",
                   "/tmp/ray/session_latest/logs/gcs_server.out").stdout
    n = min(len(gcs), len(live))
    assert gcs[:n] == live[:n]
    (tmp_path / "heads").mkdir()
    head = ray("-n", ns, "logs", CLUSTER, "--node-type", "HEAD", "--out-dir",
               str(tmp_path / "heads"))
    assert head.stdout == ("Command set to retrieve only head node logs.\n"
                           f"Downloading log for Ray Node {head_pod}\n")
    assert [p.split("-head-")[0] for p in os.listdir(tmp_path / "heads")] == [CLUSTER]
    assert (tmp_path / "heads" / head_pod / "raylet.out").is_file()


def test_job_submit_runs_an_interactive_rayjob_on_the_cluster(demo, ns, core, tmp_path):
    """-f with an InteractiveMode RayJob selecting the module's cluster; --address names the head
    pod's dashboard (pod IPs are reachable from the host here), so no port-forward."""
    head = [p for p in core.list_namespaced_pod(ns, label_selector="ray.io/node-type=head").items]
    address = f"http://{head[0].status.pod_ip}:8265"
    job_file = tmp_path / "job.yaml"
    job_file.write_text("apiVersion: ray.io/v1\nkind: RayJob\nmetadata:\n  name: kr-job\n"
                        "spec:\n  submissionMode: InteractiveMode\n  entrypoint: ignored\n"
                        f"  clusterSelector:\n    ray.io/cluster: {CLUSTER}\n")
    workdir = tmp_path / "app"
    workdir.mkdir()
    (workdir / "answer.py").write_text("print('answer', 6 * 7)\n")
    out = subprocess.run(
        [plugin_binary(), "-n", ns, "job", "submit", "-f", str(job_file), "--address", address,
         "--working-dir", str(workdir), "--submission-id", "kr-42", "--",
         "python", "answer.py"],
        capture_output=True, text=True, timeout=RAY_TIMEOUT_S)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[:4] == ["Submitted RayJob kr-job.", "Waiting for RayCluster",
                         f"Checking Cluster Status for cluster {CLUSTER}...",
                         f"Using address {address} (no port-forwarding)"], lines
    assert lines[4] == (f"Ray command: [ray job submit --address {address} --submission-id kr-42 "
                        f"--working-dir {workdir} -- python answer.py]")
    assert lines[5] == "Running Ray submit job command..."
    assert "answer 42" in lines, out.stdout
    assert "" not in lines[6:]  # empty lines of `ray` are dropped
    assert lines[-2:] == ["Current status: SUCCEEDED (RayJob: kr-job, JobID: kr-42)",
                          "Job kr-42 finished with status SUCCEEDED."], lines
    # the RayJob is kept; delete takes it with its type
    assert ray("-n", ns, "delete", "-y", "rayjob/kr-job").stdout == "Deleted rayjob kr-job\n"


def test_job_submit_without_address_port_forwards_the_dashboard(demo, ns, tmp_path):
    """Without --address the plugin forwards 127.0.0.1:8265 to the head pod's dashboard through
    the API server (pods/portforward), as KubeRay's does, and `ray job submit` goes through it."""
    job_file = tmp_path / "job.yaml"
    job_file.write_text("apiVersion: ray.io/v1\nkind: RayJob\nmetadata:\n  name: kr-pf-job\n"
                        "spec:\n  submissionMode: InteractiveMode\n  entrypoint: ignored\n"
                        f"  clusterSelector:\n    ray.io/cluster: {CLUSTER}\n")
    workdir = tmp_path / "app"
    workdir.mkdir()
    (workdir / "answer.py").write_text("print('forwarded', 6 * 7)\n")
    out = subprocess.run(
        [plugin_binary(), "-n", ns, "job", "submit", "-f", str(job_file), "--working-dir",
         str(workdir), "--submission-id", "kr-pf-42", "--", "python", "answer.py"],
        capture_output=True, text=True, timeout=RAY_TIMEOUT_S)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert "Forwarding from 127.0.0.1:8265 -> 8265" in lines, lines
    # "Handling connection for 8265" (the forwarder's) may land inside the waiting line
    assert any(line.startswith("Waiting for port forwarding...") for line in lines), lines
    assert any(line.endswith("Port forwarding started on http://localhost:8265")
               for line in lines), lines
    assert ("Ray command: [ray job submit --address http://localhost:8265 --submission-id "
            f"kr-pf-42 --working-dir {workdir} -- python answer.py]") in lines, lines
    assert "Handling connection for 8265" in lines, lines
    assert "forwarded 42" in lines, out.stdout
    assert lines[-1] == "Job kr-pf-42 finished with status SUCCEEDED.", lines
    ray("-n", ns, "delete", "-y", "rayjob/kr-pf-job")


def test_scale_cluster_changes_the_group(demo, ns, custom):
    out = ray("-n", ns, "scale", "cluster", CLUSTER, "-w", "default-group", "-r", "2",
              "--max-replicas", "3")
    assert out.stdout == (f"Updated worker group default-group in Ray cluster {CLUSTER} in "
                          f"namespace {ns} (Scaled maxReplicas: 2147483647 to 3, "
                          "Scaled Replicas: 1 to 2)\n")
    group = custom.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, CLUSTER)[
        "spec"]["workerGroupSpecs"][0]
    assert (group["replicas"], group["maxReplicas"], group["minReplicas"]) == (2, 3, 0)
    again = ray("-n", ns, "scale", "cluster", CLUSTER, "-w", "default-group", "-r", "2")
    assert again.stdout.endswith("already matches the requested configuration. Skipping.\n")
    bad = ray("-n", ns, "scale", "cluster", CLUSTER, "-w", "default-group", "--min-replicas",
              "6", check=False)
    assert bad.stderr == "Error: cannot set --min-replicas (6) greater than --max-replicas (3)\n"
    rows = table(ray("-n", ns, "get", "workergroup").stdout)
    assert rows[1][2] == "3" and rows[1][3].endswith("/2") and rows[1][4] == "2", rows
    # the operator acts on it: a second worker pod appears
    wait_for(lambda: len(table(ray("-n", ns, "get", "node", "-c", CLUSTER).stdout)) == 4,
             "a third Ray node", timeout=60)


def test_create_workergroup_appends_a_group(demo, ns):
    out = ray("-n", ns, "create", "workergroup", "extra", "-c", CLUSTER, "--worker-replicas", "0",
              "--worker-cpu", "1", "--worker-memory", "1Gi")
    assert out.stdout == f"Updated Ray cluster {ns}/{CLUSTER} with new worker group\n"
    rows = table(ray("-n", ns, "get", "workergroup", "extra").stdout)
    assert rows[1] == ["extra", "1", "10", "0/0", "0", "0", "0", "0", CLUSTER]


def test_delete_asks_then_removes_it(demo, ns, custom):
    cancel = ray("-n", ns, "delete", CLUSTER, input="n\n")
    assert cancel.stdout == ("Are you sure you want to delete the following resources?\n"
                             f"- raycluster/{CLUSTER}\n(y/yes/n/no)Canceled deletion.\n")
    out = ray("-n", ns, "delete", CLUSTER, input="yes\n")
    assert out.stdout.endswith(f"(y/yes/n/no)Deleted raycluster {CLUSTER}\n")
    wait_for(lambda: not custom.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)[
        "items"], "the RayCluster gone")
    again = ray("-n", ns, "delete", "-y", CLUSTER, check=False)
    assert again.stderr == (f'Error: failed to delete raycluster/{CLUSTER}: rayclusters.ray.io '
                            f'"{CLUSTER}" not found\n')

"""Shared pytest fixtures for kuberay-c's integration and end-to-end tests.

Tests talk to a real control plane. `make test` (hack/test.sh) starts a private instance (with two
node agents, kuberay-node) and exports KUBECONFIG before pytest runs; when pytest is run by hand
without KUBECONFIG, the session starts its own instance ("krc-pytest", with the same node agents
when a kuberay-node is built) and stops it at the end.
"""
import os
import pathlib
import subprocess
import time
import uuid

import pytest
from kubernetes import client, config

REPO = pathlib.Path(__file__).resolve().parent.parent
CLUSTER_SH = REPO / "hack" / "cluster.sh"
DEFAULT_TIMEOUT_S = 60
# kubectl apply --server-side of the full-schema CRDs (1-3 MB): seconds, more on a loaded machine
CRD_APPLY_TIMEOUT_S = 300


def _cluster_env(name):
    out = subprocess.run([str(CLUSTER_SH), "env", "--name", name], check=True,
                         capture_output=True, text=True).stdout
    env = {}
    for line in out.splitlines():
        if line.startswith("export "):
            key, _, val = line[len("export "):].partition("=")
            env[key] = val.strip("'")
    # PATH is printed as 'dirs':"$PATH"; expand it here.
    path = env.get("PATH", "").replace('"$PATH"', os.environ.get("PATH", ""))
    env["PATH"] = path.replace("'", "")
    return env


def _node_binary():
    """The kuberay-node to run as node agents, found as hack/cluster.sh does; None if unbuilt."""
    build = os.environ.get("KRC_BUILD_DIR")
    for b in [os.environ.get("KRC_NODE_BINARY"),
              build and os.path.join(build, "src/node/kuberay-node"),
              REPO / "build/release/src/node/kuberay-node",
              REPO / "build/debug/src/node/kuberay-node"]:
        if b and os.access(str(b), os.X_OK):
            return str(b)
    return None


def _node_agents():
    """Node agents for a self-started instance: KRC_TEST_NODES (default 2, as hack/test.sh), none
    without a built kuberay-node."""
    return int(os.environ.get("KRC_TEST_NODES", "2")) if _node_binary() else 0


def _node_agent_env():
    """The same node-agent settings as hack/test.sh: tainted nodes, a short crash back-off."""
    env = dict(os.environ)
    if _node_binary():
        env.setdefault("KRC_NODE_BINARY", _node_binary())
    env.setdefault("KRC_NODE_TAINTS", "kuberay-c.io/node-agent=true:NoSchedule")
    env.setdefault("KRC_NODE_BACKOFF_BASE_MS", "1000")
    env.setdefault("KRC_NODE_ARGS", "--volume-refresh-seconds 5 --token-refresh-fraction 0.02")
    return env


@pytest.fixture(scope="session")
def cluster():
    """Name and environment (KUBECONFIG, PATH) of the control plane under test."""
    name = os.environ.get("KRC_TEST_CLUSTER_NAME")
    started = False
    if not name or not os.environ.get("KUBECONFIG"):
        name = "krc-pytest"
        subprocess.run([str(CLUSTER_SH), "up", "--name", name, "--kwok",
                        "--nodes", str(_node_agents()), "--no-operator"],
                       check=True, env=_node_agent_env())
        started = True
    env = _cluster_env(name)
    os.environ["PATH"] = env["PATH"]
    os.environ["KUBECONFIG"] = env["KUBECONFIG"]
    os.environ.setdefault("KRC_TEST_CLUSTER_NAME", name)
    if env.get("KRC_NODE_STATE_ROOT"):
        os.environ["KRC_NODE_STATE_ROOT"] = env["KRC_NODE_STATE_ROOT"]
    yield {"name": name, "env": env}
    if started:
        subprocess.run([str(CLUSTER_SH), "down", "--name", name, "--purge"], check=False)


@pytest.fixture(scope="session")
def api(cluster):
    return config.new_client_from_config(config_file=cluster["env"]["KUBECONFIG"])


@pytest.fixture(scope="session")
def core(api):
    return client.CoreV1Api(api)


def kubectl(*args, check=True, input=None, timeout=DEFAULT_TIMEOUT_S):
    """Runs the pinned kubectl against the cluster under test; returns CompletedProcess."""
    return subprocess.run(["kubectl", *args], check=check, capture_output=True, text=True,
                          input=input, timeout=timeout)


def wait_crd_established(name, timeout=60):
    """Waits until CRD `name` has Established=True. Not `kubectl wait`: right after an apply a CRD
    may have no status.conditions yet, and kubectl wait then fails at once instead of waiting."""
    def established():
        out = kubectl("get", "crd", name, "-o",
                      'jsonpath={.status.conditions[?(@.type=="Established")].status}',
                      check=False)
        return out.returncode == 0 and out.stdout.strip() == "True"
    wait_for(established, f"CRD {name} Established", timeout=timeout, interval=0.5)


@pytest.fixture
def namespace(core):
    """A fresh namespace per test, deleted afterwards (with everything in it)."""
    name = "t-" + uuid.uuid4().hex[:10]
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    # Pods need the namespace's default ServiceAccount, which a controller creates.
    wait_for(lambda: _has_default_sa(core, name), "default ServiceAccount in " + name)
    yield name
    core.delete_namespace(name, propagation_policy="Foreground")


def _has_default_sa(core, ns):
    try:
        core.read_namespaced_service_account("default", ns)
        return True
    except client.ApiException as e:
        if e.status == 404:
            return False
        raise


def wait_for(predicate, what, timeout=DEFAULT_TIMEOUT_S, interval=0.2):
    """Polls predicate until it returns a truthy value; fails the test naming `what`."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except client.ApiException as e:  # transient API errors while objects appear
            last_error = e
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}"
                + (f" (last error: {last_error})" if last_error else ""))

"""Shared pytest fixtures for kuberay-c's integration and end-to-end tests.

Tests talk to a real control plane. `make test` (hack/test.sh) starts a private instance and
exports KUBECONFIG before pytest runs; when pytest is run by hand without KUBECONFIG, the session
starts its own instance ("krc-pytest") and stops it at the end.
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


def _cluster_env(name):
    out = subprocess.run([str(CLUSTER_SH), "env", "--name", name], check=True,
                         capture_output=True, text=True).stdout
    env = {}
    for line in out.splitlines():
        if line.startswith("export "):
            key, _, val = line[len("export "):].partition("=")
            env[key] = val
    # PATH is printed as 'dirs':"$PATH"; expand it here.
    path = env.get("PATH", "").replace('"$PATH"', os.environ.get("PATH", ""))
    env["PATH"] = path.replace("'", "")
    env["KUBECONFIG"] = env["KUBECONFIG"].strip("'")
    return env


@pytest.fixture(scope="session")
def cluster():
    """Name and environment (KUBECONFIG, PATH) of the control plane under test."""
    name = os.environ.get("KRC_TEST_CLUSTER_NAME")
    started = False
    if not name or not os.environ.get("KUBECONFIG"):
        name = "krc-pytest"
        subprocess.run([str(CLUSTER_SH), "up", "--name", name, "--kwok"], check=True)
        started = True
    env = _cluster_env(name)
    os.environ["PATH"] = env["PATH"]
    os.environ["KUBECONFIG"] = env["KUBECONFIG"]
    yield {"name": name, "env": env}
    if started:
        subprocess.run([str(CLUSTER_SH), "down", "--name", name, "--purge"], check=False)


@pytest.fixture(scope="session")
def api(cluster):
    return config.new_client_from_config(config_file=cluster["env"]["KUBECONFIG"])


@pytest.fixture(scope="session")
def core(api):
    return client.CoreV1Api(api)


def kubectl(*args, check=True, input=None):
    """Runs the pinned kubectl against the cluster under test; returns CompletedProcess."""
    return subprocess.run(["kubectl", *args], check=check, capture_output=True, text=True,
                          input=input, timeout=DEFAULT_TIMEOUT_S)


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

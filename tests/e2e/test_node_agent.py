"""End-to-end tests of the node agent (kuberay-node, src/node): real pods as processes on the real
control plane. They need the instance to run node agents (hack/test.sh starts it with --nodes 2;
a by-hand pytest run starts its own with nodes, see tests/conftest.py) and are skipped otherwise.

Every test runs in a fresh namespace; afterwards its pods are deleted and the test checks that
their sandboxes (state directories, supervisor processes) are gone. Container output is read from
the agent's log files on the host (<node state>/pods/<uid>/logs/<container>/<restart>.log), and
`kubectl logs` and `kubectl exec` (through the agent's kubelet endpoint) are checked against them. A mountPath missing on the host is created in the pod's
mount namespace only (src/node/podmount.c), which a test checks."""
import glob
import json
import os
import socket
import ssl
import subprocess
import time

import pytest
import yaml
from kubernetes import client

from conftest import kubectl, wait_for

# hack/test.sh registers the agents' nodes with this taint (KRC_NODE_TAINTS) so that tests that
# expect no schedulable node still hold; these tests tolerate it.
AGENT_TAINT_KEY = "kuberay-c.io/node-agent"
RAY_TIMEOUT_S = 240


@pytest.fixture(scope="module")
def agent_nodes(core, cluster):
    prefix = f"krc-{cluster['name']}-node-"
    nodes = [n.metadata.name for n in core.list_node().items if n.metadata.name.startswith(prefix)]
    if not nodes:
        pytest.skip("the cluster under test runs no node agents (hack/cluster.sh up --nodes N)")
    return sorted(nodes)


@pytest.fixture
def ns(core, namespace, agent_nodes):
    """The test namespace; afterwards every pod in it is deleted and its sandbox must be gone."""
    yield namespace
    uids = [p.metadata.uid for p in core.list_namespaced_pod(namespace).items]
    kubectl("delete", "pods", "--all", "-n", namespace, "--wait=false", check=False)
    wait_for(lambda: not core.list_namespaced_pod(namespace).items, "pods of " + namespace + " gone",
             timeout=90)
    for uid in uids:
        wait_for(lambda: not sandbox_dirs(uid) and not pgrep(uid), f"sandbox of pod {uid} removed",
                 timeout=30)


def state_root():
    """The instance's state directory; node i keeps its pods in n<i>/ (hack/cluster.sh)."""
    return os.environ["KRC_NODE_STATE_ROOT"]


def sandbox_dirs(uid):
    return glob.glob(os.path.join(state_root(), "n*", "pods", uid)) + \
        glob.glob(os.path.join(state_root(), "n*", "volumes", uid))


def pgrep(pattern):
    r = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return r.stdout.split()


def container_log(core, ns, pod, container, restart=None):
    uid = core.read_namespaced_pod(pod, ns).metadata.uid
    logs = glob.glob(os.path.join(state_root(), "n*", "pods", uid, "logs", container, "*.log"))
    if not logs:
        return ""
    logs.sort(key=lambda p: int(os.path.basename(p).split(".")[0]))
    with open(logs[-1] if restart is None else logs[restart], errors="replace") as f:
        return f.read()


def apply(ns, *docs):
    kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump_all(docs))


def pod_spec(containers, **extra):
    spec = {"tolerations": [{"key": AGENT_TAINT_KEY, "operator": "Exists"}],
            "terminationGracePeriodSeconds": 5, "containers": containers}
    spec.update(extra)
    return spec


def pod(name, containers, labels=None, **extra):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {"app": name}},
            "spec": pod_spec(containers, **extra)}


def service(name, selector, port, headless=False):
    spec = {"selector": selector, "ports": [{"port": port}]}
    if headless:
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def ready(core, ns, name):
    p = core.read_namespaced_pod(name, ns)
    conds = {c.type: c.status for c in (p.status.conditions or [])}
    return p.status.phase == "Running" and conds.get("Ready") == "True" and p


# In-pod API call with the mounted service-account token: 403 (authenticated, not authorised)
# proves the token and CA work; 401 would mean they do not.
API_CHECK = """
import json, os, ssl, urllib.request, urllib.error
d = '/var/run/secrets/kubernetes.io/serviceaccount'
ctx = ssl.create_default_context(cafile=d + '/ca.crt')
url = 'https://%s:%s/api/v1/namespaces/%s/secrets' % (os.environ['KUBERNETES_SERVICE_HOST'],
      os.environ['KUBERNETES_SERVICE_PORT'], open(d + '/namespace').read())
req = urllib.request.Request(url, headers={'Authorization': 'Bearer ' + open(d + '/token').read()})
try:
    urllib.request.urlopen(req, context=ctx, timeout=5); print('API_STATUS=200')
except urllib.error.HTTPError as e:
    print('API_STATUS=%d' % e.code, json.loads(e.read()).get('message', ''))
"""


def test_pod_with_init_container_env_probe_and_token_becomes_running_and_ready(core, ns, tmp_path):
    (tmp_path / "hello").write_text("from-the-host")
    apply(ns,
          {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
           "data": {"greeting": "hello-cm"}},
          {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec"},
           "stringData": {"password": "s3cret"}},
          pod("app", [{
              "name": "main", "image": "ignored", "workingDir": "/tmp/work",
              "command": ["sh", "-c"],
              "args": ["echo NAME=$(POD_NAME) NS=$POD_NS G=$GREETING P=$PASSWORD L=$APP_LABEL; "
                       "echo MARKER=$(cat marker); echo SA_NS=$(cat " +
                       "/var/run/secrets/kubernetes.io/serviceaccount/namespace); "
                       "echo DOWNWARD=$(cat /tmp/podinfo/name) $(cat /tmp/podinfo/labels); "
                       "echo HOST=$(cat /tmp/host-data/hello); "
                       "python3 -c \"$API_CHECK\"; exec python3 -m http.server 8080"],
              "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                      {"name": "POD_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                      {"name": "APP_LABEL",
                       "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                      {"name": "GREETING",
                       "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "greeting"}}},
                      {"name": "PASSWORD",
                       "valueFrom": {"secretKeyRef": {"name": "sec", "key": "password"}}},
                      {"name": "API_CHECK", "value": API_CHECK}],
              "readinessProbe": {"httpGet": {"path": "/marker", "port": 8080}, "periodSeconds": 1},
              "volumeMounts": [{"name": "work", "mountPath": "/tmp/work"},
                               {"name": "shm", "mountPath": "/dev/shm"},
                               {"name": "podinfo", "mountPath": "/tmp/podinfo"},
                               {"name": "host", "mountPath": "/tmp/host-data", "readOnly": True}]}],
              initContainers=[{"name": "init", "image": "ignored",
                               "command": ["sh", "-c", "echo init-ran > /tmp/work/marker"],
                               "volumeMounts": [{"name": "work", "mountPath": "/tmp/work"}]}],
              volumes=[{"name": "work", "emptyDir": {}},
                       {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
                       {"name": "podinfo", "downwardAPI": {"items": [
                           {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
                           {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
                       {"name": "host", "hostPath": {"path": str(tmp_path)}}]))
    p = wait_for(lambda: ready(core, ns, "app"), "pod app Running and Ready")
    assert p.status.pod_ip and p.status.host_ip and p.status.start_time
    init = p.status.init_container_statuses[0]
    assert init.state.terminated and init.state.terminated.exit_code == 0, init
    main = p.status.container_statuses[0]
    assert main.ready and main.started and main.state.running and main.restart_count == 0, main
    conds = {c.type: c.status for c in p.status.conditions}
    assert conds == {"PodScheduled": "True", "Initialized": "True", "ContainersReady": "True",
                     "Ready": "True"}, conds
    log = wait_for(lambda: "API_STATUS" in (l := container_log(core, ns, "app", "main")) and l,
                   "the container's output")
    assert f"NAME=app NS={ns} G=hello-cm P=s3cret L=app" in log, log
    assert "MARKER=init-ran" in log and f"SA_NS={ns}" in log, log
    assert 'DOWNWARD=app app="app"' in log and "HOST=from-the-host" in log, log
    assert "API_STATUS=403" in log and f"system:serviceaccount:{ns}:default" in log, log
    # kubectl logs goes API server -> the agent's kubelet endpoint (TLS, client certificate).
    out = kubectl("logs", "app", "-c", "main", "-n", ns).stdout
    assert f"NAME=app NS={ns}" in out, out
    assert kubectl("logs", "app", "-c", "init", "-n", ns).stdout == "", "init printed nothing"
    tail = kubectl("logs", "app", "-c", "main", "-n", ns, "--tail", "1").stdout
    assert tail.count("\n") == 1, tail


def exec_in(ns, pod, *command, container=None, input=None, spdy=False, check=True):
    """kubectl exec; spdy=True makes kubectl speak SPDY itself (the API server then passes the
    connection through) instead of WebSocket (the API server translates to SPDY)."""
    args = ["kubectl", "exec", pod, "-n", ns] + (["-c", container] if container else []) + \
        (["-i"] if input is not None else []) + ["--", *command]
    env = dict(os.environ, KUBECTL_REMOTE_COMMAND_WEBSOCKETS="false" if spdy else "true")
    return subprocess.run(args, check=check, capture_output=True, text=True, input=input,
                          timeout=60, env=env)


def test_exec_runs_in_the_pods_namespaces_with_the_containers_env(core, ns):
    apply(ns, pod("ex", [
        {"name": "main", "image": "ignored", "workingDir": "/tmp/work",
         "env": [{"name": "WHO", "value": "main-env"}],
         "command": ["sh", "-c", "cat /proc/self/cgroup > /tmp/work/cgroup; echo up > "
                     "/tmp/work/marker; exec sleep 100000"],
         "volumeMounts": [{"name": "work", "mountPath": "/tmp/work"}]},
        {"name": "side", "image": "ignored", "env": [{"name": "WHO", "value": "side-env"}],
         "command": ["sleep", "100000"]}],
        volumes=[{"name": "work", "emptyDir": {}}]))
    wait_for(lambda: ready(core, ns, "ex"), "pod ex Running and Ready")
    # the issue's check, verbatim (first container by default)
    out = kubectl("exec", "ex", "-n", ns, "--", "cat",
                  "/var/run/secrets/kubernetes.io/serviceaccount/namespace").stdout
    assert out == ns, out
    for spdy in (False, True):
        r = exec_in(ns, "ex", "sh", "-c", "echo $WHO $PWD $(hostname) $(cat marker); "
                    "tr '\\0' ' ' < /proc/1/cmdline; echo; cat /proc/self/cgroup", spdy=spdy)
        lines = r.stdout.splitlines()
        # env and workingDir of the container, the pod's UTS and mount namespaces
        assert lines[0] == "main-env /tmp/work ex up", (spdy, r.stdout)
        # the pod's PID namespace: PID 1 is the pod's supervisor
        assert "pod-supervisor" in lines[1], (spdy, r.stdout)
        # the pod's cgroup, as seen by the container itself
        cgroup = kubectl("exec", "ex", "-n", ns, "--", "cat", "/tmp/work/cgroup").stdout
        assert "\n".join(lines[2:]) == cgroup.strip(), (spdy, r.stdout, cgroup)
    # -c picks the container (its own env); -i passes stdin through to EOF
    r = exec_in(ns, "ex", "sh", "-c", "echo $WHO; cat; echo done", container="side",
                input="line-1\nline-2\n")
    assert r.stdout == "side-env\nline-1\nline-2\ndone\n", r.stdout
    big = "x" * 100000 + "\n"
    r = exec_in(ns, "ex", "wc", "-c", input=big, spdy=True)
    assert r.stdout.strip() == str(len(big)), r.stdout
    # the exit code is kubectl's, stdout and stderr stay apart
    for spdy in (False, True):
        r = exec_in(ns, "ex", "sh", "-c", "echo to-out; echo to-err >&2; exit 3", spdy=spdy,
                    check=False)
        assert r.returncode == 3, (spdy, r)
        assert r.stdout == "to-out\n" and "to-err" in r.stderr, (spdy, r)
    r = exec_in(ns, "ex", "no-such-command", check=False)
    assert r.returncode != 0 and "no-such-command" in r.stderr, r
    # the pod network namespace: the pod's IP is on its eth0
    ip = core.read_namespaced_pod("ex", ns).status.pod_ip
    r = exec_in(ns, "ex", "cat", "/proc/net/fib_trie")
    assert ip in r.stdout, r.stdout


def test_exec_moves_megabytes_and_the_endpoint_refuses_clients_without_a_certificate(
        core, ns, agent_nodes):
    # Exec output went through libmicrohttpd's TLS forwarding 4 bytes at a time (about 200 KB/s:
    # 10 MB took a minute); the node agent now terminates TLS itself. exec_in's timeout (60 s)
    # only guards against a hang.
    apply(ns, pod("bulk", [{"name": "main", "image": "ignored", "command": ["sleep", "100000"]}]))
    wait_for(lambda: ready(core, ns, "bulk"), "pod bulk Running and Ready")
    size = 8 * 1000 * 1000
    for spdy in (False, True):
        r = exec_in(ns, "bulk", "sh", "-c", f"head -c {size} /dev/zero | tr '\\0' a; echo; "
                    "echo end >&2", spdy=spdy)
        assert len(r.stdout) == size + 1 and r.stdout.strip("a") == "\n", (spdy, len(r.stdout))
        assert r.stderr == "end\n", (spdy, r.stderr)
    big = "y" * (4 * 1000 * 1000)
    r = exec_in(ns, "bulk", "wc", "-c", input=big)
    assert r.stdout.strip() == str(len(big)), r.stdout
    # Only the API server's client certificate (signed by the cluster CA) is answered.
    node = core.read_node(agent_nodes[0])
    host = next(a.address for a in node.status.addresses if a.type == "InternalIP")
    port = node.status.daemon_endpoints.kubelet_endpoint.port
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=30) as raw, \
            ctx.wrap_socket(raw) as tls:
        tls.sendall(f"GET /containerLogs/{ns}/bulk/main HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        answer = b""
        while chunk := tls.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 401 ") and b"client certificate required" in answer, \
        answer


def test_exec_process_ends_when_the_client_goes_away(core, ns):
    apply(ns, pod("gone", [{"name": "main", "image": "ignored", "command": ["sleep", "100000"]}]))
    wait_for(lambda: ready(core, ns, "gone"), "pod gone Running and Ready")
    p = subprocess.Popen(["kubectl", "exec", "gone", "-n", ns, "--", "sleep", "31337"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: pgrep("sleep 31337"), "the exec'd process running")
    p.kill()
    p.wait()
    wait_for(lambda: not pgrep("sleep 31337"), "the exec'd process killed", timeout=20)


def test_missing_mount_paths_are_created_in_the_pod_only(core, ns):
    top = "/krc-missing-" + ns  # under the host's /, which the pod must not change
    nested = "/var/lib/krc-missing-" + ns + "/data"
    apply(ns, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
               "data": {"k": "v"}},
          pod("mp", [{"name": "main", "image": "ignored",
                      "command": ["sh", "-c", f"echo a > {top}/deep/f && echo b > {nested}/f && "
                                  f"cat {top}/deep/f {nested}/f {top}/cm/k && echo; "
                                  "ls /usr/bin/env && exec sleep 100000"],
                      "volumeMounts": [{"name": "a", "mountPath": top + "/deep"},
                                       {"name": "b", "mountPath": nested},
                                       {"name": "cm", "mountPath": top + "/cm"}]}],
              volumes=[{"name": "a", "emptyDir": {}}, {"name": "b", "emptyDir": {}},
                       {"name": "cm", "configMap": {"name": "cm"}}]))
    wait_for(lambda: ready(core, ns, "mp"), "pod mp Running")
    log = wait_for(lambda: "/usr/bin/env" in (l := container_log(core, ns, "mp", "main")) and l,
                   "the container's output")
    assert "a\nb\nv\n/usr/bin/env" in log, log
    assert not os.path.exists(top) and not os.path.exists(os.path.dirname(nested)), \
        "a missing mountPath was created on the host"
    r = exec_in(ns, "mp", "sh", "-c", f"ls -d {top}/deep {nested} /usr /etc/hostname")
    assert sorted(r.stdout.split()) == sorted([f"{top}/deep", nested, "/usr", "/etc/hostname"]), r


ROTATE_SCRIPT = """
import sys, time
for i in range(15):
    print('before-%d' % i, flush=True); time.sleep(0.2)
sys.stdout.write(('x' * 999 + '\\n') * 11 * 1100)  # 11.5 MB: past the default 10 MiB limit
sys.stdout.flush()
for i in range(1, 21):
    print('after-%d' % i, flush=True); time.sleep(0.1)
"""


def test_container_logs_rotate_by_size_and_follow_and_previous_still_work(core, ns):
    apply(ns, pod("rot", [{"name": "main", "image": "ignored", "command": [
        "sh", "-c", 'if [ -e /tmp/ran ]; then echo second-run; exec sleep 100000; fi; '
        'touch /tmp/ran; python3 -c "$0"; exit 1', ROTATE_SCRIPT]}], restartPolicy="OnFailure"))
    wait_for(lambda: "before-" in container_log(core, ns, "rot", "main"), "the first output")
    follower = subprocess.Popen(["kubectl", "logs", "-f", "rot", "-n", ns], text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        seen = []
        deadline = time.monotonic() + 120
        for line in follower.stdout:
            if not line.startswith("x"):
                seen.append(line.strip())
            if line.strip() == "after-20" or time.monotonic() > deadline:
                break
        # -f went on across the rotation, without losing or repeating lines
        assert seen[-20:] == [f"after-{i}" for i in range(1, 21)], seen
    finally:
        follower.kill()
        follower.wait()
    uid = core.read_namespaced_pod("rot", ns).metadata.uid
    logdir = glob.glob(os.path.join(state_root(), "n*", "pods", uid, "logs", "main"))[0]
    files = sorted(os.listdir(logdir))
    assert "0.log.1" in files and "0.log" in files, files
    assert os.path.getsize(os.path.join(logdir, "0.log")) < 10 * 1024 * 1024, files
    assert os.path.getsize(os.path.join(logdir, "0.log.1")) >= 10 * 1024 * 1024, files
    # the container restarted (exit 1, OnFailure): --previous is the first run's current file
    wait_for(lambda: "second-run" in container_log(core, ns, "rot", "main"), "the second run",
             timeout=90)
    prev = kubectl("logs", "rot", "-n", ns, "--previous").stdout
    assert prev.rstrip().endswith("after-20") and "before-0" not in prev, prev[-300:]
    assert kubectl("logs", "rot", "-n", ns).stdout == "second-run\n"


def agent_flag(cluster, flag):
    """The value of an agent command-line flag of the instance's first node agent, or None."""
    r = subprocess.run(["pgrep", "-af", f"kuberay-node agent .*krc-{cluster['name']}-node-"],
                       capture_output=True, text=True)
    for line in r.stdout.splitlines():
        args = line.split()
        if flag in args[:-1]:
            return args[args.index(flag) + 1]
    return None


def test_configmap_update_reaches_the_pod_through_the_data_symlink(core, ns, cluster):
    interval = int(agent_flag(cluster, "--volume-refresh-seconds") or 60)
    apply(ns, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "live"},
               "data": {"k": "v1", "gone": "soon"}},
          pod("cfg", [{"name": "main", "image": "ignored", "command": ["sleep", "100000"],
                       "volumeMounts": [{"name": "c", "mountPath": "/tmp/cfg"}]}],
              volumes=[{"name": "c", "configMap": {"name": "live"}}]))
    wait_for(lambda: ready(core, ns, "cfg"), "pod cfg Running")
    assert exec_in(ns, "cfg", "cat", "/tmp/cfg/k").stdout == "v1"
    # the kubelet's atomic layout: ..data -> ..<timestamp>, k -> ..data/k
    r = exec_in(ns, "cfg", "sh", "-c", "readlink /tmp/cfg/..data; readlink /tmp/cfg/k")
    data, k = r.stdout.split()
    assert data.startswith("..") and k == "..data/k", r.stdout
    core.patch_namespaced_config_map("live", ns, {"data": {"k": "v2", "gone": None, "new": "n"}})
    wait_for(lambda: exec_in(ns, "cfg", "cat", "/tmp/cfg/k").stdout == "v2",
             "the new ConfigMap value in the pod", timeout=interval * 2 + 30, interval=1)
    r = exec_in(ns, "cfg", "sh", "-c", "ls /tmp/cfg; cat /tmp/cfg/new; echo; readlink /tmp/cfg/..data")
    lines = r.stdout.split()
    assert lines[:3] == ["k", "new", "n"] and lines[3] != data, r.stdout


def test_projected_token_is_rewritten_at_the_refresh_fraction(core, ns, cluster):
    fraction = agent_flag(cluster, "--token-refresh-fraction")
    if not fraction:
        pytest.skip("the node agents run with the default --token-refresh-fraction (0.8 of at "
                    "least 600 s); hack/test.sh sets a small one")
    apply(ns, pod("tok", [{"name": "main", "image": "ignored", "command": ["sleep", "100000"],
                           "volumeMounts": [{"name": "t", "mountPath": "/tmp/tok"}]}],
                  volumes=[{"name": "t", "projected": {"sources": [{"serviceAccountToken": {
                      "path": "token", "expirationSeconds": 600}}]}}]))
    wait_for(lambda: ready(core, ns, "tok"), "pod tok Running")
    first = exec_in(ns, "tok", "cat", "/tmp/tok/token").stdout
    assert first.count(".") == 2, first  # a JWT
    wait_for(lambda: exec_in(ns, "tok", "cat", "/tmp/tok/token").stdout not in ("", first),
             "a new token", timeout=600 * float(fraction) * 2 + 30, interval=1)


SERVE = ("import socket\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
         "s.bind(('0.0.0.0',6379));s.listen()\nwhile True:\n c,_=s.accept();"
         "c.sendall(b'hello-from-%s\\n');c.close()")
ASK = ("import socket,sys,time\nfor i in range(120):\n try:\n  s=socket.create_connection(("
       "sys.argv[1],6379),2);print('GOT',sys.argv[1],s.recv(100).decode().strip(),flush=True);"
       "break\n except OSError as e:\n  time.sleep(0.5)\n")


def test_two_pods_on_port_6379_reach_each_other_by_service_dns_name(core, ns):
    docs = [service("red-a", {"app": "red-a"}, 6379),
            service("red-b", {"app": "red-b"}, 6379, headless=True)]
    for me, other in (("a", "b"), ("b", "a")):
        docs.append(pod("red-" + me, [
            {"name": "srv", "image": "ignored", "command": ["python3", "-c", SERVE % me],
             "readinessProbe": {"tcpSocket": {"port": 6379}, "periodSeconds": 1}},
            {"name": "ask", "image": "ignored",
             "command": ["sh", "-c", f"python3 -c \"$0\" red-{other}; python3 -c \"$0\" "
                         f"red-{other}.{ns}.svc.cluster.local; exec sleep 100000", ASK]}]))
    apply(ns, *docs)
    for me in "ab":
        wait_for(lambda: ready(core, ns, "red-" + me), f"pod red-{me} Ready")
    for me, other in (("a", "b"), ("b", "a")):
        want = [f"GOT red-{other} hello-from-{other}",
                f"GOT red-{other}.{ns}.svc.cluster.local hello-from-{other}"]
        log = wait_for(lambda: all(w in (l := container_log(core, ns, "red-" + me, "ask"))
                                   for w in want) and l,
                       f"red-{me} to reach red-{other} by name", timeout=90)
        assert all(w in log for w in want), log


def test_deployment_of_3_replicas_runs_across_2_node_agents(api, core, ns, agent_nodes):
    if len(agent_nodes) < 2:
        pytest.skip("needs 2 node agents")
    labels = {"app": "web"}
    template_spec = pod_spec([{"name": "web", "image": "ignored",
                               "command": ["python3", "-m", "http.server", "8000"],
                               "readinessProbe": {"tcpSocket": {"port": 8000},
                                                  "periodSeconds": 1}}])
    template_spec["topologySpreadConstraints"] = [{
        "maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
        "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": labels}}]
    apply(ns, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
               "spec": {"replicas": 3, "selector": {"matchLabels": labels},
                        "template": {"metadata": {"labels": labels}, "spec": template_spec}}})
    apps = client.AppsV1Api(api)
    wait_for(lambda: (apps.read_namespaced_deployment("web", ns).status.ready_replicas or 0) == 3,
             "Deployment web with 3 ready replicas", timeout=90)
    pods = core.list_namespaced_pod(ns, label_selector="app=web").items
    assert len({p.spec.node_name for p in pods}) == 2, [p.spec.node_name for p in pods]
    assert len({p.status.pod_ip for p in pods}) == 3
    kubectl("delete", "deployment", "web", "-n", ns)


def test_crashing_container_restarts_with_back_off_and_restart_count_grows(core, ns):
    apply(ns, pod("crash", [{"name": "c", "image": "ignored",
                             "command": ["sh", "-c", "echo crashing; exit 3"]}]))
    seen_backoff = []

    def restarted_thrice():
        st = core.read_namespaced_pod("crash", ns).status.container_statuses
        if not st:
            return False
        s = st[0]
        if s.state.waiting and s.state.waiting.reason == "CrashLoopBackOff":
            seen_backoff.append(s)
        return s.restart_count >= 3 and s
    s = wait_for(restarted_thrice, "restartCount to reach 3", timeout=120, interval=0.1)
    assert seen_backoff, "never reported waiting: CrashLoopBackOff between restarts"
    assert s.last_state.terminated and s.last_state.terminated.exit_code == 3, s
    # Back-off: restarts are spaced, not a hot loop (the third restart waits >= 4 base periods).
    time.sleep(1)
    assert core.read_namespaced_pod("crash", ns).status.container_statuses[0].restart_count <= 5
    assert "crashing" in container_log(core, ns, "crash", "c")
    assert kubectl("logs", "crash", "-n", ns, "--previous").stdout == "crashing\n"
    # -f on a container that exits ends when it exits.
    assert "crashing" in kubectl("logs", "-f", "crash", "-n", ns).stdout


def test_deleting_a_pod_ends_its_processes_within_the_grace_period(core, ns):
    marker = "sleep 7" + str(os.getpid() % 1000).zfill(3) + "1"
    apply(ns, pod("stubborn", [{"name": "c", "image": "ignored",
                                "command": ["sh", "-c", f"trap '' TERM; {marker}; true"]}],
                  terminationGracePeriodSeconds=3))
    wait_for(lambda: ready(core, ns, "stubborn"), "pod stubborn Ready")
    wait_for(lambda: pgrep(marker), "the pod's process to show up")
    uid = core.read_namespaced_pod("stubborn", ns).metadata.uid
    start = time.monotonic()
    kubectl("delete", "pod", "stubborn", "-n", ns, "--wait=false")

    def gone():
        try:
            core.read_namespaced_pod("stubborn", ns)
            return False
        except client.ApiException as e:
            return e.status == 404
    wait_for(gone, "pod stubborn deleted", timeout=30)
    elapsed = time.monotonic() - start
    assert not pgrep(marker), "processes of the deleted pod are still running"
    assert elapsed < 3 + 5, f"deletion took {elapsed:.1f}s for a 3s grace period"
    assert elapsed >= 2.5, f"SIGTERM-ignoring pod ended after {elapsed:.1f}s, before its grace"
    assert not sandbox_dirs(uid)


def test_sidecar_init_container_runs_beside_the_main_one_and_pre_stop_runs_on_delete(
        core, ns, tmp_path):
    apply(ns, pod("side", [{
        "name": "main", "image": "ignored", "command": ["sh", "-c", "exec sleep 100000"],
        "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "echo pre-stop-ran > /tmp/out/hook"]}}},
        "volumeMounts": [{"name": "out", "mountPath": "/tmp/out"}]}],
        initContainers=[{"name": "sidecar", "image": "ignored", "restartPolicy": "Always",
                         "command": ["sh", "-c", "exec sleep 100000"]},
                        {"name": "after", "image": "ignored", "command": ["true"]}],
        volumes=[{"name": "out", "hostPath": {"path": str(tmp_path)}}]))
    p = wait_for(lambda: ready(core, ns, "side"), "pod side Running and Ready")
    side = {s.name: s for s in p.status.init_container_statuses}
    assert side["sidecar"].state.running and side["after"].state.terminated, side
    kubectl("delete", "pod", "side", "-n", ns)
    assert (tmp_path / "hook").read_text() == "pre-stop-ran\n"


def test_ray_head_and_worker_join_through_the_head_service_dns_name(core, ns):
    shm = [{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "512Mi"}}]
    mounts = [{"name": "shm", "mountPath": "/dev/shm"}]
    env = [{"name": "RAY_USAGE_STATS_ENABLED", "value": "0"}]
    apply(ns, service("ray-head", {"app": "ray-head"}, 6379),
          pod("ray-head", [
              {"name": "ray", "image": "rayproject/ray", "env": env, "volumeMounts": mounts,
               "command": ["ray", "start", "--head", "--block", "--port=6379", "--num-cpus=1",
                           "--include-dashboard=false", "--disable-usage-stats"],
               "readinessProbe": {"tcpSocket": {"port": 6379}, "periodSeconds": 2}},
              {"name": "status", "image": "rayproject/ray", "env": env,
               "command": ["sh", "-c", "while true; do ray status --address ray-head:6379 2>&1; "
                           "echo END-OF-STATUS; sleep 5; done"]}], volumes=shm),
          pod("ray-worker", [
              {"name": "ray", "image": "rayproject/ray", "env": env, "volumeMounts": mounts,
               "command": ["sh", "-c", "until python3 -c \"import socket;socket.create_connection("
                           "('ray-head', 6379), 2)\" 2>/dev/null; do sleep 1; done; exec ray start "
                           "--block --address=ray-head:6379 --num-cpus=1 --disable-usage-stats"]}],
              volumes=shm))

    def two_nodes():
        log = container_log(core, ns, "ray-head", "status")
        reports = log.split("END-OF-STATUS")
        last = reports[-2] if len(reports) >= 2 else ""
        active = last.split("Active:")[-1].split("Pending:")[0] if "Active:" in last else ""
        return active.count("node_") == 2 and last
    report = wait_for(two_nodes, "ray status in the head to list 2 nodes", timeout=RAY_TIMEOUT_S,
                      interval=1)
    assert "2.0 CPU" in report, report


def supervisor_hello(uid):
    """The pod supervisor's hello (src/node/podproto.h), which counts the status requests it
    served."""
    socks = glob.glob(os.path.join(state_root(), "n*", "pods", uid, "sock"))
    assert socks, f"no supervisor socket for pod {uid}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(socks[0])
        s.sendall(b'{"op":"hello"}\n')
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(4096)
            assert chunk, "supervisor closed without an answer"
            buf += chunk
    resp = json.loads(buf)
    assert resp["ok"], resp
    return resp


def test_idle_pod_worker_waits_for_the_supervisor_instead_of_polling_it(core, ns):
    # The worker sleeps on the supervisor's watch: an idle pod costs no status requests beyond
    # the periodic resync (src/node/podworker.c RESYNC_MS, 10 s), where polling every 200 ms made
    # 5 a second. A longer window only lowers the count, so the check cannot fail by slowness.
    apply(ns, pod("idle", [{"name": "c", "image": "ignored", "command": ["sleep", "100000"]}]))
    wait_for(lambda: ready(core, ns, "idle"), "pod idle Ready")
    uid = core.read_namespaced_pod("idle", ns).metadata.uid
    time.sleep(1)  # let the start-up passes settle
    before = supervisor_hello(uid)
    time.sleep(4)
    after = supervisor_hello(uid)
    assert after["generation"] == before["generation"], (before, after)
    served = after["status_requests"] - before["status_requests"]
    assert served <= 1, f"{served} status requests in 4 s from an idle pod's worker"

"""End-to-end tests of `kubectl port-forward` through the node agent's kubelet endpoint
(src/node/portforward.c): the pinned kubectl talks to the API server, which opens a SPDY/3.1
portforward.k8s.io session to the agent; kubectl 1.35 itself speaks WebSocket to the API server by
default (SPDY tunnelled, feature PortForwardWebsockets) and plain SPDY with
KUBECTL_PORT_FORWARD_WEBSOCKETS=false, so both are run.

A forward to a port nobody listens on gets the kubelet's error message on the error stream;
client-go 1.35 then closes its whole connection ("lost connection to pod") and kubectl exits, as it
does against a real kubelet, so the test checks the message and that the agent still serves the
next port-forward.

`kubectl ray session` (src/cli/session.c) runs `kubectl port-forward service/<head service>` on the
fixed local ports 8265 and 10001; its test uses a stand-in head pod and a RayCluster whose status
names that pod's Service (no operator, no Ray), and is skipped when those ports are taken on the
host."""
import concurrent.futures
import hashlib
import os
import queue
import signal
import re
import socket
import subprocess
import threading
import urllib.request

import pytest

from conftest import REPO, kubectl, wait_for
from test_node_agent import agent_nodes, apply, ns, pod, ready  # noqa: F401
from test_raycluster_controller import crd  # noqa: F401

HTTP_PORT = 8080
ECHO_PORT = 9000
CLOSED_PORT = 9999
MARKER = "hello-through-port-forward"
ECHO_SERVER = """
import socket, threading
def serve(c):
    with c:
        while data := c.recv(65536):
            c.sendall(data)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', %d)); s.listen(16)
while True:
    threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
""" % ECHO_PORT
TRANSPORTS = {"websocket": {}, "spdy": {"KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"}}


class PortForward:
    """`kubectl port-forward pod/<name> :<port>...` in the background; local[remote] is the local
    port kubectl picked for each remote one."""

    def __init__(self, ns, name, ports, env=None):
        self.proc = subprocess.Popen(
            ["kubectl", "port-forward", "-n", ns, "pod/" + name] + [f":{p}" for p in ports],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, **(env or {})))
        self.lines = queue.Queue()
        self.stderr = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines.put),
                         daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr.append),
                         daemon=True).start()
        self.local = {}
        while len(self.local) < len(ports):
            line = self.lines.get(timeout=30)
            m = re.match(r"Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)", line)
            if m:
                self.local[int(m.group(2))] = int(m.group(1))

    @staticmethod
    def _pump(stream, put):
        for line in stream:
            put(line)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=30)


def tcp_ready(port):
    """A readiness probe for a server listening on the pod's loopback."""
    return {"exec": {"command": ["python3", "-c", "import socket; socket.create_connection("
                                 f"('127.0.0.1', {port}), timeout=1)"]},
            "periodSeconds": 1}


@pytest.fixture
def web(core, ns):
    """A pod serving HTTP on HTTP_PORT (index.html holds MARKER, big.bin 3 MB of random bytes)
    and an echo server on ECHO_PORT, in two containers of one network namespace. Both listen on
    127.0.0.1 only, where port-forward connects (inside the pod's network namespace); a tcpSocket
    probe dials the pod IP, so readiness is an exec probe connecting to loopback."""
    apply(ns, pod("web", [
        {"name": "http", "image": "ignored", "workingDir": "/tmp/www",
         "command": ["sh", "-c", f"echo {MARKER} > index.html && head -c 3000000 /dev/urandom "
                     f"> big.bin && exec python3 -m http.server {HTTP_PORT} --bind 127.0.0.1"],
         "readinessProbe": tcp_ready(HTTP_PORT),
         "volumeMounts": [{"name": "www", "mountPath": "/tmp/www"}]},
        {"name": "echo", "image": "ignored", "command": ["python3", "-c", ECHO_SERVER],
         "readinessProbe": tcp_ready(ECHO_PORT)}],
        volumes=[{"name": "www", "emptyDir": {}}]))
    wait_for(lambda: ready(core, ns, "web"), "pod web Running and Ready", timeout=90)
    return ns


def http_get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
        return r.read()


def echo(port, payload):
    """Sends payload, half-closes, and returns everything the echo server sent back."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        got = bytearray()
        while chunk := s.recv(65536):
            got += chunk
        return bytes(got)


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
def test_port_forward_serves_parallel_connections_to_two_ports(core, web, transport):
    ns = web
    pf = PortForward(ns, "web", [HTTP_PORT, ECHO_PORT], TRANSPORTS[transport])
    try:
        http, echo_port = pf.local[HTTP_PORT], pf.local[ECHO_PORT]
        assert http_get(http, "/index.html").decode().strip() == MARKER
        # connections at once, on both ports, in both directions; the download and the echo
        # carry megabytes, the echo ends with the client's half-close
        want_big = hashlib.sha256(subprocess.run(
            ["kubectl", "exec", "-n", ns, "web", "-c", "http", "--", "cat", "/tmp/www/big.bin"],
            capture_output=True, check=True, timeout=60).stdout).hexdigest()
        payload = os.urandom(2 * 1000 * 1000)
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            pages = [pool.submit(http_get, http, "/index.html") for _ in range(3)]
            big = pool.submit(http_get, http, "/big.bin")
            echoes = [pool.submit(echo, echo_port, payload), pool.submit(echo, echo_port, b"x")]
            assert [p.result().decode().strip() for p in pages] == [MARKER] * 3
            assert hashlib.sha256(big.result()).hexdigest() == want_big
            assert echoes[0].result() == payload
            assert echoes[1].result() == b"x"
        assert pf.proc.poll() is None, "".join(pf.stderr)
    finally:
        pf.close()


def test_port_forward_to_a_closed_port_reports_the_kubelets_error(core, web):
    ns = web
    pf = PortForward(ns, "web", [CLOSED_PORT])
    try:
        with socket.create_connection(("127.0.0.1", pf.local[CLOSED_PORT]), timeout=30) as s:
            assert s.recv(100) == b""  # no bytes: the connection in the pod was never made
        wait_for(lambda: pf.proc.poll() is not None, "kubectl port-forward ended", timeout=30)
        err = "".join(pf.stderr)
        assert f"error forwarding port {CLOSED_PORT} to pod" in err, err
        assert f"127.0.0.1:{CLOSED_PORT}: connect: connection refused" in err, err
        assert "lost connection to pod" in err, err
    finally:
        pf.close()
    # the agent is fine: the next port-forward on the same pod works
    pf = PortForward(ns, "web", [HTTP_PORT])
    try:
        assert http_get(pf.local[HTTP_PORT], "/index.html").decode().strip() == MARKER
    finally:
        pf.close()


def plugin_binary():
    path = os.path.join(os.environ.get("KRC_BUILD_DIR", str(REPO / "build" / "debug")),
                        "src", "cli", "kubectl-ray")
    if not os.path.isfile(path):
        pytest.skip("kubectl-ray is not built")
    return path


def ports_free(*ports):
    for p in ports:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as kubectl's listener
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                return False
    return True


def test_kubectl_ray_session_forwards_the_head_services_ports(core, crd, ns):  # noqa: F811
    if not ports_free(8265, 10001):
        pytest.skip("ports 8265/10001 are in use on this host")
    apply(ns,
          pod("head", [{"name": "dashboard", "image": "ignored", "workingDir": "/tmp/www",
                        "command": ["sh", "-c", "echo fake-dashboard > index.html && "
                                    "exec python3 -m http.server 8265 --bind 127.0.0.1"],
                        "readinessProbe": tcp_ready(8265),
                        "volumeMounts": [{"name": "www", "mountPath": "/tmp/www"}]},
                       {"name": "client", "image": "ignored", "command": ["python3", "-c",
                        ECHO_SERVER.replace(str(ECHO_PORT), "10001")],
                        "readinessProbe": tcp_ready(10001)}],
              labels={"app": "fake-head"}, volumes=[{"name": "www", "emptyDir": {}}]),
          {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "fake-head-svc"},
           "spec": {"selector": {"app": "fake-head"},
                    "ports": [{"name": "dashboard", "port": 8265},
                              {"name": "client", "port": 10001}]}},
          {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "rc"},
           "spec": {"headGroupSpec": {"rayStartParams": {}, "template": {"spec": {
               "containers": [{"name": "ray-head", "image": "rayproject/ray:2.52.0"}]}}}}})
    kubectl("patch", "raycluster", "rc", "-n", ns, "--subresource=status", "--type=merge",
            "-p", '{"status":{"head":{"serviceName":"fake-head-svc"}}}')
    wait_for(lambda: ready(core, ns, "head"), "pod head Running and Ready", timeout=90)
    # its own process group: session's kubectl child goes with it
    proc = subprocess.Popen([plugin_binary(), "-n", ns, "session", "rc"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines = queue.Queue()
    threading.Thread(target=PortForward._pump, args=(proc.stdout, lines.put), daemon=True).start()
    try:
        seen = []
        while not any("127.0.0.1:10001 -> 10001" in line for line in seen):
            seen.append(lines.get(timeout=30))
        assert seen[:3] == ["Forwarding ports to service fake-head-svc\n",
                            "Ray Dashboard: http://localhost:8265\n",
                            "Ray Interactive Client: http://localhost:10001\n"], seen
        assert http_get(8265, "/index.html").decode().strip() == "fake-dashboard"
        assert echo(10001, b"ray-client") == b"ray-client"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)

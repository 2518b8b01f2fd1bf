"""End-to-end tests of the node agent's cluster DNS (src/node/dns.c): a pod's /etc/hosts follows
Services, their EndpointSlices and pods with hostname/subdomain as they change (watched, not
polled), with the names a cluster DNS server would answer. Needs node agents, as
test_node_agent.py, whose helpers and fixtures it uses."""
import time

from conftest import kubectl, wait_for
from test_node_agent import agent_nodes, apply, exec_in, ns, pod, ready, service  # noqa: F401

SERVE = ["python3", "-m", "http.server", "8000"]


def hosts(ns, name):
    return exec_in(ns, name, "cat", "/etc/hosts").stdout


def test_hosts_gain_and_lose_a_service_created_after_the_pod(core, ns):
    apply(ns,
          pod("client", [{"name": "c", "image": "ignored", "command": ["sleep", "100000"]}]),
          pod("srv", [{"name": "s", "image": "ignored", "command": SERVE,
                       "readinessProbe": {"tcpSocket": {"port": 8000}, "periodSeconds": 1}}],
              hostname="srv-0", subdomain="late"))
    for name in ("client", "srv"):
        wait_for(lambda: ready(core, ns, name), f"pod {name} Ready")
    ip = core.read_namespaced_pod("srv", ns).status.pod_ip
    fqdn = f"late.{ns}.svc.cluster.local"
    assert " " + fqdn not in hosts(ns, "client")
    # A pod with hostname and subdomain has its own name, with or without a Service.
    wait_for(lambda: f"{ip} srv-0.late.{ns}.svc.cluster.local\n" in hosts(ns, "client"),
             "the pod's hostname.subdomain record", timeout=30, interval=0.2)

    apply(ns, service("late", {"app": "srv"}, 8000, headless=True))
    start = time.monotonic()
    line = f"{ip} {fqdn} late.{ns}.svc late.{ns} late\n"
    wait_for(lambda: line in hosts(ns, "client"), "the new Service in /etc/hosts", timeout=30,
             interval=0.2)
    print(f"service name in /etc/hosts {time.monotonic() - start:.2f}s after the create")
    r = exec_in(ns, "client", "python3", "-c",
                "import socket,sys; print(socket.gethostbyname(sys.argv[1]))", "late")
    assert r.stdout.strip() == ip, r

    kubectl("delete", "service", "late", "-n", ns)
    wait_for(lambda: " " + fqdn not in hosts(ns, "client"),
             "the deleted Service gone from /etc/hosts", timeout=30, interval=0.2)
    assert f"srv-0.late.{ns}.svc.cluster.local" in hosts(ns, "client")


def test_service_name_follows_endpoint_readiness(core, ns):
    apply(ns,
          pod("client", [{"name": "c", "image": "ignored", "command": ["sleep", "100000"]}]),
          pod("srv", [{"name": "s", "image": "ignored",
                       "command": ["sh", "-c", "touch /ready/yes; exec " + " ".join(SERVE)],
                       "volumeMounts": [{"name": "r", "mountPath": "/ready"}],
                       "readinessProbe": {"exec": {"command": ["test", "-e", "/ready/yes"]},
                                          "periodSeconds": 1, "failureThreshold": 1}}],
              volumes=[{"name": "r", "emptyDir": {}}]),
          service("web", {"app": "srv"}, 8000))
    for name in ("client", "srv"):
        wait_for(lambda: ready(core, ns, name), f"pod {name} Ready")
    ip = core.read_namespaced_pod("srv", ns).status.pod_ip
    line = f"{ip} web.{ns}.svc.cluster.local web.{ns}.svc web.{ns} web\n"
    wait_for(lambda: line in hosts(ns, "client"), "the Service's ready endpoint", timeout=30,
             interval=0.2)
    # Not ready: the endpoint leaves the Service's name; ready again: it comes back.
    exec_in(ns, "srv", "rm", "/ready/yes")
    wait_for(lambda: f"web.{ns}.svc" not in hosts(ns, "client"), "the not-ready endpoint gone",
             timeout=30, interval=0.2)
    exec_in(ns, "srv", "touch", "/ready/yes")
    wait_for(lambda: line in hosts(ns, "client"), "the endpoint back", timeout=30, interval=0.2)

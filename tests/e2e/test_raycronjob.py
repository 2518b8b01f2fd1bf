"""The RayCronJob controller of kuberay-operator end to end (spec rayjob.md §12, feature gate
RayCronJob): an every-minute schedule creates a RayJob named after its tick, labelled, annotated
and owned as KubeRay does, and records the tick in status.lastScheduleTime; an invalid schedule
and a suspended RayCronJob only produce their events.

The job template is a suspended RayJob (shutdownAfterJobFinishes, as KubeRay requires for
suspend), so the RayJob controller running in the same operator creates no pods: these tests need
no node agents and no Ray. No timing is asserted beyond "within a few minutes".
"""
import calendar
import time

import pytest
from kubernetes import client

from conftest import CRD_APPLY_TIMEOUT_S, REPO, kubectl, wait_crd_established, wait_for
from test_raycluster_controller import Operator, check_log
from test_rayjob import cluster_spec, events, submitter_template

GROUP, VERSION = "ray.io", "v1"
CRDS = [REPO / "config" / "crd" / "bases" / f"ray.io_{p}.yaml"
        for p in ("rayclusters", "rayjobs", "raycronjobs")]
TICK_TIMEOUT_S = 180  # the next minute boundary, plus a slow shared machine


@pytest.fixture(scope="module")
def crds(cluster):
    for crd in CRDS:
        kubectl("apply", "--server-side", "--force-conflicts", "-f", str(crd),
                timeout=CRD_APPLY_TIMEOUT_S)
    for name in ("rayclusters.ray.io", "rayjobs.ray.io", "raycronjobs.ray.io"):
        wait_crd_established(name)


@pytest.fixture
def custom(api):
    return client.CustomObjectsApi(api)


@pytest.fixture
def operator(crds, namespace, tmp_path):
    op = Operator(namespace, tmp_path, extra=["--feature-gates=RayCronJob=true"])
    op.start()
    yield op
    # No new RayJobs, then let the operator remove the RayJobs' finalizers (if any) itself.
    kubectl("-n", namespace, "delete", "raycronjobs", "--all", "--wait=true", "--timeout=60s",
            check=False)
    kubectl("-n", namespace, "delete", "rayjobs", "--all", "--wait=true", "--timeout=60s",
            check=False)
    op.stop()
    check_log(op)


def raycronjob(name, schedule="* * * * *", **spec):
    template = {"entrypoint": "python -c 'print(1)'", "suspend": True,
                "shutdownAfterJobFinishes": True, "rayClusterSpec": cluster_spec(),
                "submitterPodTemplate": submitter_template()}
    body = {"schedule": schedule, "jobTemplate": template}
    body.update(spec)
    return {"apiVersion": "ray.io/v1", "kind": "RayCronJob", "metadata": {"name": name},
            "spec": body}


def create_cronjob(custom, ns, body):
    return custom.create_namespaced_custom_object(GROUP, VERSION, ns, "raycronjobs", body)


def rayjobs_of(custom, ns, cronjob):
    return custom.list_namespaced_custom_object(
        GROUP, VERSION, ns, "rayjobs", label_selector=f"ray.io/cronjob-name={cronjob}")["items"]


def test_every_minute_schedule_creates_a_rayjob_per_tick(operator, custom, namespace):
    cj = create_cronjob(custom, namespace, raycronjob("every-minute"))
    jobs = wait_for(lambda: rayjobs_of(custom, namespace, "every-minute"),
                    "a RayJob of RayCronJob every-minute", timeout=TICK_TIMEOUT_S, interval=2)
    job = sorted(jobs, key=lambda j: j["metadata"]["name"])[0]
    meta = job["metadata"]
    scheduled = meta["annotations"]["ray.io/cronjob-scheduled-timestamp"]
    tick = calendar.timegm(time.strptime(scheduled, "%Y-%m-%dT%H:%M:%SZ"))
    assert tick % 60 == 0, scheduled  # every minute: ticks fall on minute boundaries
    assert meta["name"] == f"every-minute-{tick // 60}"
    assert meta["labels"] == {"ray.io/cronjob-name": "every-minute"}
    assert set(meta["annotations"]) == {"ray.io/cronjob-scheduled-timestamp"}
    [owner] = meta["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "RayCronJob", "every-minute", cj["metadata"]["uid"], True)
    assert job["spec"]["entrypoint"] == "python -c 'print(1)'"
    assert job["spec"]["suspend"] is True
    # The tick is recorded (a later tick may already have been recorded too).
    wait_for(lambda: (custom.get_namespaced_custom_object(
        GROUP, VERSION, namespace, "raycronjobs", "every-minute").get("status") or {}).get(
            "lastScheduleTime", "") >= scheduled,
        "status.lastScheduleTime", timeout=60, interval=1)
    # At most one RayJob per tick: names are unique by construction, annotations must be too.
    stamps = [j["metadata"]["annotations"]["ray.io/cronjob-scheduled-timestamp"]
              for j in rayjobs_of(custom, namespace, "every-minute")]
    assert len(stamps) == len(set(stamps))


def test_invalid_schedule_is_reported_and_creates_nothing(operator, core, custom, namespace):
    create_cronjob(custom, namespace, raycronjob("bad-schedule", schedule="invalid cron string"))
    ev = wait_for(lambda: events(core, namespace, "InvalidRayCronJobSpec"),
                  "InvalidRayCronJobSpec event", timeout=60, interval=1)
    assert ev[0].type == "Warning"
    assert ev[0].message == (f"{namespace}/bad-schedule: invalid cron schedule: expected exactly "
                             "5 fields, found 3: [invalid cron string]")
    assert rayjobs_of(custom, namespace, "bad-schedule") == []


def test_suspended_raycronjob_creates_nothing(operator, core, custom, namespace):
    create_cronjob(custom, namespace, raycronjob("paused", suspend=True))
    ev = wait_for(lambda: events(core, namespace, "SuspendedRayCronJob"),
                  "SuspendedRayCronJob event", timeout=60, interval=1)
    assert ev[0].type == "Normal"
    assert ev[0].message == "RayCronJob suspended, no new RayJobs will be created"
    assert rayjobs_of(custom, namespace, "paused") == []

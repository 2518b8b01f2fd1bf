"""End to end, the Ray side of the substrate: the pinned Ray from the project's virtualenv runs real
tasks on this machine, and the host tools that KubeRay-generated pod commands and probes call
(bash, wget, the ray CLI) are on the PATH that `hack/cluster.sh env` exports.

Ray is kept on loopback and its usage-stats reporting is off: nothing leaves the machine."""
import os
import pathlib
import shutil
import subprocess
import tempfile
import textwrap

from conftest import REPO

RAY_TASK_TIMEOUT_S = 180


def _pinned(key):
    for line in (REPO / "hack" / "versions.env").read_text().splitlines():
        if line.startswith(key + "="):
            return line.split("=", 1)[1]
    raise AssertionError(f"{key} missing from hack/versions.env")


def test_pod_host_tools_are_on_the_exported_path(cluster):
    path = cluster["env"]["PATH"]
    for tool in ("bash", "wget", "ray", "kubectl", "python3"):
        assert shutil.which(tool, path=path), f"{tool} is not on the PATH that cluster.sh env exports"
    out = subprocess.run([shutil.which("ray", path=path), "--version"], capture_output=True,
                         text=True, check=True).stdout
    assert _pinned("RAY_VERSION") in out


def test_pinned_ray_runs_remote_tasks_on_loopback(cluster):
    # Ray puts AF_UNIX sockets (107-byte path limit) under its temp dir: keep the path short.
    tmp_path = tempfile.mkdtemp(prefix="krc-ray-")
    python = pathlib.Path(shutil.which("ray", path=cluster["env"]["PATH"])).parent / "python"
    program = textwrap.dedent("""
        import ray
        ray.init(address="local", _node_ip_address="127.0.0.1", include_dashboard=False,
                 num_cpus=2, _temp_dir=%r, log_to_driver=False)

        @ray.remote
        def square(x):
            return x * x

        print("result", sum(ray.get([square.remote(i) for i in range(100)])))
        ray.shutdown()
    """ % str(tmp_path))
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", PATH=cluster["env"]["PATH"])
    proc = subprocess.run([str(python), "-c", program], capture_output=True, text=True, env=env,
                          timeout=RAY_TASK_TIMEOUT_S)
    shutil.rmtree(tmp_path, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "result 328350" in proc.stdout, proc.stdout + proc.stderr[-2000:]

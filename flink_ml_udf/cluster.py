"""Submitting jobs to a Flink cluster, and a private standalone cluster for demos and tests.

:func:`submit` wraps ``flink run -py jobs/predict_job.py`` with what a cluster needs
(``-pyexec``/``-pyclientexec``: the default ``python`` may not exist on the hosts), returns the job
id, and unless detached waits for the final state through the REST API. :class:`LocalCluster`
starts the standalone cluster that ships inside the pip PyFlink package (``pyflink/bin``) with a
private configuration folder (own REST/RPC ports, bound to localhost, pid and log folders of its
own, two task slots, the venv's Python) and stops it again, also when the block fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import pyflink

from flink_ml_udf.errors import FlinkMlUdfError

PYFLINK_HOME = os.path.dirname(os.path.abspath(pyflink.__file__))
PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREDICT_JOB = os.path.join(PROJECT, "jobs", "predict_job.py")
TERMINAL_STATES = ("FINISHED", "FAILED", "CANCELED")


class ClusterError(FlinkMlUdfError):
    """A cluster could not be started, or a submitted job did not finish."""


@dataclass(frozen=True)
class Submission:
    job_id: str
    state: Optional[str]  # the final state, or None for a detached submission
    output: str  # what `flink run` printed


def _rest(address: str, path: str, timeout: float = 5.0) -> dict:
    with urllib.request.urlopen(f"http://{address}{path}", timeout=timeout) as response:
        return json.load(response)


def submit(
    config: str,
    sql_files: Sequence[str],
    jobmanager: str,
    parallelism: Optional[int] = None,
    detached: bool = False,
    python: str = sys.executable,
    env: Optional[dict] = None,
    timeout: float = 600.0,
) -> Submission:
    """Run ``jobs/predict_job.py`` on the cluster at ``jobmanager`` (``host:port`` of its REST API)."""
    command = [os.path.join(PYFLINK_HOME, "bin", "flink"), "run", "-m", jobmanager]
    if parallelism:
        command += ["-p", str(parallelism)]
    if detached:
        command.append("-d")
    command += ["-pyexec", python, "-pyclientexec", python, "-py", PREDICT_JOB, "--config", os.path.abspath(config)]
    for path in sql_files:
        command += ["--sql", os.path.abspath(path)]
    if detached:
        command.append("--no-wait")  # the job script must not wait for an unbounded job to end
    run_env = dict(env if env is not None else os.environ)
    run_env["PATH"] = os.path.dirname(python) + os.pathsep + run_env.get("PATH", "")
    completed = subprocess.run(command, capture_output=True, text=True, env=run_env, timeout=timeout)
    output = completed.stdout + completed.stderr
    match = re.search(r"JobID ([0-9a-f]{32})", output)
    if completed.returncode != 0 or match is None:
        raise ClusterError(f"flink run on {jobmanager} failed (exit {completed.returncode}): {_tail(output)}")
    job_id = match.group(1)
    if detached:
        return Submission(job_id, None, output)
    state = wait_for_job(jobmanager, job_id, timeout)
    if state != "FINISHED":
        raise ClusterError(f"job {job_id} on {jobmanager} ended {state}: {job_exception(jobmanager, job_id)}")
    return Submission(job_id, state, output)


def wait_for_job(jobmanager: str, job_id: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _rest(jobmanager, f"/jobs/{job_id}")["state"]
        if state in TERMINAL_STATES:
            return state
        time.sleep(0.5)
    raise ClusterError(f"job {job_id} on {jobmanager} did not finish within {timeout} s")


def job_exception(jobmanager: str, job_id: str) -> str:
    """The root exception the cluster recorded for a job (first line), for error messages."""
    try:
        root = _rest(jobmanager, f"/jobs/{job_id}/exceptions").get("rootException") or ""
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"(no exception details: {exc})"
    lines = [line for line in root.splitlines() if line.strip() and not line.strip().startswith("at ")]
    ours = [line for line in lines if "flink_ml_udf." in line]
    return (ours or lines or ["(no exception recorded)"])[-1 if ours else 0].strip()


def udf_metrics(jobmanager: str, job_id: str) -> Dict[str, float]:
    """This project's per-UDF metrics of a running job as the cluster's REST API reports them
    (``<subtask>.<operator>.flink_ml_udf.udf.<name>.rows`` and so on), summed over subtasks."""
    totals: Dict[str, float] = {}
    for vertex in _rest(jobmanager, f"/jobs/{job_id}")["vertices"]:
        base = f"/jobs/{job_id}/vertices/{vertex['id']}/metrics"
        names = [m["id"] for m in _rest(jobmanager, base) if "flink_ml_udf" in m["id"]]
        if not names:
            continue
        for metric in _rest(jobmanager, f"{base}?get={','.join(names)}"):
            key = metric["id"][metric["id"].index("flink_ml_udf") :]
            totals[key] = totals.get(key, 0.0) + float(metric["value"])
    return totals


def cancel_job(jobmanager: str, job_id: str) -> None:
    request = urllib.request.Request(f"http://{jobmanager}/jobs/{job_id}?mode=cancel", method="PATCH")
    urllib.request.urlopen(request, timeout=10).close()


def _tail(output: str, lines: int = 12) -> str:
    kept = [line for line in output.splitlines() if line.strip() and not line.strip().startswith("at ")]
    return " | ".join(kept[-lines:])


class LocalCluster:
    """A standalone Flink cluster on localhost from the pip PyFlink's scripts, in its own folder."""

    def __init__(self, folder: str, rest_port: int, rpc_port: int, slots: int = 2, python: str = sys.executable):
        self.folder = os.path.abspath(folder)
        self.rest_port, self.rpc_port, self.slots, self.python = rest_port, rpc_port, slots, python
        self.conf_dir = os.path.join(self.folder, "conf")
        self.address = f"localhost:{rest_port}"

    @property
    def env(self) -> dict:
        return dict(
            os.environ,
            FLINK_CONF_DIR=self.conf_dir,
            FLINK_LOG_DIR=os.path.join(self.folder, "log"),
            FLINK_PID_DIR=os.path.join(self.folder, "pid"),
        )

    def write_config(self) -> None:
        shutil.rmtree(self.conf_dir, ignore_errors=True)
        os.makedirs(self.conf_dir)
        for name in ("log", "pid"):
            os.makedirs(os.path.join(self.folder, name), exist_ok=True)
        source = os.path.join(PYFLINK_HOME, "conf")
        for name in os.listdir(source):
            if name.startswith(("log4j", "logback")):
                shutil.copy(os.path.join(source, name), self.conf_dir)
        with open(os.path.join(source, "config.yaml")) as handle:
            java_opts = re.search(r"^\s+all: (.*)$", handle.read(), re.MULTILINE).group(1)
        config = f"""env:
  java:
    opts:
      all: {java_opts}
jobmanager:
  bind-host: localhost
  rpc: {{address: localhost, port: {self.rpc_port}}}
  memory: {{process: {{size: 1024m}}}}
taskmanager:
  bind-host: localhost
  host: localhost
  numberOfTaskSlots: {self.slots}
  memory: {{process: {{size: 1728m}}}}
rest:
  address: localhost
  bind-address: localhost
  port: {self.rest_port}
python:
  executable: {self.python}
  client: {{executable: {self.python}}}
"""
        with open(os.path.join(self.conf_dir, "config.yaml"), "w") as handle:
            handle.write(config)
        with open(os.path.join(self.conf_dir, "masters"), "w") as handle:
            handle.write(f"localhost:{self.rest_port}\n")
        with open(os.path.join(self.conf_dir, "workers"), "w") as handle:
            handle.write("localhost\n")

    def start(self, timeout: float = 90.0) -> "LocalCluster":
        self.write_config()
        script = os.path.join(PYFLINK_HOME, "bin", "start-cluster.sh")
        started = subprocess.run(["bash", script], capture_output=True, text=True, env=self.env, timeout=120)
        if started.returncode != 0:
            raise ClusterError(f"start-cluster.sh failed: {_tail(started.stdout + started.stderr)}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if _rest(self.address, "/overview", timeout=2).get("slots-available", 0) >= self.slots:
                    return self
            except (urllib.error.URLError, OSError, ValueError):
                pass  # not up yet: the REST endpoint starts a few seconds after the script returns
            time.sleep(0.5)
        self.stop()
        raise ClusterError(
            f"cluster at {self.address} did not offer {self.slots} slots within {timeout} s; logs in {self.folder}/log"
        )

    def stop(self) -> None:
        script = os.path.join(PYFLINK_HOME, "bin", "stop-cluster.sh")
        subprocess.run(["bash", script], capture_output=True, text=True, env=self.env, timeout=120)

    def __enter__(self) -> "LocalCluster":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def free_ports(count: int) -> List[int]:
    import socket

    sockets, ports = [], []
    for _ in range(count):
        handle = socket.socket()
        handle.bind(("127.0.0.1", 0))
        sockets.append(handle)
        ports.append(handle.getsockname()[1])
    for handle in sockets:
        handle.close()
    return ports

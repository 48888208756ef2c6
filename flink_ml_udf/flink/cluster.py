"""Submitting jobs to a Flink cluster, and a private standalone cluster for demos and tests.

:func:`submit` wraps ``flink run -pym flink_ml_udf.flink.job`` with what a cluster needs
(``-pyexec``/``-pyclientexec``: the default ``python`` may not exist on the hosts), returns the job
id, and unless detached waits for the final state through the REST API. :class:`LocalCluster`
starts the standalone cluster that ships inside the pip PyFlink package (``pyflink/bin``) with a
private configuration folder (own REST/RPC ports, bound to localhost, pid and log folders of its
own, two task slots, the venv's Python) and stops it again, also when the block fails.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import pyflink

from flink_ml_udf.errors import FlinkMlUdfError
from flink_ml_udf.flink.java_errors import failure_summary, java_root_cause
from flink_ml_udf.ports import free_ports

PYFLINK_HOME = os.path.dirname(os.path.abspath(pyflink.__file__))
JOB_MODULE = "flink_ml_udf.flink.job"
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
    worker_python: Optional[str] = None,
    ship_bundles: bool = True,
    ship_requirements: bool = True,
) -> Submission:
    """Run the job module (:mod:`flink_ml_udf.flink.job`) on the cluster at ``jobmanager`` (``host:port``
    of its REST API), shipping this package, the config's local bundles and the S3/GCS extras with it
    (:mod:`flink_ml_udf.flink.shipping`), so the TaskManagers need only ``apache-flink`` in
    ``worker_python`` (default: ``python``, the client's interpreter, which runs the job's main)."""
    from flink_ml_udf.config import load_config
    from flink_ml_udf.flink.shipping import prepare_shipment

    app_config = load_config(config, env)  # as the job will read it: with the job's environment
    with tempfile.TemporaryDirectory(prefix="flink-ml-udf-submit-") as staging:
        shipment = prepare_shipment(app_config, staging, ship_bundles, ship_requirements)
        command = [os.path.join(PYFLINK_HOME, "bin", "flink"), "run", "-m", jobmanager]
        if parallelism:
            command += ["-p", str(parallelism)]
        if detached:
            command.append("-d")
        command += ["-pyexec", worker_python or python, "-pyclientexec", python, *shipment.flink_run_options()]
        command += ["-pym", JOB_MODULE, "--config", os.path.abspath(config)]
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
        raise ClusterError(f"flink run on {jobmanager} failed (exit {completed.returncode}): {failure_summary(output)}")
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
        answer = _rest(jobmanager, f"/jobs/{job_id}/exceptions")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"(no exception details: {exc})"
    # Flink 1.x: rootException; Flink 2.x: only the history, newest first.
    entries = (answer.get("exceptionHistory") or {}).get("entries") or [{}]
    root = answer.get("rootException") or entries[0].get("stacktrace") or ""
    return java_root_cause(root) if root.strip() else "(no exception recorded)"


def subtask_metrics(jobmanager: str, job_id: str) -> List[Tuple[int, str, float]]:
    """This project's metrics of a running job as the cluster's REST API reports them, one
    ``(subtask, "flink_ml_udf.udf.<name>.rows", value)`` per subtask and metric. The REST API
    refreshes them every ``metrics.fetcher.update-interval`` (10 s by default)."""
    found: List[Tuple[int, str, float]] = []
    for vertex in _rest(jobmanager, f"/jobs/{job_id}")["vertices"]:
        base = f"/jobs/{job_id}/vertices/{vertex['id']}/metrics"
        names = [m["id"] for m in _rest(jobmanager, base) if "flink_ml_udf" in m["id"]]
        for start in range(0, len(names), 40):  # keep the query string short
            for metric in _rest(jobmanager, f"{base}?get={','.join(names[start : start + 40])}"):
                prefix, _, key = metric["id"].partition("flink_ml_udf.")
                subtask = prefix.split(".", 1)[0]
                found.append((int(subtask) if subtask.isdigit() else -1, "flink_ml_udf." + key, float(metric["value"])))
    return found


def udf_metrics(jobmanager: str, job_id: str) -> Dict[str, float]:
    """This project's per-UDF metrics of a running job (``flink_ml_udf.udf.<name>.rows`` and so on),
    summed over subtasks."""
    totals: Dict[str, float] = {}
    for _, key, value in subtask_metrics(jobmanager, job_id):
        totals[key] = totals.get(key, 0.0) + value
    return totals


def cancel_job(jobmanager: str, job_id: str) -> None:
    request = urllib.request.Request(f"http://{jobmanager}/jobs/{job_id}?mode=cancel", method="PATCH")
    urllib.request.urlopen(request, timeout=10).close()


class LocalCluster:
    """A standalone Flink cluster on localhost from the pip PyFlink's scripts, in its own folder.

    Everything the cluster writes stays under ``folder``: configuration, logs, pid files, and the
    temporary files of the JVMs and Python workers (``tmp/``: working folders, shuffle and io
    folders, extracted RPC jars, Python environments), which a killed TaskManager would otherwise
    leave behind in the system temp folder. :meth:`stop` signals only processes that are alive and
    started with this cluster's configuration folder, never whatever pid a dead daemon's line in a
    pid file names now.
    """

    def __init__(
        self,
        folder: str,
        rest_port: int,
        rpc_port: int,
        slots: int = 2,
        python: str = sys.executable,
        settings: Optional[Mapping[str, str]] = None,
        prometheus_ports: Optional[Sequence[int]] = None,
    ):
        self.folder = os.path.abspath(folder)
        self.rest_port, self.rpc_port, self.slots, self.python = rest_port, rpc_port, slots, python
        self.settings = dict(settings or {})  # extra config.yaml keys (flat, e.g. heartbeat.timeout)
        # Flink's Prometheus reporter (pyflink/plugins/metrics-prometheus): each JVM takes a free port of these.
        self.prometheus_ports = list(prometheus_ports) if prometheus_ports is not None else free_ports(4)
        self.conf_dir = os.path.join(self.folder, "conf")
        self.pid_dir = os.path.join(self.folder, "pid")
        self.tmp_dir = os.path.join(self.folder, "tmp")
        self.address = f"localhost:{rest_port}"

    @property
    def env(self) -> dict:
        return dict(
            os.environ,
            FLINK_CONF_DIR=self.conf_dir,
            FLINK_LOG_DIR=os.path.join(self.folder, "log"),
            FLINK_PID_DIR=self.pid_dir,
            TMPDIR=self.tmp_dir,  # Python workers inherit it (tempfile, PyFlink's own files)
        )

    def write_config(self) -> None:
        shutil.rmtree(self.conf_dir, ignore_errors=True)
        os.makedirs(self.conf_dir)
        for folder in (os.path.join(self.folder, "log"), self.pid_dir, self.tmp_dir):
            os.makedirs(folder, exist_ok=True)
        source = os.path.join(PYFLINK_HOME, "conf")
        for name in os.listdir(source):
            if name.startswith(("log4j", "logback")):
                shutil.copy(os.path.join(source, name), self.conf_dir)
        with open(os.path.join(source, "config.yaml")) as handle:
            java_opts = re.search(r"^\s+all: (.*)$", handle.read(), re.MULTILINE).group(1)
        java_opts += f" -Djava.io.tmpdir={self.tmp_dir}"
        config = f"""env:
  java:
    opts:
      all: {java_opts}
io:
  tmp:
    dirs: {self.tmp_dir}
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
metrics:
  reporter:
    prom:
      factory.class: org.apache.flink.metrics.prometheus.PrometheusReporterFactory
      port: "{",".join(map(str, self.prometheus_ports))}"
"""
        config += "".join(f"{key}: {json.dumps(str(value))}\n" for key, value in self.settings.items())
        with open(os.path.join(self.conf_dir, "config.yaml"), "w") as handle:
            handle.write(config)
        with open(os.path.join(self.conf_dir, "masters"), "w") as handle:
            handle.write(f"localhost:{self.rest_port}\n")
        with open(os.path.join(self.conf_dir, "workers"), "w") as handle:
            handle.write("localhost\n")

    def start(self, timeout: float = 90.0) -> "LocalCluster":
        self.stop()  # a cluster left running in this folder by an earlier, killed run
        self.write_config()
        self._script("start-cluster.sh")
        try:
            self.wait_for_slots(self.slots, timeout)
        except ClusterError:
            self.stop()
            raise
        return self

    def wait_for_slots(self, slots: int, timeout: float = 90.0) -> None:
        """Wait until the cluster offers ``slots`` task slots in all (registered TaskManagers)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if _rest(self.address, "/overview", timeout=2).get("slots-total", 0) >= slots:
                    return
            except (urllib.error.URLError, OSError, ValueError):
                pass  # not up yet: the REST endpoint starts a few seconds after the script returns
            time.sleep(0.5)
        raise ClusterError(
            f"cluster at {self.address} did not offer {slots} slots within {timeout} s; logs in {self.folder}/log"
        )

    def start_taskmanager(self) -> int:
        """Start one more TaskManager (e.g. to replace a killed one); returns its pid."""
        before = set(self.taskmanager_pids())
        self._script("taskmanager.sh", "start")
        started = [pid for pid in self.taskmanager_pids() if pid not in before]
        if not started:
            raise ClusterError(f"taskmanager.sh start left no new TaskManager; logs in {self.folder}/log")
        return started[0]

    def taskmanager_pids(self) -> List[int]:
        """Pids of this cluster's TaskManagers that are alive now."""
        return self._live_pids("taskexecutor")

    def python_worker_pids(self, taskmanager: int) -> List[int]:
        """Pids of the Python worker processes a TaskManager started (on a cluster they are separate
        processes; PyFlink's boot script runs them)."""
        children = _child_pids(taskmanager)
        workers = []
        while children:
            pid = children.pop()
            if "pyflink" in _command_line(pid):
                workers.append(pid)
            children += _child_pids(pid)
        return sorted(workers)

    def orphaned_python_workers(self) -> List[int]:
        """Pids of Python worker processes (and their runner scripts) of this cluster whose TaskManager
        is gone. A TaskManager killed with SIGKILL often leaves its Python worker running for good
        (PyFlink's worker does not always exit when its TaskManager's connection drops); they are
        recognised by the TMPDIR this cluster gives every process it starts. A worker that a live
        TaskManager is starting right now can be listed too: ask when none is (as :meth:`stop` does)."""
        live = {pid for taskmanager in self.taskmanager_pids() for pid in self.python_worker_pids(taskmanager)}
        found = _pids_with_env("TMPDIR", self.tmp_dir)
        return [pid for pid in found if pid not in live and _is_python_worker(_command_line(pid))]

    def scrape(self, timeout: float = 5.0) -> str:
        """The Prometheus exposition text of every JVM of this cluster (JobManager and TaskManagers)."""
        texts = []
        for port in self.prometheus_ports:
            try:
                with urllib.request.urlopen(f"http://localhost:{port}/metrics", timeout=timeout) as response:
                    texts.append(response.read().decode())
            except (urllib.error.URLError, OSError):
                continue  # a port of the range no JVM took
        return "".join(texts)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop this cluster's live daemons (TERM, then KILL after ``timeout`` s), kill the Python
        workers that killed TaskManagers left behind, forget dead pids, and remove the temporary files."""
        pids = self._live_pids("taskexecutor") + self._live_pids("standalonesession")
        for pid in pids:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
            time.sleep(0.2)
        for pid in pids:
            if _alive(pid):
                _signal(pid, signal.SIGKILL)
        for pid in self.orphaned_python_workers():  # of TaskManagers that were killed
            _signal(pid, signal.SIGKILL)
        for name in glob.glob(os.path.join(self.pid_dir, "*.pid")):
            os.remove(name)
        shutil.rmtree(self.tmp_dir, ignore_errors=True)

    def _live_pids(self, daemon: str) -> List[int]:
        """Pids listed in this cluster's pid file of ``daemon`` that are alive and were started with
        this cluster's configuration folder (a pid file keeps the pids of daemons that died)."""
        pids = []
        for name in glob.glob(os.path.join(self.pid_dir, f"*-{daemon}.pid")):
            with open(name) as handle:
                pids += [int(line) for line in handle.read().split() if line.isdigit()]
        marker = f"--configDir\0{self.conf_dir}\0"
        return [pid for pid in pids if _alive(pid) and marker in _command_line(pid) + "\0"]

    def _script(self, name: str, *args: str) -> None:
        script = os.path.join(PYFLINK_HOME, "bin", name)
        started = subprocess.run(["bash", script, *args], capture_output=True, text=True, env=self.env, timeout=120)
        if started.returncode != 0:
            raise ClusterError(f"{name} failed: {failure_summary(started.stdout + started.stderr)}")

    def __enter__(self) -> "LocalCluster":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _command_line(pid: int) -> str:
    """A process's arguments joined by NUL ('' if it is gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().decode(errors="replace").rstrip("\0")
    except OSError:
        pass
    if not os.path.isdir("/proc"):  # no procfs (macOS): ask ps; arguments come back space-separated
        listed = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True)
        return "\0".join(listed.stdout.strip().split(" ")) if listed.returncode == 0 else ""
    return ""


def _is_python_worker(command_line: str) -> bool:
    """PyFlink's Python worker (``python -m pyflink.fn_execution.beam.beam_boot``) or its runner script."""
    return "pyflink.fn_execution" in command_line or "pyflink-udf-runner" in command_line


def _pids_with_env(key: str, value: str) -> List[int]:
    """Pids of this user's processes whose environment has ``key=value`` (none without procfs)."""
    wanted = f"{key}={value}".encode()
    found = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as handle:
                    if wanted in handle.read().split(b"\0"):
                        found.append(int(entry))
            except OSError:
                continue  # gone, or another user's
    return found


def _child_pids(pid: int) -> List[int]:
    listed = subprocess.run(["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True)
    pairs = [line.split() for line in listed.stdout.splitlines()]
    return [int(child) for child, parent in (p for p in pairs if len(p) == 2) if parent == str(pid)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (exited, not yet reaped by its parent) is not alive for our purposes
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass

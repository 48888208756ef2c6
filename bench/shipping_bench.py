"""What shipping the job's Python dependencies costs, per PyFlink option, on a local standalone cluster.

    python bench/shipping_bench.py [--rounds 2] [--venv-archive]

Each variant submits the same bounded job (datagen, 300 rows → Predict and Predictv2 → CSV files)
with ``flink run -pym flink_ml_udf.flink.job`` and times it from ``flink run`` to FINISHED; the rows
written are counted (300 each time, or the variant is reported as failed). Variants:

- ``preinstalled``: nothing shipped; the workers' Python has flink-ml-udf (the old way; not possible
  on hosts with apache-flink only). The baseline.
- ``pyfs-zip`` (what ``submit`` does): ``-pyfs`` the package zip + ``-pyarch`` the bundle archive;
  workers' Python has apache-flink only.
- ``pyreq-wheelhouse``: ``-pyreq requirements.txt#wheelhouse`` naming flink-ml-udf, pip-installed by
  each TaskManager from the shipped folder (``--no-index --ignore-installed``: the folder holds the
  wheel and every dependency, apache-flink included) + the bundle archive; apache-flink only.
- ``pyarch-venv`` (``--venv-archive``): ``-pyarch venv.zip`` of a whole venv (apache-flink +
  flink-ml-udf) and ``-pyexec`` inside it; the TaskManagers need no Python packages at all.

Rounds alternate the variants, so a load change on the machine spreads over all of them.
"""

from __future__ import annotations

import argparse
import glob
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from flink_ml_udf.config import load_config  # noqa: E402
from flink_ml_udf.flink.cluster import JOB_MODULE, PYFLINK_HOME, LocalCluster, wait_for_job  # noqa: E402
from flink_ml_udf.flink.shipping import BUNDLES_DIR, prepare_shipment  # noqa: E402
from flink_ml_udf.ports import free_ports  # noqa: E402
from tests.venvs import flink_only_python, make_venv, venv_python  # noqa: E402

CONFIG = os.path.join(REPO, "conf", "application.yaml")
ROWS = 300


def sink_sql(folder: str, out: str) -> str:
    path = os.path.join(folder, "sink.sql")
    with open(path, "w") as handle:
        handle.write(
            f"CREATE TEMPORARY TABLE Scored (p1 DOUBLE, p2 DOUBLE) WITH ('connector' = 'filesystem', "
            f"'path' = '{out}', 'format' = 'csv');\n"
            "INSERT INTO Scored SELECT Predict(feature1, feature2, feature3), Predictv2(feature1) FROM Features;\n"
        )
    return path


def run_job(cluster: LocalCluster, options, worker_python: str, work: str) -> float:
    out = tempfile.mkdtemp(prefix="out-", dir=work)
    command = [os.path.join(PYFLINK_HOME, "bin", "flink"), "run", "-m", cluster.address, "-p", "2"]
    command += ["-pyexec", worker_python, "-pyclientexec", sys.executable, *options, "-pym", JOB_MODULE]
    command += ["--config", CONFIG, "--sql", os.path.join(REPO, "sql", "features_datagen.sql")]
    command += ["--sql", sink_sql(work, out)]
    env = {k: v for k, v in os.environ.items() if "PYFLINK" not in k}
    env["FEATURES_ROWS"] = str(ROWS)
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    match = re.search(r"JobID ([0-9a-f]{32})", completed.stdout + completed.stderr)
    if completed.returncode != 0 or match is None:
        raise RuntimeError(f"flink run failed: {(completed.stdout + completed.stderr)[-1500:]}")
    state = wait_for_job(cluster.address, match.group(1), 1800)
    seconds = time.perf_counter() - start
    rows = sum(1 for path in glob.glob(f"{out}/**/part-*", recursive=True) for _ in open(path))
    if state != "FINISHED" or rows != ROWS:
        raise RuntimeError(f"job ended {state} with {rows} rows")
    return seconds


def zip_folder(folder: str, target: str, arcname: str) -> str:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for root, dirs, names in os.walk(folder):
            dirs.sort()
            for name in sorted(names):
                full = os.path.join(root, name)
                if os.path.islink(full) and not os.path.exists(full):
                    continue
                archive.write(full, os.path.join(arcname, os.path.relpath(full, folder)))
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--venv-archive", action="store_true", help="also ship a whole venv (~1 GB, slow to zip)")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="shipping-bench-")
    bare = flink_only_python()
    # name -> (prepare seconds, bytes shipped, flink run options, worker python)
    variants = {"preinstalled": (0.0, 0, [], sys.executable)}

    start = time.perf_counter()
    shipment = prepare_shipment(load_config(CONFIG), os.path.join(work, "ship"))
    variants["pyfs-zip"] = (
        time.perf_counter() - start,
        sum(shipment.sizes.values()),
        shipment.flink_run_options(),
        bare,
    )
    bundles = ["-pyarch", f"{shipment.bundles}#{BUNDLES_DIR}"]

    start = time.perf_counter()
    wheels = os.path.join(work, "wheels")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "--quiet", "-w", wheels, REPO], check=True, capture_output=True)
    [wheel] = os.listdir(wheels)
    wheel = os.path.join(wheels, wheel)
    # -pyreq installs with --ignore-installed: the cache folder must hold every dependency, apache-flink too.
    wheelhouse = os.path.join(work, "wheelhouse")
    # (pip wheel, not pip download: offline, the TaskManagers cannot build the few sdists among them)
    subprocess.run([*pip, "wheel", "--quiet", "-w", wheelhouse, wheel], check=True, capture_output=True)
    requirements = os.path.join(work, "requirements.txt")
    with open(requirements, "w") as handle:
        handle.write(os.path.basename(wheel).split("-")[0].replace("_", "-") + "\n")
    shipped = os.path.getsize(requirements) + os.path.getsize(shipment.bundles)
    shipped += sum(os.path.getsize(os.path.join(wheelhouse, name)) for name in os.listdir(wheelhouse))
    options = ["-pyreq", f"{requirements}#{wheelhouse}", *bundles]
    variants["pyreq-wheelhouse"] = (time.perf_counter() - start, shipped, options, bare)

    if args.venv_archive:
        start = time.perf_counter()
        venv = os.path.join(work, "venv")
        make_venv(venv, wheel)
        archive = zip_folder(venv, os.path.join(work, "venv.zip"), "venv")
        shutil.rmtree(venv)  # the workers must use the shipped one
        variants["pyarch-venv"] = (
            time.perf_counter() - start,
            os.path.getsize(archive) + os.path.getsize(shipment.bundles),
            ["-pyarch", archive, *bundles],  # extracted into the folder venv.zip, as in PyFlink's docs
            venv_python("venv.zip/venv"),
        )

    results = {name: [] for name in variants}
    rest, rpc = free_ports(2)
    with LocalCluster(os.path.join(work, "cluster"), rest, rpc, slots=2) as cluster:
        for _ in range(args.rounds):
            for name, (_, _, options, python) in variants.items():
                try:
                    results[name].append(run_job(cluster, options, python, work))
                except RuntimeError as exc:
                    results[name].append(float("nan"))
                    print(f"{name}: {exc}", file=sys.stderr)
                print(f"{name}: {results[name][-1]:.1f} s", flush=True)

    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"job: datagen {ROWS} rows → Predict + Predictv2 → CSV, parallelism 2, one TaskManager (2 slots)")
    print("| variant | prepared on the client | shipped | flink run → FINISHED (each round) | vs preinstalled |")
    print("|---|---|---|---|---|")
    baseline = min(results["preinstalled"])
    for name, (prepare, size, _, _) in variants.items():
        runs = ", ".join(f"{value:.1f} s" for value in results[name])
        print(f"| {name} | {prepare:.2f} s | {size / 1024:,.0f} KiB | {runs} | {min(results[name]) / baseline:.2f}x |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

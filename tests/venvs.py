"""Virtual environments other than the project's own, for the tests that play a cluster host or a
user who installed the wheel.

They are made from the pip configuration and cache of this machine (no network beyond what pip is
set up to use). A venv with nothing but the pinned ``apache-flink`` (what a TaskManager host of a
plain PyFlink cluster has) is kept in the user cache folder, keyed by the pin and the interpreter,
because it takes ~30 s and ~850 MB to make and never changes for a pin.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata

from flink_ml_udf.user_dirs import user_cache_dir


def base_python() -> str:
    """The interpreter this venv was made from (a new venv must not nest inside ours)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def flink_pin() -> str:
    """``apache-flink==X`` exactly as flink-ml-udf requires it."""
    pins = [r for r in metadata.requires("flink-ml-udf") or [] if re.match(r"apache-flink\s*==", r)]
    assert len(pins) == 1, f"flink-ml-udf should pin apache-flink exactly once, found {pins}"
    return pins[0].replace(" ", "")


def venv_python(folder: str) -> str:
    return os.path.join(folder, "bin", "python")


def make_venv(folder: str, *requirements: str, timeout: float = 900) -> str:
    """A new venv in ``folder`` with ``requirements`` pip-installed; returns its Python."""
    subprocess.run([base_python(), "-m", "venv", folder], check=True, capture_output=True, timeout=120)
    if requirements:
        command = [venv_python(folder), "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
        installed = subprocess.run([*command, *requirements], capture_output=True, text=True, timeout=timeout)
        assert installed.returncode == 0, f"pip install {requirements} failed:\n{installed.stderr[-3000:]}"
    return venv_python(folder)


def flink_only_python() -> str:
    """The Python of a cached venv holding only the pinned apache-flink (and what it requires)."""
    pin = flink_pin()
    key = hashlib.sha256(f"{pin}\0{os.path.realpath(base_python())}".encode()).hexdigest()[:12]
    folder = user_cache_dir(
        "test-venvs", f"{pin.replace('==', '-')}-py{sys.version_info[0]}{sys.version_info[1]}-{key}"
    )
    done = os.path.join(folder, ".complete")
    os.makedirs(os.path.dirname(folder), exist_ok=True)
    with open(folder + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test session may be making it right now
        if not os.path.exists(done):
            shutil.rmtree(folder, ignore_errors=True)  # a half-made one from a killed run
            make_venv(folder, pin)
            with open(done, "w") as handle:
                handle.write(pin + "\n")
    return venv_python(folder)

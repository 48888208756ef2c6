"""Server subprocesses on 127.0.0.1 for the tests and drills: a generic runner (log to a file, wait
until an HTTP path answers) and moto's standalone S3 server, which the loader tests use as their
model store and the durable local broker (:func:`flink_ml_udf.testing.local_kafka.durable_broker`)
as its storage."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import List

from flink_ml_udf.ports import free_port


class Server:
    """A server subprocess whose request log goes to a file; started on construction, ready when
    ``ready_path`` answers over HTTP."""

    def __init__(self, name: str, command: List[str], port: int, ready_path: str) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.folder = tempfile.mkdtemp(prefix=f"{name}-")
        self.log_path = os.path.join(self.folder, "requests.log")
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, cwd=self.folder)
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.process.returncode}: {self.log()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + ready_path, timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{name} did not start within 30 s: {self.log()[-2000:]}") from None
                time.sleep(0.1)

    def log(self) -> str:
        self._log.flush()
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def start_moto() -> Server:
    """moto's S3 (and IAM) server, authentication off, from the ``moto[server]`` next to this Python."""
    port = free_port()
    script = os.path.join(os.path.dirname(sys.executable), "moto_server")
    return Server("moto", [script, "-H", "127.0.0.1", "-p", str(port)], port, "/moto-api/data.json")

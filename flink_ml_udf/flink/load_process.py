"""Loading a model update in a child process, so that it never competes with scoring for the GIL.

Reading a bundle is pure-Python work (JSON, protobuf, tree building) that holds the interpreter
lock; on a worker's background thread it slowed the batches scored meanwhile about five-fold
(bench/reload_bench.py). Here a fresh interpreter (``python -m flink_ml_udf.flink.load_process``)
fetches, reads and builds the model, and hands it back pickled: unpickling a model is a memory
copy of its arrays (about 10 ms for a 17 MB forest). The child runs at the lowest CPU priority, so
it takes only idle CPU where cores are short. It also bounds the load in time: one
that hangs is killed after ``timeout_s``. The pickle comes from this package's own code in the
child, never from the bundle (bundles are never unpickled).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from typing import Optional

from flink_ml_udf.bundles import LoadedModel, load_entry_model
from flink_ml_udf.config import UdfEntry
from flink_ml_udf.errors import FlinkMlUdfError

#: How long a model update may take to load before the child is killed and the update rejected.
LOAD_TIMEOUT_S = 600.0


def load_in_child(
    entry: UdfEntry, uri: Optional[str], version: Optional[str], timeout_s: float = LOAD_TIMEOUT_S
) -> LoadedModel:
    """:func:`~flink_ml_udf.bundles.load_entry_model` in a child process; its errors come back as
    FlinkMlUdfError with the same message."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))  # what this worker can import
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "flink_ml_udf.flink.load_process"],
            input=pickle.dumps((entry, uri, version)),
            capture_output=True,
            timeout=timeout_s,
            env=env,
        )
    except subprocess.TimeoutExpired:
        raise FlinkMlUdfError(
            f"{entry.label} → bundle {uri}: not loaded within {timeout_s:g} s (the load was stopped)"
        ) from None
    except OSError as exc:
        raise FlinkMlUdfError(f"{entry.label} → bundle {uri}: cannot start a loader process: {exc}") from None
    if completed.returncode != 0 or not completed.stdout:
        tail = completed.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise FlinkMlUdfError(
            f"{entry.label} → bundle {uri}: the loader process ended with status {completed.returncode}: {tail[0]}"
        )
    outcome, value = pickle.loads(completed.stdout)
    if outcome == "error":
        raise FlinkMlUdfError(value)
    return value


#: The loader's CPU priority (``nice``): the lowest, so that where cores are short a model update
#: waits for the CPU rather than the batches being scored meanwhile.
LOADER_NICENESS = 19


def main() -> int:
    os.nice(LOADER_NICENESS)
    entry, uri, version = pickle.loads(sys.stdin.buffer.read())
    try:
        result = ("ok", load_entry_model(entry, uri, version))
    except FlinkMlUdfError as exc:
        result = ("error", str(exc))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which keeps its model
        result = ("error", f"{entry.label} → bundle {uri}: {type(exc).__name__}: {exc}")
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    return 0


if __name__ == "__main__":
    sys.exit(main())

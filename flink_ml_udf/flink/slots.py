"""Model slots: what one UDF serves on one worker right now, and how it changes while the job runs.

A :class:`ModelSlot` holds one :class:`Served` model: the scorer built for it, its version, its
URI and when it was loaded. The UDF reads ``slot.current`` once per batch, so a batch is scored
wholly by one model. Update sources (:mod:`flink_ml_udf.flink.updates`) *propose* a new (URI,
version); the slot loads it in a child process (:mod:`flink_ml_udf.flink.load_process`: the
parsing never holds the worker's GIL while it scores), checks it on the caller's thread, which is
never the scoring thread, and swaps it in by replacing one reference. Any failure keeps the current model,
is counted and logged once, and the same (URI, version) is not tried again: a bad version costs
one download, not one per poll.

Nothing here imports PyFlink: slots are plain Python, tested without a JVM.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Set, Tuple

from flink_ml_udf.bundles import LoadedModel
from flink_ml_udf.config import UdfEntry
from flink_ml_udf.errors import FlinkMlUdfError
from flink_ml_udf.flink.load_process import load_in_child
from flink_ml_udf.flink.scoring import BatchScorer
from flink_ml_udf.flink.shipping import load_worker_model
from flink_ml_udf.flink.signature import Signature, compatible_signature

log = logging.getLogger("flink_ml_udf.reload")


def is_classifier(model) -> bool:
    """Whether the op that computes the model's prediction is a classifier (its prediction a label)."""
    from flink_ml_udf.mleap.ops.model_base import Classifier

    name = model.prediction_column.name
    producer = next(
        (op for op in reversed(model.ops) if any(c.name == name for c in op.outputs) and not op.children), None
    )
    return isinstance(producer, Classifier) or (producer is not None and "classifier" in producer.op)


@dataclass(frozen=True)
class Served:
    """One loaded model as a slot serves it."""

    scorer: BatchScorer
    version: str
    uri: str
    loaded_at_ms: int  # epoch milliseconds
    prediction_column: str = "prediction"  # the bundle's final prediction (what a shadow is compared on)
    classification: bool = False  # the prediction is a class label (compared for agreement, not distance)


@dataclass
class SlotStats:
    """Counts an operator reads (through the UDF's metrics): plain ints, written by update threads."""

    reloads: int = 0  # successful swaps after the first load
    reload_failures: int = 0
    last_failure: Optional[str] = None


@dataclass
class ModelSlot:
    """What one UDF serves on this worker; see the module docstring."""

    entry: UdfEntry
    signature: Signature  # the registered SQL signature every model of this slot must keep
    stats: SlotStats = field(default_factory=SlotStats)
    # How proposals are loaded: in a child process, off the worker's GIL (see load_process).
    loader: Callable[[UdfEntry, Optional[str], Optional[str]], LoadedModel] = load_in_child
    _current: Optional[Served] = field(default=None, repr=False)
    _rejected: Set[Tuple[str, str]] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def label(self) -> str:
        return self.entry.label

    @property
    def current(self) -> Served:
        served = self._current
        if served is None:
            raise FlinkMlUdfError(f"{self.label}: no model loaded yet")
        return served

    @property
    def loaded(self) -> bool:
        return self._current is not None

    @property
    def target_uri(self) -> str:
        """The bundle this slot follows: what it serves, or its entry's bundle before the first load."""
        served = self._current
        return served.uri if served is not None else self.entry.bundle_path

    def load(self, uri: Optional[str] = None, version: Optional[str] = None) -> Served:
        """Load the first model (in ``open()``): any error is raised, the worker cannot score without one."""
        with self._lock:
            served = self._build(load_worker_model(self.entry, uri, version))  # a shipped copy, if any
            self._current = served
            return served

    def propose(self, uri: str, version: Optional[str] = None, resolved_by: str = "reload") -> bool:
        """Load ``uri`` at ``version`` (None: its current version) and swap it in if it loads, scores
        with the registered signature, and differs from what is served; never raises. Returns whether
        the served model changed."""
        with self._lock:
            current = self._current
            if current is not None and (uri, version) == (current.uri, current.version):
                return False
            if version is not None and (uri, version) in self._rejected:
                return False
            try:
                loaded = self.loader(self.entry, uri, version)
                if current is not None and (loaded.uri, loaded.version) == (current.uri, current.version):
                    return False
                served = self._build(loaded)
            except Exception as exc:  # noqa: BLE001 - a model update must never fail the job
                self._rejected.add((uri, version or "?"))
                self._failed(uri, version, exc, resolved_by)
                return False
            self._current = served  # the swap: the next batch reads the new model
            if current is not None:
                self.stats.reloads += 1
                log.info(
                    "%s: now serving %s @ %s (was %s @ %s; %s)",
                    self.label, served.uri, served.version, current.uri, current.version, resolved_by,
                )  # fmt: skip
            return True

    def reject(self, uri: str, version: Optional[str], cause: str, resolved_by: str) -> None:
        """Count and log a failure found before any load (an unreachable store, a bad control record)."""
        with self._lock:
            self._failed(uri, version, FlinkMlUdfError(cause), resolved_by)

    def was_rejected(self, uri: str, version: str) -> bool:
        return (uri, version) in self._rejected

    def _build(self, loaded: LoadedModel) -> Served:
        where = f"bundle {loaded.uri} @ {loaded.version}"
        signature = compatible_signature(self.entry, loaded.model, self.signature, where)
        scorer = BatchScorer(
            self.entry.udf_name,
            loaded.model,
            signature,
            self.entry.on_error,
            constants={"model_version": loaded.version, "model_uri": loaded.uri},
        )
        prediction = loaded.model.prediction_column.name
        return Served(
            scorer, loaded.version, loaded.uri, int(time.time() * 1000), prediction, is_classifier(loaded.model)
        )

    def _failed(self, uri: str, version: Optional[str], exc: BaseException, resolved_by: str) -> None:
        self.stats.reload_failures += 1
        cause = str(exc) if isinstance(exc, FlinkMlUdfError) else f"{type(exc).__name__}: {exc}"
        if not cause.startswith(self.label):
            cause = f"{self.label} → bundle {uri}: {cause}"
        self.stats.last_failure = cause
        served = self._current
        keeping = f"; keeping {served.uri} @ {served.version}" if served is not None else ""
        log.warning("%s: %s rejected version %s: %s%s", self.label, resolved_by, version or "(current)", cause, keeping)

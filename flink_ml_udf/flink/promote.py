"""``flink-ml-udf promote``: tell every worker of a UDF which bundle to serve, through its control topic.

The bundle is loaded and checked here first (it must load and keep the registered SQL signature),
so a record on the topic names a version that was seen to work; the record pins that version, so
every worker loads exactly what was checked. Promoting an older version is the rollback.

Ordering: each worker switches when it reads the record, so for a short time different subtasks
may serve different versions; every row's ``model_version`` output says which one scored it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from flink_ml_udf.bundles import load_entry_model
from flink_ml_udf.config import AppConfig
from flink_ml_udf.errors import FlinkMlUdfError
from flink_ml_udf.flink.signature import compatible_signature, derive_signature
from flink_ml_udf.flink.updates import ModelUpdate, import_kafka
from flink_ml_udf.sources import LOCAL, local_path, source_of


@dataclass(frozen=True)
class Promotion:
    update: ModelUpdate
    topic: str
    partition: int
    offset: int


def promote(
    config: AppConfig,
    udf_name: str,
    bundle: str,
    version: Optional[str] = None,
    timeout_s: float = 30.0,
    variant: Optional[str] = None,
) -> Promotion:
    """Check ``bundle`` (at ``version``) against ``udf_name``'s registered signature (of ``variant`` of
    an experiment) and write it to its control topic; returns where the record landed."""
    entry = _arm_entry(config.entry(udf_name), variant)
    if entry.control is None:
        raise FlinkMlUdfError(
            f"{entry.label}: has no control topic (add control: {{topic, bootstrap_servers}} to its entry)"
        )
    if source_of(bundle) is LOCAL:
        bundle = os.path.abspath(local_path(bundle))
    registered = derive_signature(entry, load_entry_model(entry).model)
    candidate = load_entry_model(entry, bundle, version)
    compatible_signature(entry, candidate.model, registered, f"bundle {candidate.uri} @ {candidate.version}")
    update = ModelUpdate(entry.udf_name, candidate.uri, candidate.version, entry.variant)
    kafka = import_kafka()
    producer = kafka.Producer(
        {
            "bootstrap.servers": entry.control.bootstrap_servers,
            "acks": "all",
            "message.timeout.ms": int(timeout_s * 1000),
        }
    )
    delivered = []
    producer.produce(entry.control.topic, key=entry.udf_name.encode(), value=update.to_json(),
                     on_delivery=lambda error, message: delivered.append((error, message)))  # fmt: skip
    producer.flush(timeout_s)
    if not delivered or delivered[0][0] is not None:
        cause = delivered[0][0] if delivered else f"no acknowledgement within {timeout_s:g} s"
        raise FlinkMlUdfError(
            f"{entry.label}: cannot write to control topic {entry.control.topic} on "
            f"{entry.control.bootstrap_servers}: {cause}"
        )
    message = delivered[0][1]
    return Promotion(update, entry.control.topic, message.partition(), message.offset())


def _arm_entry(entry, variant: Optional[str]):
    """The entry that a promotion is for: the UDF's own, or one variant's (or the shadow's) of an experiment."""
    arms = {v.name: v.entry for v in entry.variants + ((entry.shadow,) if entry.shadow is not None else ())}
    if variant is None:
        if entry.is_experiment:
            raise FlinkMlUdfError(
                f"{entry.label}: is an experiment; name the variant to promote (--variant {', '.join(arms)})"
            )
        return entry
    if variant not in arms:
        raise FlinkMlUdfError(f"{entry.label}: has no variant {variant!r} (variants: {', '.join(arms) or 'none'})")
    return arms[variant]

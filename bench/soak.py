"""Soak: the Kafka exactly-once job on a standalone cluster for ten minutes at the highest rate it
sustains, TaskManager and Python worker memory (RSS) sampled from start to end.

    python bench/soak.py [--minutes 10] [--rate N] [--probe-seconds 60] [--headroom 0.7] [--record bench/RESULTS.md]

First a probe (unless ``--rate`` is given): events offered faster than the job can score them for
``--probe-seconds``, its committed output rate over the second half taken as its capacity. Then a
fresh job on the same cluster at ``--headroom`` times that rate for ``--minutes``; every 30 s one
line: events sent and committed, the lag between them, the RSS of the job's TaskManager and of its
Python worker. The soak's memory figures are taken from the first sample after the first minute
(JIT, caches and heap sizing settled) to the last. At the end every id must be in the predictions
topic exactly once with the runtime's own value. ``--record`` puts the figures into that file as a
new entry (newest first). Local broker in memory, one partition, parallelism 1, example-1 bundle.
Not part of the test suite (``make soak``).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import List, Optional, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from flink_ml_udf.testing.drills import PROFILES, DrillRig, drill_cluster, tally  # noqa: E402
from flink_ml_udf.testing.local_kafka import LocalBroker  # noqa: E402

SAMPLE_EVERY = 30.0
MB = 1 << 20


@dataclass(frozen=True)
class Sample:
    seconds: float
    sent: int
    committed: int
    taskmanager_rss: int
    python_rss: int
    load: float  # the host's load average over the last minute (the machine may be shared)

    @property
    def lag(self) -> int:
        return self.sent - self.committed

    def row(self) -> str:
        return (f"| {self.seconds / 60:.1f} | {self.sent:,} | {self.committed:,} | {self.lag:,} | "
                f"{self.taskmanager_rss / MB:.0f} | {self.python_rss / MB:.0f} | {self.load:.1f} |")  # fmt: skip


def probe(cluster, broker, offered: float, seconds: float) -> Tuple[float, float]:
    """The job's committed output rate (events/s) over the second half of ``seconds`` of overload,
    and the rate events were sent at meanwhile (if the two are close, the job was not overloaded)."""
    with DrillRig(cluster, broker, rate=offered, tick=0.1, timeout=600) as rig:
        time.sleep(seconds / 2)
        start, before, sent = time.monotonic(), len(rig.committed()), rig.producer.sent
        time.sleep(seconds / 2)
        elapsed = time.monotonic() - start
        rate = (len(rig.committed()) - before) / elapsed
        sent_rate = (rig.producer.sent - sent) / elapsed
        kept_up = " (it kept up: offer more with --probe-offered)" if rate > 0.95 * sent_rate else ""
        print(f"probe: offered {offered:,.0f}/s, sent {sent_rate:,.0f}/s, scored and committed {rate:,.0f}/s{kept_up}",
              flush=True)  # fmt: skip
    return rate, sent_rate


def soak(cluster, broker, rate: float, minutes: float):
    samples: List[Sample] = []
    with DrillRig(cluster, broker, rate=rate, tick=0.1, timeout=600) as rig:
        start = time.monotonic()
        while True:
            memory = rig.memory()
            committed = len(rig.committed())  # before counting what was sent: the lag is never understated
            samples.append(Sample(time.monotonic() - start, rig.producer.sent, committed, memory["taskmanager"],
                                  memory["python"], os.getloadavg()[0]))  # fmt: skip
            print(samples[-1].row(), flush=True)
            if samples[-1].seconds >= minutes * 60:
                break
            time.sleep(max(0.0, (len(samples) * SAMPLE_EVERY) - (time.monotonic() - start)))
        failures = rig.failures()
        records, sent = rig.finish()
    return samples, tally(records, sent), failures


def report(
    args, probed: Optional[Tuple[float, float]], rate: float, samples: List[Sample], result, failures: int
) -> str:
    warm = next((s for s in samples if s.seconds >= 60), samples[0])
    last = samples[-1]
    duration = last.seconds
    lines = [
        f"## {time.strftime('%Y-%m-%d')} — `bench/soak.py` (issue 12: memory over a {duration / 60:.0f}-minute soak)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, apache-flink 2.3.0; "
        "a standalone cluster (one TaskManager of 1728 MB, two slots), local tansu broker in memory, one partition, "
        "parallelism 1, example-1 bundle, exactly-once (checkpoints every 2 s). The machine was shared with other "
        f"jobs (load average at the end: {os.getloadavg()[0]:.1f}).",
        "",
        f"Command: `python bench/soak.py {' '.join(sys.argv[1:])}`",
        "",
    ]
    if probed is not None:
        capacity, sent_rate = probed
        overload = "kept up with all of them" if capacity > 0.95 * sent_rate else "fell behind"
        lines += [f"Probe: {sent_rate:,.0f} events/s sent for {args.probe_seconds:.0f} s, the job scored and committed "
                  f"{capacity:,.0f}/s ({overload}); the soak offered {rate:,.0f} events/s "
                  f"({args.headroom:.0%} of that).", ""]  # fmt: skip
    else:
        lines += [f"Offered rate: {rate:,.0f} events/s (given).", ""]
    lines += ["| minute | events sent | predictions committed | lag | TaskManager RSS (MB) | Python worker RSS (MB) | load |",
              "|---|---|---|---|---|---|---|"] + [s.row() for s in samples] + [""]  # fmt: skip
    growth_tm = (last.taskmanager_rss - warm.taskmanager_rss) / MB
    growth_py = (last.python_rss - warm.python_rss) / MB
    lines += [
        f"- From minute {warm.seconds / 60:.1f} to minute {last.seconds / 60:.1f}: TaskManager RSS "
        f"{warm.taskmanager_rss / MB:.0f} → {last.taskmanager_rss / MB:.0f} MB ({growth_tm:+.0f} MB), Python worker "
        f"{warm.python_rss / MB:.0f} → {last.python_rss / MB:.0f} MB ({growth_py:+.0f} MB).",
        f"- Sustained: {(last.committed - warm.committed) / (last.seconds - warm.seconds):,.0f} predictions/s "
        f"committed over that span; lag at the end {last.lag:,} events ({last.lag / rate:.1f} s of input).",
        f"- Exactly once: {result.line()}; job failures during the soak: {failures}.",
        "",
    ]
    return "\n".join(lines)


def record(path: str, entry: str) -> None:
    """Insert ``entry`` as the newest entry of a RESULTS file (after its header paragraph)."""
    with open(path) as handle:
        text = handle.read()
    at = text.find("\n## ")
    at = len(text) if at < 0 else at + 1
    with open(path, "w") as handle:
        handle.write(text[:at] + entry + "\n" + text[at:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, help="events/s for the soak (default: probe for it)")
    parser.add_argument("--probe-seconds", type=float, default=60.0)
    parser.add_argument("--probe-offered", type=float, default=20000.0, help="events/s offered during the probe")
    parser.add_argument("--headroom", type=float, default=0.7, help="fraction of the probed capacity to soak at")
    parser.add_argument("--record", help="RESULTS file to add the figures to")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}", flush=True)
    with drill_cluster(tempfile.mkdtemp(prefix="soak-"), PROFILES["default"], taskmanagers=1) as cluster:
        with LocalBroker() as broker:
            probed = None if args.rate else probe(cluster, broker, args.probe_offered, args.probe_seconds)
            rate = args.rate or round(probed[0] * args.headroom, -2)
            print(f"soak: {rate:,.0f} events/s for {args.minutes:g} minutes", flush=True)
            print(
                "| minute | sent | committed | lag | TaskManager RSS (MB) | Python worker RSS (MB) | load |", flush=True
            )
            samples, result, failures = soak(cluster, broker, rate, args.minutes)
    entry = report(args, probed, rate, samples, result, failures)
    print(entry)
    if args.record:
        record(args.record, entry)
        print(f"recorded in {args.record}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())

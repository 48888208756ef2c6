"""Champion and challenger inside running jobs: a 90/10 split by key that holds across runs, each
row valued by the variant it names; a shadow scored beside them, counted where operators look and
never changing what is returned, even when it cannot load; exactly-once with a split through an
injected failure."""

from __future__ import annotations

import io
import os
import textwrap
import time
from collections import Counter

import numpy as np
import pytest

from flink_ml_udf.flink.cluster import submit
from flink_ml_udf.flink.registry import register_from_config
from flink_ml_udf.flink.router import assign, key_hashes, sampled
from flink_ml_udf.mleap import load_bundle
from flink_ml_udf.testing.local_kafka import consume, produce_features
from tests.conftest import FAULT_FILE, REPO, subprocess_env
from tests.flink.test_model_updates import prometheus, write_config
from tests.flink.test_slots import publish
from tests.kafka.test_kafka_e2e import topics_for, wait_for

pytestmark = pytest.mark.flink

FEATURES_SQL = os.path.join(REPO, "sql", "features_kafka.sql")


def split_entry(model_versions, outputs="[prediction, model_variant]", shadow: str = "") -> str:
    """A 90/10 experiment on the customer id (BIGINT); ``shadow`` is a flow mapping, e.g. ``{name: c, ...}``."""
    lines = [
        "- udf_name: Fraud",
        "  split_key: customer_id",
        "  split_key_type: BIGINT",
        "  variants:",
        f"    - {{name: champion, bundle_path: {model_versions.v1}, weight: 90}}",
        f"    - {{name: challenger, bundle_path: {model_versions.v2}, weight: 10}}",
        f"  outputs: {outputs}",
    ]
    if shadow:
        lines.append(f"  shadow: {shadow}")
    return "\n".join(lines) + "\n"


def expected_by_variant(rows, model_versions, names=("feature1", "feature2", "feature3")):
    columns = {name: np.array([row[name] for row in rows], dtype=float) for name in names}
    return {
        "champion": load_bundle(model_versions.v1).transform_columns(columns).get("prediction", "t"),
        "challenger": load_bundle(model_versions.v2).transform_columns(columns).get("prediction", "t"),
    }


def test_split_by_key_is_proportional_stable_across_runs_and_valued_by_the_named_variant(
    t_env, model_versions, tmp_path
):
    config = write_config(tmp_path, split_entry(model_versions))
    register_from_config(config, t_env)
    query = textwrap.dedent("""
        SELECT id, feature1, feature2, feature3, r.prediction, r.model_variant
        FROM (SELECT id, feature1, feature2, feature3, Fraud(id, feature1, feature2, feature3) AS r FROM Keys)
    """)
    t_env.execute_sql("DROP TEMPORARY TABLE IF EXISTS Keys")
    t_env.execute_sql(
        "CREATE TEMPORARY TABLE Keys (id BIGINT, feature1 DOUBLE, feature2 INT, feature3 DOUBLE) WITH ("
        "'connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '10000', "
        "'fields.feature1.min' = '0', 'fields.feature1.max' = '100', 'fields.feature2.min' = '0', "
        "'fields.feature2.max' = '10', 'fields.feature3.min' = '-1', 'fields.feature3.max' = '1')"
    )
    runs = []
    for _ in range(2):  # two separate job runs; to_pandas reads Arrow batches (collect() costs ~6 ms a row)
        frame = t_env.sql_query(query).to_pandas().rename(columns={"model_variant": "variant"})
        runs.append(frame.to_dict("records"))
    first, second = ({row["id"]: row["variant"] for row in run} for run in runs)
    assert len(first) == 10_000 and first == second  # every key on the same variant in both runs
    share = Counter(first.values())["challenger"] / 10_000
    assert abs(share - 0.10) <= 0.02, share
    ids = np.array(sorted(first))
    import pandas as pd

    expected = np.array(["champion", "challenger"])[assign(*key_hashes(pd.Series(ids)), [90, 10])]
    assert [first[i] for i in ids] == list(expected)  # the documented bucket rule, computed here
    for run in runs:
        values = expected_by_variant(run, model_versions)
        for index, row in enumerate(run):
            assert row["prediction"] == values[row["variant"]][index]


def job_state(cluster, job_id: str) -> str:
    from flink_ml_udf.flink.cluster import _rest

    return _rest(cluster.address, f"/jobs/{job_id}")["state"]


def cancel(cluster, job_id: str) -> None:
    from flink_ml_udf.flink.cluster import cancel_job, wait_for_job

    if job_state(cluster, job_id) not in ("FINISHED", "FAILED", "CANCELED"):
        cancel_job(cluster.address, job_id)
        wait_for_job(cluster.address, job_id, 60)


def shadow_job_sql(tmp_path, bootstrap: str, topic: str) -> str:
    path = tmp_path / f"shadow-{topic}.sql"
    path.write_text(
        textwrap.dedent(f"""
        SET 'restart-strategy.type' = 'fixed-delay';
        SET 'restart-strategy.fixed-delay.attempts' = '3';
        SET 'restart-strategy.fixed-delay.delay' = '500 ms';
        CREATE TEMPORARY TABLE Scored (id BIGINT, feature1 DOUBLE, feature2 INT, feature3 DOUBLE, prediction DOUBLE,
            model_variant STRING, shadow_prediction DOUBLE) WITH (
            'connector' = 'kafka', 'topic' = '{topic}', 'properties.bootstrap.servers' = '{bootstrap}',
            'format' = 'json', 'sink.delivery-guarantee' = 'at-least-once');
        INSERT INTO Scored
        SELECT id, feature1, feature2, feature3, r.prediction, r.model_variant, r.shadow_prediction
        FROM (SELECT id, feature1, feature2, feature3, Fraud(id, feature1, feature2, feature3) AS r FROM Features);
    """)
    )
    return str(path)


def run_shadow_job(cluster, kafka_bootstrap, monkeypatch, tmp_path, config: str, n: int, ship_bundles: bool = True):
    """The experiment on the cluster, fed ``n`` feature events; returns (job id, scored rows, events)."""
    from flink_ml_udf.testing.local_kafka import create_topics

    features, scored = topics_for(monkeypatch, kafka_bootstrap)
    create_topics(kafka_bootstrap, [scored])
    job = submit(config, [FEATURES_SQL, shadow_job_sql(tmp_path, kafka_bootstrap, scored)], cluster.address,
                 detached=True, env=subprocess_env(), ship_bundles=ship_bundles)  # fmt: skip
    events = produce_features(kafka_bootstrap, features, range(n))
    rows = [r for r, _ in consume(kafka_bootstrap, scored, expected=n, timeout=120)]
    assert len(rows) == n
    return job, rows, events


def test_shadow_is_compared_and_counted_and_never_changes_what_is_returned(
    cluster, kafka_bootstrap, model_versions, monkeypatch, tmp_path
):
    config = write_config(tmp_path, split_entry(model_versions, "[prediction, model_variant, shadow_prediction]",
                                                f"{{name: candidate, bundle_path: {model_versions.v2}, sample: 0.5}}"))  # fmt: skip
    job, rows, _ = run_shadow_job(cluster, kafka_bootstrap, monkeypatch, tmp_path, config, 2000)
    try:
        rows.sort(key=lambda row: row["id"])
        values = expected_by_variant(rows, model_versions)
        import pandas as pd

        ids = pd.Series([row["id"] for row in rows])
        hashes, nulls = key_hashes(ids)
        chosen = sampled(hashes, nulls, 0.5)
        for index, row in enumerate(rows):
            assert row["prediction"] == values[row["model_variant"]][index]  # the variant's own value, unchanged
            assert row["shadow_prediction"] == (values["challenger"][index] if chosen[index] else None)
        shadowed = [row for row in rows if row["shadow_prediction"] is not None]
        diff_e6 = round(sum(abs(r["prediction"] - r["shadow_prediction"]) for r in shadowed) * 1e6)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and prometheus(cluster, "shadow_compared", job_id=job.job_id) != [
            len(shadowed)
        ]:
            time.sleep(1)
        assert prometheus(cluster, "shadow_compared", job_id=job.job_id) == [float(len(shadowed))]
        assert prometheus(cluster, "shadow_rows", job_id=job.job_id) == [float(len(shadowed))]
        assert prometheus(cluster, "shadow_disagreements", job_id=job.job_id) == [0.0]
        assert abs(prometheus(cluster, "shadow_abs_diff_sum_e6", job_id=job.job_id)[0] - diff_e6) <= 1
        assert prometheus(cluster, "shadow_failures", job_id=job.job_id) == []  # counters appear once incremented
        served = {name: sum(1 for r in rows if r["model_variant"] == name) for name in ("champion", "challenger")}
        assert prometheus(cluster, "variant_rows", job_id=job.job_id, variant="champion") == [float(served["champion"])]
        assert prometheus(cluster, "variant_rows", job_id=job.job_id, variant="challenger") == [
            float(served["challenger"])
        ]
        assert prometheus(cluster, "variant_rows", job_id=job.job_id, variant="candidate") == [float(len(shadowed))]
        # status: the variants and the shadow side by side, and the comparison (the REST API lags ~10 s).
        from flink_ml_udf.cli import main as cli

        deadline, text = time.monotonic() + 40, ""
        while time.monotonic() < deadline and not (
            f"Fraud shadow: {len(shadowed)} rows" in text and "Fraud/champion" in text
        ):
            out = io.StringIO()
            assert cli(["status", "--jobmanager", cluster.address, "--job", job.job_id], out=out) == 0
            text = out.getvalue()
            time.sleep(2)
        lines = {line.split()[0]: line.split() for line in text.splitlines()[2:] if line.startswith("Fraud/")}
        assert sorted(lines) == ["Fraud/candidate", "Fraud/challenger", "Fraud/champion"], text
        assert lines["Fraud/champion"][5] == str(served["champion"]) and lines["Fraud/candidate"][5] == str(
            len(shadowed)
        )
        mean = sum(abs(r["prediction"] - r["shadow_prediction"]) for r in shadowed) / len(shadowed)
        assert f"Fraud shadow: {len(shadowed)} rows, 0 failed, {len(shadowed)} compared, mean |diff| {mean:.6g}" in text
    finally:
        cancel(cluster, job.job_id)


def test_a_shadow_that_cannot_load_leaves_the_job_running_and_counted(
    cluster, kafka_bootstrap, model_versions, monkeypatch, tmp_path
):
    """The shadow is pinned to a file that changes after submission: once a failure restarts the
    job, no worker can load it. The job keeps running and returning the variants' values, and
    every row the shadow should have scored is counted in shadow_failures."""
    shadow_file = str(tmp_path / "candidate.zip")
    publish(model_versions.v2, shadow_file)
    config = write_config(tmp_path, split_entry(model_versions, "[prediction, model_variant, shadow_prediction]",
                                                f"{{name: candidate, bundle_path: {shadow_file}}}"))  # fmt: skip
    # The workers read the path itself, as on a shared mount (a shipped copy would stay loadable).
    job, rows, _ = run_shadow_job(cluster, kafka_bootstrap, monkeypatch, tmp_path, config, 200, ship_bundles=False)
    try:
        assert all(row["shadow_prediction"] is not None for row in rows)
        publish(model_versions.v1, shadow_file)
        open(FAULT_FILE, "w").close()  # the restarted workers open with a shadow they cannot load
        produce_features(kafka_bootstrap, os.environ["FEATURES_TOPIC"], range(200, 500))
        wait_for(lambda: not os.path.exists(FAULT_FILE), 90, "the armed failure to fire")
        scored = os.environ["PREDICTIONS_TOPIC"]
        # With no checkpoint, the restarted source reads the topic again: 500 rows after the restart.
        everything = wait_for(lambda: (r := consume(kafka_bootstrap, scored, 700, timeout=2)) and len(r) >= 700 and r, 120,
                              "500 rows after the restart")  # fmt: skip
        after = [record for record, _ in everything[200:]]
        values = expected_by_variant(after, model_versions)
        assert all(row["prediction"] == values[row["model_variant"]][i] for i, row in enumerate(after))
        assert all(row["shadow_prediction"] is None for row in after)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and prometheus(cluster, "shadow_failures", job_id=job.job_id) != [500.0]:
            time.sleep(1)
        assert prometheus(cluster, "shadow_failures", job_id=job.job_id) == [500.0]
        assert job_state(cluster, job.job_id) == "RUNNING"
    finally:
        if os.path.exists(FAULT_FILE):
            os.remove(FAULT_FILE)
        cancel(cluster, job.job_id)

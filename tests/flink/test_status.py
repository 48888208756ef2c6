"""`flink-ml-udf status` from one snapshot of a job's metrics (no cluster: the REST reading is
tested in the cluster tests; here the table and the shadow line it is turned into)."""

from flink_ml_udf.flink.status import format_status, job_status, shadow_comparisons

V1 = "sha256_" + "a" * 12
SNAPSHOT = [
    (0, "flink_ml_udf.udf.Fraud.variant.champion.rows", 600.0),
    (1, "flink_ml_udf.udf.Fraud.variant.champion.rows", 400.0),
    (0, f"flink_ml_udf.udf.Fraud.variant.champion.version.{V1}.model_info", 1.0),
    (1, f"flink_ml_udf.udf.Fraud.variant.champion.version.{V1}.model_info", 1.0),
    (0, "flink_ml_udf.udf.Fraud.variant.champion.batch_time_us_p99", 80.0),
    (1, "flink_ml_udf.udf.Fraud.variant.champion.batch_time_us_p99", 120.0),
    (0, "flink_ml_udf.udf.Fraud.shadow_rows", 30.0),
    (1, "flink_ml_udf.udf.Fraud.shadow_rows", 20.0),
    (0, "flink_ml_udf.udf.Fraud.shadow_compared", 30.0),
    (1, "flink_ml_udf.udf.Fraud.shadow_compared", 20.0),
    (0, "flink_ml_udf.udf.Fraud.shadow_abs_diff_sum_e6", 1_000_000.0),
    (1, "flink_ml_udf.udf.Fraud.shadow_abs_diff_sum_e6", 1_500_000.0),
    (0, "flink_ml_udf.udf.Fraud.shadow_abs_diff_p99_e6", 90_000.0),
    (1, "flink_ml_udf.udf.Fraud.shadow_abs_diff_p99_e6", 70_000.0),
    (0, "flink_ml_udf.udf.Fraud.variant.champion.rows_failed", 0.0),
]


def test_agreeing_subtasks_are_one_line_and_the_shadow_is_compared_from_the_same_snapshot():
    rows, shadows = job_status(SNAPSHOT), shadow_comparisons(SNAPSHOT)
    text = format_status("j1", rows, shadows)
    lines = text.splitlines()
    assert lines[0] == "job j1"
    assert lines[2].split() == ["Fraud/champion", "0-1", "sha256:" + "a" * 12, "?", "1000", "0", "0", "120", "0", "0"]
    assert lines[3] == (
        "Fraud shadow: 50 rows, 0 failed, 50 compared, mean |diff| 0.05, p99 |diff| 0.09, 0 disagreements"
    )


def test_subtasks_on_different_versions_are_shown_one_by_one():
    moved = [(1, f"flink_ml_udf.udf.Fraud.variant.champion.version.{V1}.model_info", 0.0),
             (1, "flink_ml_udf.udf.Fraud.variant.champion.version.sha256_bbbbbbbbbbbb.model_info", 1.0)]  # fmt: skip
    rows = job_status(SNAPSHOT[:4] + moved)
    assert [(row.subtask, row.version, row.rows) for row in rows] == [
        ("0", "sha256:" + "a" * 12, 600.0), ("1", "sha256:bbbbbbbbbbbb", 400.0)
    ]  # fmt: skip


def test_nothing_reported_yet_says_so():
    assert (
        format_status("j1", job_status([]), shadow_comparisons([])) == "job j1: no flink-ml-udf metrics reported yet\n"
    )

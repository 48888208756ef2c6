"""Splitting and reading SQL files, and the errors of failing statements (one test runs on the JVM)."""

from __future__ import annotations

import pytest

from flink_ml_udf.flink.sql_script import SqlScriptError, read_statements, split_statements


def test_split_keeps_semicolons_in_quotes_and_skips_comments():
    text = (
        "-- a comment; with a semicolon\n"
        "CREATE TABLE t (a INT) WITH ('connector' = 'datagen', 'x' = 'a;b');\n"
        "/* block; comment */\n"
        "SET 'parallelism.default' = '2';\n"
        "\n"
        "SELECT a\n  FROM t"
    )
    statements = split_statements(text, "f.sql")
    assert [(s.line, s.keyword, s.text) for s in statements] == [
        (2, "CREATE", "CREATE TABLE t (a INT) WITH ('connector' = 'datagen', 'x' = 'a;b')"),
        (4, "SET", "SET 'parallelism.default' = '2'"),
        (6, "SELECT", "SELECT a\n  FROM t"),
    ]
    assert statements[2].where == "f.sql:6"


def test_unterminated_quote():
    with pytest.raises(SqlScriptError, match=r"^f.sql:1: unterminated ' quote$"):
        split_statements("SELECT 'oops FROM t;", "f.sql")


def test_environment_interpolation_with_defaults(tmp_path, monkeypatch):
    path = tmp_path / "t.sql"
    path.write_text("SELECT ${A}, ${B:-7};")
    monkeypatch.setenv("A", "1")
    monkeypatch.delenv("B", raising=False)
    assert [s.text for s in read_statements(str(path))] == ["SELECT 1, 7"]
    monkeypatch.delenv("A")
    with pytest.raises(SqlScriptError, match=r"t.sql: environment variable A is not set"):
        read_statements(str(path))


# A job failing on a Java error, as Py4J reports it (stack frames elided): the root cause is the last "Caused by".
JOB_FAILURE = """An error occurred while calling o83.await.
: java.util.concurrent.ExecutionException: org.apache.flink.table.api.TableException: Failed to wait job finish
\tat java.base/java.util.concurrent.CompletableFuture.reportGet(CompletableFuture.java:396)
Caused by: org.apache.flink.table.api.TableException: Failed to wait job finish
\t... 1 more
Caused by: java.util.concurrent.ExecutionException: org.apache.flink.runtime.client.JobExecutionException: Job execution failed.
Caused by: org.apache.flink.runtime.client.JobExecutionException: Job execution failed.
Caused by: org.apache.flink.runtime.JobException: Recovery is suppressed by NoRestartBackoffTimeStrategy
\t... 5 more
Caused by: java.lang.ArithmeticException: / by zero
\tat StreamExecCalc$5.processElement(Unknown Source)
"""


def test_root_cause_of_a_failed_job():
    from flink_ml_udf.flink.sql_script import java_root_cause

    assert java_root_cause(JOB_FAILURE) == (
        "java.util.concurrent.ExecutionException: org.apache.flink.table.api.TableException: Failed to wait job "
        "finish → root cause: java.lang.ArithmeticException: / by zero"
    )


def test_root_cause_prefers_our_error_and_keeps_python_errors():
    from flink_ml_udf.flink.sql_script import java_root_cause

    python = JOB_FAILURE.replace(
        "Caused by: java.lang.ArithmeticException: / by zero",
        "Caused by: java.lang.RuntimeException: Error received from SDK harness for instruction 4: Traceback (most "
        'recent call last):\n  File "x.py", line 1, in f\nZeroDivisionError: division by zero',
    )
    assert java_root_cause(python).endswith(
        "root cause: java.lang.RuntimeException: Error received from SDK harness for instruction 4: Traceback (most "
        "recent call last): → Python: ZeroDivisionError: division by zero"
    )
    ours = python.replace(
        "ZeroDivisionError: division by zero",
        "flink_ml_udf.errors.ScoringError: UDF 'P' → bundle b → node n: bad (row 3)",
    )
    assert java_root_cause(ours) == "flink_ml_udf.errors.ScoringError: UDF 'P' → bundle b → node n: bad (row 3)"
    assert java_root_cause("") == "(no exception text)"
    assert java_root_cause("just text\nmore") == "just text"


@pytest.mark.parametrize(
    "content,message",
    [
        (b"SELECT '\xe9';", "cannot read SQL file: is not UTF-8 text (byte 8: 0xe9)"),
        (None, "cannot read SQL file: is a fifo, not a regular file"),
    ],
)
def test_unreadable_sql_files(tmp_path, content, message):
    import os

    path = tmp_path / "s.sql"
    if content is None:
        os.mkfifo(path)
    else:
        path.write_bytes(content)
    with pytest.raises(SqlScriptError) as info:
        read_statements(str(path))
    assert str(info.value) == f"{path}: {message}"


def test_unterminated_reference_in_sql(tmp_path):
    path = tmp_path / "s.sql"
    path.write_text("SELECT ${A:-1;")
    with pytest.raises(SqlScriptError) as info:
        read_statements(str(path))
    assert str(info.value) == f"{path}: ${{A:-... is never closed with '}}'"


@pytest.mark.flink
def test_environment_values_in_failing_statements_are_named_not_shown(t_env, tmp_path, monkeypatch):
    """Flink echoes table options in its errors; a value the file took from the environment is shown as ${NAME}."""
    secret = "s3cr3t-password-value"
    monkeypatch.setenv("KAFKA_PASSWORD", secret)
    monkeypatch.setenv("SHORT", "ab")
    path = tmp_path / "t.sql"
    path.write_text(
        "CREATE TEMPORARY TABLE Leaky (a INT) WITH ('connector' = 'no-such-connector', "
        "'topic' = '${KAFKA_PASSWORD}', 'other' = '${SHORT}');\nSELECT * FROM Leaky;\n"
    )
    statements = read_statements(str(path))
    assert statements[0].hidden == (("KAFKA_PASSWORD", secret), ("SHORT", "ab"))
    assert (
        statements[0].scrub(f"options: 'topic'='{secret}', 'other'='ab'")
        == "options: 'topic'='${KAFKA_PASSWORD}', 'other'='ab'"
    )
    from flink_ml_udf.flink.sql_script import run_statements

    with pytest.raises(SqlScriptError) as info:
        run_statements(t_env, statements)
    assert str(info.value).startswith(f"{path}:2: SELECT failed: org.apache.flink.table.api.ValidationException: ")
    assert secret not in str(info.value)
    assert info.value.__cause__ is None  # Flink's own text lists the table options: it is not chained

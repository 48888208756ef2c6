"""Splitting SQL files into statements (no JVM needed)."""

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

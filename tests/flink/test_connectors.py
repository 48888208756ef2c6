"""Flink list options (``pipeline.jars``, ``pipeline.classpaths``) are extended through PyFlink's own
list parsing: what is there stays, in either of Flink's syntaxes, and nothing is listed twice."""

from __future__ import annotations

import pytest

from flink_ml_udf.flink.connectors import (
    add_kafka_connector,
    extend_list_option,
    format_list_value,
    jar_urls,
    kafka_jars,
)

pytestmark = pytest.mark.flink

#: What ``flink run -py`` leaves in ``pipeline.jars`` before the job script runs.
FLINK_RUN_VALUE = "['file:/opt/flink/opt/flink-python-2.3.0.jar']"


@pytest.fixture
def env(t_env):
    """A TableEnvironment of its own (same JVM as the session's), so list options set here leak nowhere."""
    from pyflink.table import EnvironmentSettings, TableEnvironment

    return TableEnvironment.create(EnvironmentSettings.in_streaming_mode())


@pytest.fixture
def config(env):
    return env.get_config()


def parsed(config, key="pipeline.jars"):
    from pyflink.common.configuration import Configuration

    return Configuration.parse_list_value(config.get(key, None))


def test_kafka_jars_join_the_list_flink_run_put_there(env, config):
    config.set("pipeline.jars", FLINK_RUN_VALUE)
    add_kafka_connector(env)
    assert parsed(config) == ["file:/opt/flink/opt/flink-python-2.3.0.jar", *jar_urls(kafka_jars())]


def test_legacy_semicolon_value_is_kept(config):
    config.set("pipeline.classpaths", "file:///a.jar;file:///b.jar")
    assert extend_list_option(config, "pipeline.classpaths", ["file:///c.jar"]) == [
        "file:///a.jar", "file:///b.jar", "file:///c.jar",
    ]  # fmt: skip
    assert parsed(config, "pipeline.classpaths") == ["file:///a.jar", "file:///b.jar", "file:///c.jar"]


def test_nothing_is_listed_twice_however_a_file_url_is_spelled(config):
    config.set("pipeline.jars", "['file:/x/k.jar']")
    assert extend_list_option(config, "pipeline.jars", ["file:///x/k.jar", "file:///x/./k.jar", "file:/y.jar"]) == [
        "file:/x/k.jar", "file:/y.jar",
    ]  # fmt: skip
    assert extend_list_option(config, "pipeline.jars", ["file:/y.jar"]) == ["file:/x/k.jar", "file:/y.jar"]
    assert parsed(config) == ["file:/x/k.jar", "file:/y.jar"]


def test_empty_option_starts_a_list(config):
    assert extend_list_option(config, "pipeline.jars", ["file:///a b/k'1.jar"]) == ["file:///a b/k'1.jar"]
    assert parsed(config) == ["file:///a b/k'1.jar"]


def test_list_value_reads_back_through_pyflink():
    from pyflink.common.configuration import Configuration

    values = ["file:///a.jar", "file:///with space/b;c.jar", 'file:///q"uote.jar']
    assert Configuration.parse_list_value(format_list_value(values)) == values
    assert "'" not in format_list_value(values)  # sits inside a SQL '...' literal unescaped

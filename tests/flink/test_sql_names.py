"""UDF names the planner reserves or uses for a built-in are refused, with the planner asked (not a
hard-coded list): at registration and in sql-init."""

from __future__ import annotations

import io
import textwrap

import pytest

from flink_ml_udf.cli import main as cli
from flink_ml_udf.errors import ConfigError
from flink_ml_udf.flink.registry import register_from_config
from flink_ml_udf.flink.sql_names import name_problem
from tests.conftest import REPO

pytestmark = pytest.mark.flink

RESERVED = "is a reserved word of Flink SQL: the planner cannot parse it as a function name"
BUILTIN = "is a Flink built-in function; a UDF of that name would replace it in every query. Pick another name"


@pytest.mark.parametrize(
    "name,problem",
    [
        ("ABS", RESERVED), ("upper", RESERVED), ("SELECT", RESERVED), ("Table", RESERVED), ("Value", RESERVED),
        ("COALESCE", RESERVED), ("count", RESERVED), ("CURRENT_TIMESTAMP", RESERVED),
        ("DATE_FORMAT", BUILTIN), ("NOW", BUILTIN), ("TO_TIMESTAMP", BUILTIN), ("md5", BUILTIN), ("UUID", BUILTIN),
        ("Proctime", BUILTIN), ("IF", BUILTIN), ("LISTAGG", BUILTIN),
        ("Predict", None), ("Score", None), ("Model", None), ("Version", None), ("FraudScore_v2", None),
    ],
)  # fmt: skip
def test_names_asked_from_the_planner(t_env, name, problem):
    assert name_problem(name, t_env) == (None if problem is None else f"{name!r} {problem}")


def config(tmp_path, *names):
    entries = "".join(f"    - udf_name: {name}\n      bundle_path: {REPO}/models/example-1.zip\n" for name in names)
    path = tmp_path / "app.yaml"
    path.write_text(textwrap.dedent("mleap:\n  udf_registry:\n") + entries)
    return str(path)


def test_registration_refuses_every_bad_name_at_once(t_env, tmp_path):
    path = config(tmp_path, "Fine", "ABS", "DATE_FORMAT")
    with pytest.raises(ConfigError) as info:
        register_from_config(path, t_env)
    assert str(info.value).splitlines() == [
        f"{path} → mleap.udf_registry[1] (ABS) → key 'udf_name': 'ABS' {RESERVED}",
        f"{path} → mleap.udf_registry[2] (DATE_FORMAT) → key 'udf_name': 'DATE_FORMAT' {BUILTIN}",
    ]
    assert t_env.sql_query("SELECT ABS(-3)").to_pandas().iloc[0, 0] == 3  # the built-in is untouched


def test_sql_init_refuses_names_that_would_not_parse(tmp_path):
    path = config(tmp_path, "Table")
    err = io.StringIO()
    assert cli(["sql-init", "--config", path], out=io.StringIO(), err=err) == 2
    assert (
        err.getvalue()
        == f"flink-ml-udf sql-init: {path} → mleap.udf_registry[0] (Table) → key 'udf_name': 'Table' {RESERVED}\n"
    )

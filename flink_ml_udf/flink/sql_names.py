"""Names a UDF may not take, asked from the planner of a live ``TableEnvironment``.

A temporary system function named ``ABS`` or ``UPPER`` silently replaces Flink's built-in in every
query (``ABS(-3)`` returns a model prediction), and a name the SQL parser reserves (``SELECT``,
``Table``, ``Value``) makes the ``CREATE FUNCTION`` that ``sql-init`` prints unparseable. Rather than
a hard-coded list that drifts from the Flink version in use, the planner is asked:

- reserved words: does the planner parse ``CREATE TEMPORARY SYSTEM FUNCTION <name> AS ... LANGUAGE
  PYTHON``, the very statement ``sql-init`` prints?
- built-in functions: the environment's function list (Flink's core module) minus user-defined
  functions, and the planner's validation of a call ``<name>()``: a name it resolves to no function
  fails with Calcite's "No match found for function signature"; a built-in resolves (or fails on its
  arguments). Functions registered by an earlier registration are user-defined and may be replaced.
"""

from __future__ import annotations

from typing import List, Optional

from flink_ml_udf.config import AppConfig
from flink_ml_udf.errors import ConfigError

_UNKNOWN_FUNCTION = "No match found for function signature"


def name_problem(name: str, t_env) -> Optional[str]:
    """Why ``name`` cannot be a UDF's name in ``t_env``, or None if it can."""
    parser = t_env._j_tenv.getParser()
    try:
        parser.parse(f"CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS {name} AS 'flink_ml_udf.functions.{name}' "
                     "LANGUAGE PYTHON")  # fmt: skip
    except Exception:  # noqa: BLE001 - a Py4J error: the planner's parser refused the name
        return f"{name!r} is a reserved word of Flink SQL: the planner cannot parse it as a function name"
    lowered = name.lower()
    if lowered in {f.lower() for f in t_env.list_user_defined_functions()}:
        return None  # registered by us before (a reloaded config), or declared by the user: replaceable
    if lowered in {f.lower() for f in t_env.list_functions()}:
        return _builtin(name)
    try:
        parser.parse(f"SELECT {name}()")
    except Exception as exc:  # noqa: BLE001 - a Py4J error carrying the planner's validation message
        if _UNKNOWN_FUNCTION in str(exc):
            return None
    return _builtin(name)


def _builtin(name: str) -> str:
    return (
        f"{name!r} is a Flink built-in function; a UDF of that name would replace it in every query. Pick another name"
    )


def check_udf_names(config: AppConfig, t_env) -> None:
    """Refuse, all at once, every UDF of ``config`` whose name the planner reserves or uses."""
    problems: List[str] = []
    for index, entry in enumerate(config.udfs):
        problem = name_problem(entry.udf_name, t_env)
        if problem is not None:
            problems.append(
                f"{config.path} → mleap.udf_registry[{index}] ({entry.udf_name}) → key 'udf_name': {problem}"
            )
    if problems:
        raise ConfigError("\n".join(problems))

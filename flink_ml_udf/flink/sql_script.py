"""Run SQL files statement by statement on a ``TableEnvironment``.

Files may use ``${NAME}`` / ``${NAME:-default}`` (see :mod:`flink_ml_udf.interpolate`), ``--``
comments, and ``SET 'key' = 'value';`` lines, which set table configuration. ``SELECT`` results are
printed as Flink prints them; ``INSERT`` statements run together as one job when the script ends.
Errors name the file and the line of the statement at fault.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from typing import Iterable, List, Mapping, Optional, Tuple

from pyflink.table import TableEnvironment, TableResult

from flink_ml_udf.errors import FlinkMlUdfError
from flink_ml_udf.flink.java_errors import java_root_cause
from flink_ml_udf.flink.signature import Signature
from flink_ml_udf.interpolate import InterpolationError, interpolate, referenced_names
from flink_ml_udf.regular_files import read_text_file

#: A SQL file larger than this is refused unread.
MAX_SQL_BYTES = 16 << 20

_SET = re.compile(r"^SET\s+'((?:[^']|'')+)'\s*=\s*'((?:[^']|'')*)'$", re.IGNORECASE | re.DOTALL)


class SqlScriptError(FlinkMlUdfError):
    """A statement of a SQL file failed or could not be parsed."""


@dataclass(frozen=True)
class Statement:
    text: str
    path: str
    line: int
    # (name, value) of the environment variables the file referenced: an error that echoes the
    # statement (Flink prints table options) shows ${NAME} instead of the value
    hidden: Tuple[Tuple[str, str], ...] = ()

    def scrub(self, message: str) -> str:
        for name, value in sorted(self.hidden, key=lambda pair: -len(pair[1])):
            if len(value) >= 4:  # shorter values (a port, a flag) would mangle the message
                message = message.replace(value, "${" + name + "}")
        return message

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def keyword(self) -> str:
        return self.text.split(None, 1)[0].upper() if self.text else ""


def split_statements(text: str, path: str = "<sql>") -> List[Statement]:
    """Split on ``;`` outside quotes and comments; each statement keeps the line it starts on."""
    statements: List[Statement] = []
    buffer: List[str] = []
    start_line: Optional[int] = None
    line = 1
    i = 0
    quote: Optional[str] = None
    while i < len(text):
        char = text[i]
        if quote is None and text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        if quote is None and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            skipped = text[i : len(text) if end < 0 else end + 2]
            line += skipped.count("\n")
            i += len(skipped)
            continue
        if char == "\n":
            line += 1
        if quote is None and char in ("'", '"', "`"):
            quote = char
        elif quote == char:
            quote = None
        if quote is None and char == ";":
            statement = "".join(buffer).strip()
            if statement:
                statements.append(Statement(statement, path, start_line or line))
            buffer, start_line = [], None
        else:
            if start_line is None and not char.isspace():
                start_line = line
            buffer.append(char)
        i += 1
    if quote is not None:
        raise SqlScriptError(f"{path}:{start_line}: unterminated {quote} quote")
    statement = "".join(buffer).strip()
    if statement:
        statements.append(Statement(statement, path, start_line or line))
    return statements


def read_statements(path: str, variables: Optional[Mapping[str, str]] = None) -> List[Statement]:
    """Read and split a SQL file; ``${NAME}`` comes from ``variables`` first, then the environment."""
    text = read_text_file(path, MAX_SQL_BYTES, SqlScriptError, f"{path}: cannot read SQL file")
    hidden = tuple(
        (name, os.environ[name])
        for name in referenced_names(text)
        if name in os.environ and name not in (variables or {})
    )
    try:
        text = interpolate(text, {**os.environ, **(variables or {})})
    except InterpolationError as exc:
        raise SqlScriptError(f"{path}: {exc}") from None
    return [dataclasses.replace(statement, hidden=hidden) for statement in split_statements(text, path)]


def run_statements(
    t_env: TableEnvironment,
    statements: Iterable[Statement],
    print_results: bool = True,
    wait: bool = True,
    signatures: Optional[Mapping[str, Signature]] = None,
) -> List[TableResult]:
    """Execute statements in order; INSERTs are collected and run as one job at the end, waited
    for unless ``wait`` is false (an unbounded streaming job: the caller stops it). ``signatures``
    (the registered UDFs) explain a call with the wrong arguments: which ones the UDF takes."""
    results: List[TableResult] = []
    inserts = t_env.create_statement_set()
    pending: List[Statement] = []
    for statement in statements:
        try:
            match = _SET.match(statement.text)
            if match:
                key, value = (group.replace("''", "'") for group in match.groups())
                t_env.get_config().set(key, value)
            elif statement.keyword == "INSERT":
                inserts.add_insert_sql(statement.text)
                pending.append(statement)
            else:
                result = t_env.execute_sql(statement.text)
                if statement.keyword in ("SELECT", "WITH") and print_results:
                    result.print()
                results.append(result)
        except FlinkMlUdfError:
            raise
        except Exception as exc:  # Py4J errors carry the Flink message: keep it, add the place
            text = str(exc)
            cause = statement.scrub(_explain_call(java_root_cause(text), signatures or {}))
            error = SqlScriptError(f"{statement.where}: {statement.keyword} failed: {cause}")
            raise error from (exc if statement.scrub(text) == text else None)  # never chain a hidden value
    if pending:
        try:
            result = inserts.execute()
            if wait:
                result.wait()
            results.append(result)
        except Exception as exc:
            where = ", ".join(s.where for s in pending)
            text = scrubbed = str(exc)
            cause = java_root_cause(text)
            for statement in pending:
                cause, scrubbed = statement.scrub(cause), statement.scrub(scrubbed)
            raise SqlScriptError(f"{where}: INSERT job failed: {cause}") from (exc if scrubbed == text else None)
    return results


_NO_MATCH = re.compile(r"No match found for function signature (\w+)\(([^)]*)\)")


def _explain_call(message: str, signatures: Mapping[str, Signature]) -> str:
    """The planner's "No match found for function signature Predictv2(<NUMERIC>, <NUMERIC>)", plus what
    the registered UDF takes (e.g. the tensor its scalar arguments are packed into, and its size)."""
    match = _NO_MATCH.search(message)
    found = {name.lower(): (name, s) for name, s in signatures.items()}.get(match.group(1).lower()) if match else None
    if found is None:
        return message
    name, signature = found
    count = len([argument for argument in match.group(2).split(",") if argument.strip()])
    return f"{message} | UDF '{name}' {signature.explain_arguments()}; the call passes {count}"

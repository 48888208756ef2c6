"""``${NAME}`` / ``${NAME:-default}`` substitution from the environment, for config and SQL files.

A default may itself hold references (``${A:-${B:-x}}``), nested up to :data:`MAX_NESTING` deep. A
default that is never closed (``${A:-x``) is an error, never text left half-substituted; ``${NAME``
followed by anything but ``}`` or ``:-`` is plain text, as it always was. Values taken from the
environment are never re-read for references.

A value that came (wholly or in part) from the environment may be a secret: :func:`interpolate_marked`
returns it as an :class:`Interpolated` string whose ``repr`` is the reference as written
(``'${AWS_SECRET_ACCESS_KEY}' (from the environment)``), so an error message showing the value with
``!r`` names the variable instead of echoing what it holds.
"""

from __future__ import annotations

import os
import re
from typing import List, Mapping, Optional, Tuple

MAX_NESTING = 10
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


class InterpolationError(Exception):
    """A reference that cannot be substituted."""


class MissingVariable(InterpolationError, KeyError):
    """A ``${NAME}`` without default whose variable is not set."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"environment variable {self.name} is not set (write ${{{self.name}:-default}} to give a default)"


class MalformedReference(InterpolationError, ValueError):
    """A ``${NAME:-default`` that is never closed, or defaults nested too deeply."""


class Interpolated(str):
    """A string built from environment variables; its ``repr`` shows the reference, not the value."""

    template: str

    def __new__(cls, value: str, template: str) -> "Interpolated":
        made = super().__new__(cls, value)
        made.template = template
        return made

    def __repr__(self) -> str:
        return f"{self.template!r} (from the environment)"

    def __reduce__(self):
        return (Interpolated, (str(self), self.template))


def interpolate(text: str, environ: Optional[Mapping[str, str]] = None) -> str:
    """Replace every ``${NAME}`` in ``text``; raises :class:`MissingVariable` for an unset one without
    default and :class:`MalformedReference` for an unterminated one."""
    return _substitute(text, os.environ if environ is None else environ, 0)[0]


def interpolate_marked(text: str, environ: Optional[Mapping[str, str]] = None) -> str:
    """:func:`interpolate`, returning an :class:`Interpolated` string when any part of the result came
    from the environment (so messages show the reference instead)."""
    value, from_environment = _substitute(text, os.environ if environ is None else environ, 0)
    return Interpolated(value, text) if from_environment else value


def referenced_names(text: str) -> List[str]:
    """Every variable name ``text`` references (``${NAME}`` and names in defaults), in order."""
    return [match.group(1) for match in _REFERENCE.finditer(text)]


def _substitute(text: str, env: Mapping[str, str], depth: int) -> Tuple[str, bool]:
    if depth > MAX_NESTING:
        raise MalformedReference(f"references nest more than {MAX_NESTING} defaults deep")
    out = []
    used_environment = False
    position = 0
    while True:
        start = text.find("${", position)
        if start < 0:
            out.append(text[position:])
            return "".join(out), used_environment
        name = _NAME.match(text, start + 2)
        if name is None:  # "${" not followed by a name: plain text, as before
            out.append(text[position : start + 2])
            position = start + 2
            continue
        out.append(text[position:start])
        after = name.end()
        if text.startswith("}", after):
            default, end = None, after + 1
        elif text.startswith(":-", after):
            close = _closing_brace(text, after + 2)
            if close < 0:
                raise MalformedReference(f"${{{name.group()}:-... is never closed with '}}'")
            default, end = text[after + 2 : close], close + 1
        else:  # "${NAME" followed by anything else is text, as it always was (e.g. "${MODEL_<UDF>}" in a comment)
            out.append(text[start:after])
            position = after
            continue
        variable = name.group()
        if variable in env:
            out.append(env[variable])
            used_environment = True
        elif default is not None:
            value, nested_environment = _substitute(default, env, depth + 1)
            out.append(value)
            used_environment |= nested_environment
        else:
            raise MissingVariable(variable)
        position = end


def _closing_brace(text: str, start: int) -> int:
    """Index of the ``}`` closing a default that starts at ``start``, nested ``${...}`` skipped."""
    open_references = 0
    index = start
    while index < len(text):
        if text.startswith("${", index):
            open_references += 1
            index += 2
            continue
        if text[index] == "}":
            if open_references == 0:
                return index
            open_references -= 1
        index += 1
    return -1

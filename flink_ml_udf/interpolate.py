"""``${NAME}`` / ``${NAME:-default}`` substitution from the environment, for config and SQL files."""

from __future__ import annotations

import os
import re
from typing import Mapping, Optional

_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class MissingVariable(KeyError):
    """A ``${NAME}`` without default whose variable is not set."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"environment variable {self.name} is not set (write ${{{self.name}:-default}} to give a default)"


def interpolate(text: str, environ: Optional[Mapping[str, str]] = None) -> str:
    """Replace every ``${NAME}`` in ``text``; raises :class:`MissingVariable` for an unset one."""
    env = os.environ if environ is None else environ

    def substitute(match: "re.Match[str]") -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise MissingVariable(name)

    return _PATTERN.sub(substitute, text)

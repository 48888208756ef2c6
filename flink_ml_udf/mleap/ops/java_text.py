"""Java string and regex semantics the text ops depend on, emulated with Python's ``re``.

MLeap tokenizes with ``String.toLowerCase``, ``Pattern.split`` and ``Matcher.find``; Python's
``str.lower``, ``re.split`` and ``re.finditer`` differ in small ways that change tokens. What is
matched here:

* ``Pattern.split`` (limit 0): trailing empty strings dropped, a leading empty string only from a
  positive-width match at position 0, no match at all gives ``[text]``; capture groups never
  appear in the result (``re.split`` would insert them).
* Java's default regex classes ``\\s \\S \\d \\D \\w \\W`` and ``(?i)`` are ASCII-only: patterns are
  compiled with ``re.ASCII``, which gives exactly those sets. The ASCII POSIX classes
  ``\\p{Alpha}``, ``\\p{Punct}``, ... are expanded; ``\\Q..\\E``, ``\\z``, ``\\x{h..h}``, ``\\h``,
  ``\\v``, ``(?<name>..)`` are translated; Java's ``.`` (which also stops at ``\\r``, ``\\u0085``,
  ``\\u2028``, ``\\u2029``) is translated unless the pattern sets DOTALL.
* ``String.length`` counts UTF-16 code units: a character outside the BMP counts 2.

Known differences (documented, not emulated): Java 17's ``\\b`` treats Unicode letters and digits
as word characters while ``re.ASCII`` does not; ``$`` before a final ``\\r``/``\\u2028`` line
terminator; lazy patterns that can match empty (Java resumes one character after an empty match,
Python retries the same position non-empty). Patterns Python cannot express are a load error:
Unicode property classes (``\\p{L}``, ``\\p{IsLatin}``, ...), class unions and intersections
(``[a[b]]``, ``[a&&b]``), and whatever ``re`` itself rejects.
"""

from __future__ import annotations

import functools
import re
from typing import List

_POSIX = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7f",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    "Graph": "\\x21-\\x7e",
    "Print": "\\x20-\\x7e",
    "Blank": " \\t",
    "Cntrl": "\\x00-\\x1f\\x7f",
    "XDigit": "0-9a-fA-F",
    "Space": " \\t\\n\\x0b\\f\\r",
}
_HORIZONTAL = " \\t\\xa0\\u1680\\u180e\\u2000-\\u200a\\u202f\\u205f\\u3000"
_VERTICAL = "\\n\\x0b\\f\\r\\x85\\u2028\\u2029"
_JAVA_DOT = "[^\\n\\r\\x85\\u2028\\u2029]"
_DOTALL_FLAG = re.compile(r"\(\?[a-zA-Z]*s[a-zA-Z-]*[:)]")


class JavaRegexError(ValueError):
    """A Java pattern this emulation cannot express faithfully."""


def java_regex(pattern: str) -> "re.Pattern[str]":
    """Compile a ``java.util.regex`` pattern into an equivalent Python pattern (see module doc)."""
    translated = _translate(pattern)
    try:
        return re.compile(translated, re.ASCII)
    except re.error as exc:
        raise JavaRegexError(f"cannot compile regex {pattern!r}: {exc}") from None


def _translate(pattern: str) -> str:
    out: List[str] = []
    dotall = bool(_DOTALL_FLAG.search(pattern))
    i, n = 0, len(pattern)
    in_class = False
    class_open = 0  # index in ``out`` where the current class started (to spot a leading ']')
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise JavaRegexError(f"regex {pattern!r} ends with a lone backslash")
            d = pattern[i + 1]
            if d in "pP":
                name, i = _property_name(pattern, i + 2)
                ranges = _POSIX.get(name[2:] if name.startswith("Is") and name[2:] in _POSIX else name)
                if ranges is None:
                    raise JavaRegexError(
                        f"regex {pattern!r}: Unicode property class \\{d}{{{name}}} is not supported "
                        "(only the ASCII POSIX classes Alpha, Digit, Alnum, Punct, Upper, Lower, Space, ...)"
                    )
                if d == "P":
                    if in_class:
                        raise JavaRegexError(
                            f"regex {pattern!r}: \\P{{{name}}} inside a character class is not supported"
                        )
                    out.append(f"[^{ranges}]")
                else:
                    out.append(ranges if in_class else f"[{ranges}]")
                continue
            if d == "Q":
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
                out.append("".join(re.escape(ch) for ch in literal))
                i = n if end < 0 else end + 2
                continue
            if d == "x" and i + 2 < n and pattern[i + 2] == "{":
                end = pattern.find("}", i + 3)
                if end < 0:
                    raise JavaRegexError(f"regex {pattern!r}: unclosed \\x{{")
                out.append(re.escape(chr(int(pattern[i + 3 : end], 16))))
                i = end + 1
                continue
            if d == "z":
                out.append("\\Z")
            elif d == "Z":
                out.append("(?=(?:\\r\\n|[\\n\\r\\x85\\u2028\\u2029])?\\Z)")
            elif d == "h":
                out.append(_HORIZONTAL if in_class else f"[{_HORIZONTAL}]")
            elif d == "v":
                out.append(_VERTICAL if in_class else f"[{_VERTICAL}]")
            elif d == "e":
                out.append("\\x1b")
            else:
                out.append(c + d)
            i += 2
            continue
        if in_class:
            if c == "[":
                raise JavaRegexError(f"regex {pattern!r}: nested character classes (unions) are not supported")
            if c == "&" and pattern.startswith("&&", i):
                raise JavaRegexError(f"regex {pattern!r}: character class intersection (&&) is not supported")
            if c == "]" and len(out) > class_open:
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append("[")
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            class_open = len(out)
            continue
        if c == "." and not dotall:
            out.append(_JAVA_DOT)
        elif c == "(" and pattern.startswith("(?<", i) and i + 3 < n and pattern[i + 3] not in "=!":
            out.append("(?P<")
            i += 3
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _property_name(pattern: str, i: int):
    if i < len(pattern) and pattern[i] == "{":
        end = pattern.find("}", i)
        if end < 0:
            raise JavaRegexError(f"regex {pattern!r}: unclosed \\p{{")
        return pattern[i + 1 : end], end + 1
    if i < len(pattern):
        return pattern[i], i + 1
    raise JavaRegexError(f"regex {pattern!r}: \\p without a class name")


def java_split(pattern: "re.Pattern[str]", text: str) -> List[str]:
    """``Pattern.split(text)`` with limit 0."""
    if _plain_split(pattern):
        # No groups and never an empty match: re.split cuts at the same places, in C.
        pieces = pattern.split(text)
        if len(pieces) > 1:
            while pieces and not pieces[-1]:
                pieces.pop()
        return pieces
    pieces: List[str] = []
    index = 0
    for match in pattern.finditer(text):
        start, end = match.span()
        if index == 0 and start == 0 and end == 0:
            continue  # a zero-width match at the start never yields a leading empty string
        pieces.append(text[index:start])
        index = end
    if index == 0:
        return [text]
    pieces.append(text[index:])
    while pieces and not pieces[-1]:
        pieces.pop()
    return pieces


@functools.lru_cache(maxsize=256)
def _plain_split(pattern: "re.Pattern[str]") -> bool:
    if pattern.groups:
        return False
    # The parser ``re`` uses itself (``sre_parse`` before Python 3.11). It is private: if it moves,
    # the general finditer path (always correct, only slower) is taken.
    try:
        from re import _parser as parser  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - Python < 3.11
        try:
            import sre_parse as parser  # type: ignore[no-redef]
        except ImportError:
            return False
    try:
        return parser.parse(pattern.pattern, pattern.flags).getwidth()[0] > 0
    except (AttributeError, TypeError, re.error):
        return False


def java_find_all(pattern: "re.Pattern[str]", text: str) -> List[str]:
    """Every successive ``Matcher.find()`` match (``group(0)``)."""
    return [match.group(0) for match in pattern.finditer(text)]


def java_lower(text: str) -> str:
    """``String.toLowerCase()`` in a non-Turkish locale; Python's ``str.lower`` applies the same
    Unicode mappings (including the final-sigma rule), up to Unicode-version differences."""
    return text.lower()


def utf16_length(text: str) -> int:
    """``String.length()``: UTF-16 code units."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def java_is_letters(word: str) -> bool:
    """Every UTF-16 unit passes ``Character.isLetter(char)``: surrogate halves are not letters, so a
    word with a character outside the BMP fails."""
    return all(ch.isalpha() and ord(ch) <= 0xFFFF for ch in word)

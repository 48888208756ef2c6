"""Text ops that turn strings into token lists and token lists into token lists: ``tokenizer``,
``regex_tokenizer``, ``ngram``, ``stopwords_remover``, ``word_filter``.

A token-list column is a 1-D object array of Python lists (one per row). Tokenizing, regex
matching and filtering words have no vectorized form in numpy, so these ops loop over rows in
:meth:`TokenOp.transform`; each row's work is one small Python function built at load. Java string
semantics (``toLowerCase``, ``Pattern.split``, UTF-16 lengths) come from :mod:`.java_text`.
"""

from __future__ import annotations

from typing import Callable, List, Sequence

import numpy as np

from flink_ml_udf.mleap.frame import Frame
from flink_ml_udf.mleap.jvm.text import java_string_of
from flink_ml_udf.mleap.ops.base import Op, register
from flink_ml_udf.mleap.ops.java_text import (
    JavaRegexError,
    java_find_all,
    java_is_letters,
    java_lower,
    java_regex,
    java_split,
    utf16_length,
)
from flink_ml_udf.mleap.spec import NodeSpec
from flink_ml_udf.mleap.types import DataType

STRING_NOT_NULL = DataType("string", nullable=False)
STRING_LIST = DataType("string", "list")


def object_column(values: Sequence[object]) -> np.ndarray:
    """A 1-D object array holding ``values`` as they are (``np.array`` would turn equally long lists
    into a 2-D array)."""
    column = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        column[i] = value
    return column


def read_strings(op: Op, frame: Frame, column: str) -> List[str]:
    """The strings of a non-null string column; a numeric column is cast as MLeap casts (Java
    ``toString``); null rows are rejected and read as ``""``."""
    values = frame.get(column, op.who)
    nulls = frame.require_non_null(column, op.who)
    base = frame.type_of(column).base
    return ["" if null else java_string_of(value, base) for value, null in zip(values, nulls)]


class TokenOp(Op):
    """One input column to one ``list<string>`` column through a per-row function."""

    def __init__(self, spec: NodeSpec, input_type: DataType) -> None:
        super().__init__(spec)
        self.bind(spec, input_type, STRING_LIST)

    def row(self, value):  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def read(self, frame: Frame) -> list:
        return frame.lists(self.inputs[0].name, self.who)

    def transform(self, frame: Frame) -> None:
        row = self.row
        # Per-row loop: string work (split, regex, set lookups) has no numpy form.
        frame.add(self.outputs[0].name, object_column([row(value) for value in self.read(frame)]), STRING_LIST)


class StringTokenOp(TokenOp):
    """A tokenizer: a non-null string in, tokens out."""

    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec, STRING_NOT_NULL)

    def read(self, frame: Frame) -> list:
        return read_strings(self, frame, self.inputs[0].name)


@register("tokenizer")
class Tokenizer(StringTokenOp):
    """``toLowerCase`` then ``split("\\s")``: every single ASCII whitespace character separates, so
    ``"a  b"`` gives ``["a", "", "b"]`` (MLeap's behaviour, unlike sklearn's CountVectorizer)."""

    _WHITESPACE = java_regex(r"\s")

    def row(self, value: str) -> List[str]:
        return java_split(self._WHITESPACE, java_lower(value))


@register("regex_tokenizer")
class RegexTokenizer(StringTokenOp):
    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec)
        attrs = spec.attributes
        regex = attrs.string("regex")
        try:
            self.pattern = java_regex(regex)
        except JavaRegexError as exc:
            raise attrs.error("regex", str(exc)) from None
        self.match_gaps = attrs.boolean("match_gaps")
        self.min_length = attrs.long("token_min_length")
        self.lowercase = attrs.boolean("lowercase_text")

    def row(self, value: str) -> List[str]:
        text = java_lower(value) if self.lowercase else value
        tokens = java_split(self.pattern, text) if self.match_gaps else java_find_all(self.pattern, text)
        return [token for token in tokens if utf16_length(token) >= self.min_length]


@register("ngram")
class NGram(TokenOp):
    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec, STRING_LIST)
        self.n = spec.attributes.long("n")
        if self.n < 1:
            raise spec.attributes.error("n", f"must be at least 1, found {self.n}")

    def row(self, tokens: list) -> List[str]:
        n = self.n
        words = ["null" if token is None else token for token in tokens]  # Scala mkString of a null
        return [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]


@register("stopwords_remover")
class StopWordsRemover(TokenOp):
    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec, STRING_LIST)
        attrs = spec.attributes
        words = attrs.string_list("stop_words")
        self.case_sensitive = attrs.boolean("case_sensitive")
        self.stop_words = frozenset(words if self.case_sensitive else (java_lower(w) for w in words))
        self.key: Callable[[str], str] = (lambda t: t) if self.case_sensitive else java_lower

    def row(self, tokens: list) -> List[str]:
        stop, key = self.stop_words, self.key
        return [t for t in tokens if t is None or key(t) not in stop]  # null tokens are kept


@register("word_filter")
class WordLengthFilter(TokenOp):
    """Keeps words made only of letters (Java ``Character.isLetter`` per UTF-16 unit) that are longer
    than ``length`` UTF-16 units."""

    def __init__(self, spec: NodeSpec) -> None:
        super().__init__(spec, STRING_LIST)
        self.length = spec.attributes.long("length")

    def read(self, frame: Frame) -> list:
        lists = super().read(frame)
        has_null = np.array([any(t is None for t in tokens) for tokens in lists], dtype=bool)
        frame.reject(has_null, f"{self.who}: input column {self.inputs[0].name!r} holds a null word")
        return [[t for t in tokens if t is not None] for tokens in lists]

    def row(self, tokens: list) -> List[str]:
        length = self.length
        return [w for w in tokens if java_is_letters(w) and utf16_length(w) > length]

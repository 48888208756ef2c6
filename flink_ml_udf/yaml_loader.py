"""YAML for config files, without PyYAML's traps.

``yaml.safe_load`` builds anything the YAML spec allows, including what a hostile or careless file
can use against its reader:

- **alias bombs**: nine lines of anchors and aliases expand to a billion values (PyYAML shares
  them, but every walk over the result, or a ``repr`` in an error message, pays for all of them);
- **deep nesting** that exhausts the stack (``RecursionError``), and recursive aliases;
- **duplicate keys**, of which PyYAML silently keeps the last.

Here the document is composed first (a graph of nodes, aliases shared), the graph is measured
iteratively (values as expanded, nesting depth, cycles) and refused past :data:`MAX_VALUES` or
:data:`MAX_DEPTH`, and only then constructed, by a loader that refuses a key written twice in one
mapping (keys merged in with ``<<`` may still be overridden, as YAML intends).

``on_error: null`` written unquoted is YAML's null, not the string ``"null"``; since ``null`` is one
of that key's values, a plain ``null``/``Null``/``NULL`` scalar under ``on_error`` is read as the
string (``~`` or an empty value stays a null, which the config reports).
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

#: Values a config may expand to, aliases counted as often as they are used.
MAX_VALUES = 100_000
#: Collections nested in collections, at most.
MAX_DEPTH = 64
#: Keys whose unquoted ``null`` means the word, because the word is one of their values.
NULL_WORD_KEYS = frozenset({"on_error"})
_NULL_TAG = "tag:yaml.org,2002:null"
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlProblem(Exception):
    """The text is not a config PyYAML can be trusted with; the message says why and where."""


class _Loader(yaml.SafeLoader):
    def construct_mapping(self, node: MappingNode, deep: bool = False) -> Dict[Any, Any]:
        seen: Dict[Tuple[str, str], Node] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag != _MERGE_TAG:
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise YamlProblem(
                        f"line {key_node.start_mark.line + 1}: key {key_node.value!r} appears twice in one mapping "
                        f"(first on line {seen[key].start_mark.line + 1})"
                    )
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str) -> Any:
    """The document in ``text``; :class:`YamlProblem` for anything unsafe or malformed."""
    try:
        loader = _Loader(text)  # the reader checks the characters right away
    except yaml.YAMLError as exc:
        raise YamlProblem(f"not valid YAML: {exc}") from None
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise YamlProblem(f"collections nest too deeply (more than {MAX_DEPTH} levels are refused)") from None
        if node is None:
            return None
        _measure(node)
        _null_words(node)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise YamlProblem(f"not valid YAML: {exc}") from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a timestamp like 2024-13-45
        raise YamlProblem(f"not valid YAML: a value cannot be read ({type(exc).__name__}: {exc})") from None
    finally:
        loader.dispose()


def _children(node: Node) -> List[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _measure(root: Node) -> None:
    """Expanded value count and depth of the node graph, each node visited once (aliases are shared
    nodes); a node reachable from itself is a recursive alias."""
    size: Dict[int, int] = {}
    depth: Dict[int, int] = {}
    on_path = set()
    stack: List[Tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            kids = _children(node)
            size[key] = 1 + sum(size[id(kid)] for kid in kids)
            depth[key] = 1 + max((depth[id(kid)] for kid in kids), default=0) if kids else 0
            if size[key] > MAX_VALUES:
                raise YamlProblem(
                    f"line {node.start_mark.line + 1}: expands to more than {MAX_VALUES} values "
                    "(anchors and aliases count each time they are used)"
                )
            if depth[key] > MAX_DEPTH:
                raise YamlProblem(
                    f"line {node.start_mark.line + 1}: collections nest more than {MAX_DEPTH} levels deep"
                )
            continue
        if key in size:
            continue
        if key in on_path:
            raise YamlProblem(f"line {node.start_mark.line + 1}: an alias refers to a collection that contains it")
        on_path.add(key)
        stack.append((node, True))
        for kid in _children(node):
            if id(kid) in on_path:
                raise YamlProblem(f"line {kid.start_mark.line + 1}: an alias refers to a collection that contains it")
            if id(kid) not in size:
                stack.append((kid, False))


def _null_words(root: Node) -> None:
    """Turn a plain ``null`` under :data:`NULL_WORD_KEYS` into the string ``"null"`` (see the module
    docstring). The graph is finite and acyclic here (:func:`_measure` ran first)."""
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                if (
                    isinstance(key_node, ScalarNode)
                    and key_node.value in NULL_WORD_KEYS
                    and isinstance(value_node, ScalarNode)
                    and value_node.tag == _NULL_TAG
                    and value_node.value in ("null", "Null", "NULL")
                ):
                    value_node.tag, value_node.value = _STR_TAG, "null"
        stack.extend(_children(node))

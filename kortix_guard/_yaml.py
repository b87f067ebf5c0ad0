"""The only importer of PyYAML: YAML read safely, as Kortix reads its manifest (and as
pre-commit reads its config).

libyaml composes the document (fast, with every node's line and column); the values are
built here with YAML 1.2's core schema, as the `yaml` package Kortix uses does: `NO`, `yes`,
`on` and `0777` stay strings, only `true`/`false` are booleans. A duplicate key is an
error (the last would silently win), and aliases may not expand past a budget (a "billion
laughs" manifest of nested aliases would otherwise be walked exponentially). `<<` is an
ordinary key, as in YAML 1.2 and Kortix's parser: no merge keys.
"""
from __future__ import annotations

import re
from typing import Any, NamedTuple

Position = tuple[int, int]  # 1-based line and column
Path_ = tuple[str | int, ...]  # keys and indexes from the document's root

MAX_NODES = 100_000  # nodes visited, aliases included: far past any real manifest


class YamlError(Exception):
    def __init__(self, line: int, col: int, message: str) -> None:
        super().__init__(message)
        self.line, self.col, self.message = line, col, message


class Scalar(NamedTuple):
    """Where a scalar value sits in the text (character offsets), and how it is written."""

    start: int
    end: int
    style: str  # "" (plain), "'", '"', "|" or ">"
    in_flow: bool  # an item of a `[...]` sequence (else a `- ` line, or a mapping's value)


class Document(NamedTuple):
    """The document's plain data, where each key and value starts, and each scalar's span."""

    data: Any
    values: dict[Path_, Position]
    keys: dict[Path_, Position]
    scalars: dict[Path_, Scalar] = {}


_NULL = re.compile(r"~|null|Null|NULL|")
_TRUE = re.compile(r"true|True|TRUE")
_FALSE = re.compile(r"false|False|FALSE")
_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")


_PLAIN = "tag:yaml.org,2002:str"  # every plain scalar's tag, with no implicit resolver


def _scalar(node) -> Any:
    """A scalar by YAML 1.2's core schema; a quoted or block scalar, or one with an explicit
    tag, is a string."""
    text = node.value
    if node.style or node.tag != _PLAIN:
        return text
    if _NULL.fullmatch(text):
        return None
    if _TRUE.fullmatch(text):
        return True
    if _FALSE.fullmatch(text):
        return False
    if _INT.fullmatch(text):
        return int(text, 0) if text[:2] in ("0o", "0x") else int(text)
    if _FLOAT.fullmatch(text):
        return float(text.replace(".", "", 1) if text.lstrip("+-").startswith((".i", ".I", ".n",
                                                                                ".N"))
                     else text)
    return text


def safe_load(text: str) -> Any:
    """Another tool's YAML (`.pre-commit-config.yaml`) as that tool reads it: PyYAML's safe
    loader, YAML 1.1. YamlError when it does not parse."""
    import yaml

    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = _position(mark) if mark is not None else (1, 1)
        raise YamlError(*where, (e.problem or "not valid YAML").strip()) from None
    except yaml.YAMLError as e:
        raise YamlError(1, 1, str(e).splitlines()[0]) from None


def _position(mark) -> Position:
    return mark.line + 1, mark.column + 1


def load(text: str) -> Document:
    """The document, or YamlError at the place a problem starts (never a PyYAML traceback).
    An empty document is None."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    # No implicit resolver: PyYAML's are YAML 1.1's (`NO` is false there); _scalar applies
    # YAML 1.2's core schema instead.
    loader = type("Loader", (base,), {"yaml_implicit_resolvers": {}})
    try:
        root = yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = _position(mark) if mark is not None else (1, 1)
        problem = (e.problem or e.context or "not valid YAML").strip()
        lines = text.split("\n")
        line = lines[where[0] - 1] if where[0] <= len(lines) else ""
        if "\t" in line[:where[1]]:
            problem = "a tab character (YAML indents with spaces only)"
        raise YamlError(*where, problem) from None
    except yaml.YAMLError as e:
        raise YamlError(1, 1, str(e).splitlines()[0]) from None
    if root is None:
        return Document(None, {}, {})
    values: dict[Path_, Position] = {}
    keys: dict[Path_, Position] = {}
    scalars: dict[Path_, Scalar] = {}
    budget = [MAX_NODES]

    def build(node, path: Path_, in_flow: bool = False) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise YamlError(*_position(node.start_mark),
                            f"its aliases expand to more than {MAX_NODES:,} nodes")
        values.setdefault(path, _position(node.start_mark))
        if isinstance(node, yaml.ScalarNode):
            scalars.setdefault(path, Scalar(node.start_mark.index, node.end_mark.index,
                                            node.style or "", in_flow))
            return _scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return [build(item, path + (i,), bool(node.flow_style))
                    for i, item in enumerate(node.value)]
        out: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError(*_position(key_node.start_mark), "a mapping key must be a scalar")
            key = _scalar(key_node)
            if key in out:
                raise YamlError(*_position(key_node.start_mark),
                                f"duplicate key {str(key)[:64]!r} (YAML keeps only the last)")
            here = path + (key,)
            keys[here] = _position(key_node.start_mark)
            out[key] = build(value_node, here)
        return out

    return Document(build(root, ()), values, keys, scalars)


def is_plain_string(text: str) -> bool:
    """Whether text, written plain, reads back as that string (not a number, a boolean, null,
    or something YAML gives a meaning to)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        return False
    return not any(r.fullmatch(text) for r in (_NULL, _TRUE, _FALSE, _INT, _FLOAT))

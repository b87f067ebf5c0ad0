"""The only importer of tomlkit. It parses kortix.toml keeping comments and layout (for --fix)
and records where each key, value and table starts, which tomlkit itself does not keep.
"""
from __future__ import annotations

import re
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError
from tomlkit.parser import Parser

Position = tuple[int, int]  # 1-based line and column


class TomlSyntaxError(Exception):
    def __init__(self, line: int, col: int, message: str) -> None:
        super().__init__(message)
        self.line, self.col, self.message = line, col, message


class _RecordingParser(Parser):
    """tomlkit's parser, noting the source offset of every key, value and table it builds."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.offsets: dict[int, int] = {}
        self._alive: list[Any] = []  # keeps the ids in offsets from being reused

    def _note(self, obj: Any, start: int) -> None:
        self.offsets.setdefault(id(obj), start)
        self._alive.append(obj)

    def _parse_value(self):
        start = self._idx
        item = super()._parse_value()
        self._note(item, start)
        return item

    def _parse_key(self):
        start = self._idx
        key = super()._parse_key()
        self._note(key, start)
        return key

    def _parse_table(self, *args, **kwargs):
        start = self._idx
        key, table = super()._parse_table(*args, **kwargs)
        self._note(table, start)
        return key, table


def _where(text: str, line: int, col: int, message: str) -> tuple[int, int, str]:
    """tomlkit's position made 1-based; an error at the very start of a line is most often
    the previous line left open (`required = ["A",` without its `]`): point at that line's
    end and say so."""
    if col == 0:
        lines = text.split("\n")
        opened = next((n for n in range(min(line, len(lines)), 0, -1) if _left_open(lines[n - 1])),
                      None)
        if opened is not None:
            return (opened, len(lines[opened - 1]) + 1,
                    f"{message}: is a `]`, `}}` or quote missing at the end of line {opened}?")
    return line, col + 1, message


def _left_open(line: str) -> bool:
    code = line.split("#", 1)[0]
    return (code.count("[") > code.count("]") or code.count("{") > code.count("}")
            or code.count('"') % 2 == 1)


class Document:
    """A parsed manifest and the positions of its parts."""

    def __init__(self, text: str) -> None:
        parser = _RecordingParser(text)
        try:
            self.doc = parser.parse()
        except ParseError as e:
            # Some tomlkit messages quote the offending character; a value is never repeated.
            message = re.sub(r"\s+at line \d+ col \d+$", "", str(e))
            message = re.sub(r":\s*'.*'$", "", message)
            raise TomlSyntaxError(*_where(text, e.line, e.col, message)) from None
        self._text = text
        self._offsets = parser.offsets
        self._parser = parser  # keeps recorded objects alive with the document

    def position(self, obj: Any, default: Position = (1, 1)) -> Position:
        offset = self._offsets.get(id(obj))
        if offset is None:
            return default
        # Tables are noted at their '['; keys and values after leading blanks.
        while offset < len(self._text) and self._text[offset] in " \t":
            offset += 1
        line = self._text.count("\n", 0, offset) + 1
        col = offset - (self._text.rfind("\n", 0, offset) + 1) + 1
        return line, col

    def key_position(self, table: Any, key: str, default: Position = (1, 1)) -> Position:
        """Where `key` is written inside `table` (or the document)."""
        body = table.body if hasattr(table, "body") else table.value.body
        for k, _item in body:
            if k is not None and k.key == key:
                return self.position(k, default)
        return default

    def locate(self, path: tuple[str | int, ...], *, key: bool = False,
               default: Position = (1, 1)) -> Position:
        """Where the value at path (keys and indexes from the document's root) starts, or its
        key with `key`; the nearest enclosing place that exists when it does not."""
        node: Any = self.doc
        found = default
        for i, step in enumerate(path):
            last = i == len(path) - 1
            if isinstance(step, int):
                try:
                    node = node[step]
                except (IndexError, KeyError, TypeError):
                    return found
            else:
                if not hasattr(node, "get"):
                    return found
                where = self.key_position(node, step, found)
                if last and key:
                    return where
                child = node.get(step)
                if child is None:
                    return where
                found, node = where, child
            found = self.position(node, found)
        return found if not path else self.position(node, found)

    def dumps(self) -> str:
        return tomlkit.dumps(self.doc)


def string_item(value: str) -> Any:
    return tomlkit.string(value)

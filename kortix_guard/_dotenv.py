"""The only importer of python-dotenv: `.env` files read as python-dotenv reads them, without
its variable expansion (`$X` stays as written, like the Kortix CLI). Imports no click, so the
commit hook can read a work tree's `.env` files for their values.

`dotenv.parser.parse_stream` is not python-dotenv's documented API (its public functions read
files and expand variables): the range in pyproject.toml pins the major version, and
tests/test_dotenv.py fails when the parser's records change shape.
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from kortix_guard.secret import SecretValue


class Entry(NamedTuple):
    """One `NAME=value` line (the value redacted in every repr), or a line that does not
    parse (`name` None, `error` True)."""

    line: int
    name: str | None
    value: SecretValue
    error: bool = False


def entries(text: str) -> Iterator[Entry]:
    from dotenv.parser import parse_stream

    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            yield Entry(binding.original.line, None, SecretValue(""), error=True)
        elif binding.key is not None:
            yield Entry(binding.original.line, binding.key, SecretValue(binding.value or ""))


def values(path: Path) -> list[tuple[str, SecretValue]]:
    """Every non-empty (name, value) of a .env file, the last one of a name winning (for the
    scanner's known values); [] when it cannot be read."""
    from kortix_guard._fs import read_text
    from kortix_guard.errors import Error

    try:
        text = read_text(path, what=".env file")
    except Error:
        return []
    found = {e.name: e.value for e in entries(text) if e.name is not None and len(e.value)}
    return list(found.items())

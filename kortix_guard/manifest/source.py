"""One manifest file as read: its syntax, its plain data, and where each part starts.

Reading is fast (tomllib for kortix.toml; libyaml for kortix.yaml, which gives positions as
it goes); the TOML parser that keeps positions and layout (tomlkit) runs only when a problem
has to be located, or a fix written."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from kortix_guard._fs import read_text
from kortix_guard.manifest.model import YAML_NAMES, Problem

Position = tuple[int, int]
KeyPath = tuple[str | int, ...]


def is_yaml(path: Path) -> bool:
    return path.name in YAML_NAMES or path.suffix.lower() in (".yaml", ".yml")


class Source:
    """A manifest's text, its data (None when it does not parse: `problem` says why), and
    the positions of its keys and values, by key path."""

    def __init__(self, path: Path, display: str, text: str | None = None) -> None:
        self.path = path
        self.display = display
        self.text = read_text(path, what="manifest", display=display) if text is None else text
        self.format = "yaml" if is_yaml(path) else "toml"
        self.problem: Problem | None = None
        self.data: Any = None
        self._toml_doc: Any = None
        self._yaml_values: dict = {}
        self._yaml_keys: dict = {}
        self._yaml_scalars: dict = {}
        if self.format == "yaml":
            self._read_yaml()
        else:
            self._read_toml()

    def _read_yaml(self) -> None:
        from kortix_guard import _yaml

        try:
            doc = _yaml.load(self.text)
        except _yaml.YamlError as e:
            self.problem = Problem(self.display, e.line, e.col, "KG107",
                                   f"not valid YAML: {e.message}")
            return
        self.data, self._yaml_values, self._yaml_keys, self._yaml_scalars = doc
        if self.data is None:
            self.data = {}
        elif not isinstance(self.data, dict):
            self.problem = Problem(self.display, 1, 1, "KG107",
                                   "not valid YAML for a manifest: its top level is not a mapping")

    def _read_toml(self) -> None:
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover (Python 3.10)
            import tomli as tomllib
        try:
            self.data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError:
            # tomlkit's message, and the line a bracket or quote was left open on.
            from kortix_guard.manifest._toml import TomlSyntaxError

            try:
                self.toml_document()
            except TomlSyntaxError as e:
                self.problem = Problem(self.display, e.line, e.col, "KG100",
                                       f"not valid TOML: {e.message}")
                return
            self.problem = Problem(self.display, 1, 1, "KG100", "not valid TOML")

    def toml_document(self):  # -> manifest._toml.Document
        """The TOML document with positions and layout (tomlkit), parsed on first use."""
        if self._toml_doc is None:
            from kortix_guard.manifest._toml import Document

            self._toml_doc = Document(self.text)
        return self._toml_doc

    def scalar(self, path: KeyPath):  # -> _yaml.Scalar | None
        """A YAML scalar's span in the text (None in a TOML manifest, or for a non-scalar)."""
        return self._yaml_scalars.get(path)

    def at(self, path: KeyPath, *, key: bool = False) -> Position:
        """Where the value at path starts (its key's position with `key`); the nearest
        enclosing place that exists when it does not."""
        if self.format == "toml":
            return self.toml_document().locate(path, key=key)
        if key and path in self._yaml_keys:
            return self._yaml_keys[path]
        for end in range(len(path), 0, -1):
            found = self._yaml_values.get(path[:end])
            if found is not None:
                return found
        return 1, 1

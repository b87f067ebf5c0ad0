"""What every command receives: the global options, as one State, and the decorator that
passes it (imported by cli/main.py and by each command module, which main.py registers)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import click

from kortix_guard.project import Project


@dataclass
class State:
    cwd: Path = Path(".")
    manifest: Path | None = None
    store: Path | None = None
    key_file: Path | None = None
    verbose: bool = field(default_factory=lambda: os.environ.get("KORTIX_GUARD_DEBUG") == "1")

    def project(self) -> Project:
        return Project.discover(self.cwd, manifest=self.manifest, store=self.store,
                                key_file=self.key_file)


pass_state = click.make_pass_decorator(State)
PATH = click.Path(path_type=Path)

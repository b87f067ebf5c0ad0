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


class Group(click.Group):
    """A command group whose --help lists each command with its whole first sentence."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command with its whole first sentence, wrapped (click cuts it to the width
        left beside the names, 45 characters on an 80-column terminal, mid-sentence)."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

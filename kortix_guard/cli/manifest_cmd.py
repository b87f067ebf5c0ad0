from __future__ import annotations

from pathlib import Path

import click

from kortix_guard.cli._state import Group, State, pass_state
from kortix_guard.manifest.command import Format, run


@click.group(cls=Group)
def manifest() -> None:
    """Check the Kortix manifest (kortix.yaml, kortix.yml or kortix.toml)."""


@manifest.command("check")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Problems as lines or as a JSON list.")
@click.option("--strict", is_flag=True, help="Warnings fail the check too.")
@click.option("--fix", is_flag=True,
              help="Apply the safe fixes (upper-case, trim, drop duplicates); exit 1 if changed.")
@pass_state
def check(state: State, files: tuple[Path, ...], fmt: str, strict: bool, fix: bool) -> int:
    """Check manifests (default: the project's, as Kortix finds it). One line per problem."""
    return run(state.project(), files, fmt=Format(fmt), strict=strict, fix=fix)
COMMANDS = [manifest]

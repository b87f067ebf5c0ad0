"""The `kortix-guard` command's entry: what starts before the command line is parsed.

`kortix-guard scan --range BASE..HEAD` starts git's walk of the range here, before click and
the scanner load: git proves which commits the base lacks (0.15 s on git/git's 1,020-commit
range, most of it reading what the base already holds) while Python imports (0.05 s), instead
of after. Only the command line's shape is read here, never acted on: click parses it as
always, and a scan of the same range from the same folder takes the walk (`EarlyWalk.of`).
"""
from __future__ import annotations

import sys
from collections.abc import Sequence

# The global options that take a value, before the command's name (cli.main).
_GLOBAL_VALUES = ("-C", "--manifest", "--store", "--key-file")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    named = range_named(args)
    if named is not None:
        from pathlib import Path

        from kortix_guard.git import EarlyWalk

        EarlyWalk.started_from(Path(named[0]), named[1])
    from kortix_guard.cli.main import main as cli

    return cli(args)


def range_named(args: list[str]) -> tuple[str, str] | None:
    """(the folder, BASE..HEAD) of `[-C DIR] scan ... --range BASE..HEAD`, or None."""
    folder, i = ".", 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        arg = args[i]
        if arg in _GLOBAL_VALUES:
            if arg == "-C" and i + 1 < len(args):
                folder = args[i + 1]
            i += 2
            continue
        if arg.startswith("-C") and not arg.startswith("--"):
            folder = arg[2:]
        i += 1
    if i >= len(args) or args[i] != "scan":
        return None
    rest = args[i + 1:]
    for j, arg in enumerate(rest):
        if arg == "--":
            break
        if arg == "--range" and j + 1 < len(rest):
            value = rest[j + 1]
        elif arg.startswith("--range="):
            value = arg.removeprefix("--range=")
        else:
            continue
        return (folder, value) if value.count("..") == 1 and "..." not in value else None
    return None

"""The `kortix-guard` command's entry: what starts before the command line is parsed.

`kortix-guard scan --range BASE..HEAD` starts git's walk of the range here, before click and
the scanner load: git proves which commits the base lacks (0.15 s on git/git's 1,020-commit
range, most of it reading what the base already holds) while Python imports (0.05 s), instead
of after. Only the command line's shape is read here, never acted on: click parses it as
always, and a scan of the same range from the same folder takes the walk (`EarlyWalk.of`).
A scan then ends the process once its output is out, without the interpreter's teardown.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence

from kortix_guard._out import end_now

# The global options that take a value, before the command's name (cli.main).
_GLOBAL_VALUES = ("-C", "--manifest", "--store", "--key-file")


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; from the console script (argv None), a scan ends the process as
    soon as its output is out (`end_now`)."""
    args = list(sys.argv[1:] if argv is None else argv)
    named = range_named(args)
    if named is not None:
        from pathlib import Path

        from kortix_guard.git import EarlyWalk

        EarlyWalk.started_from(Path(named[0]), named[1])
    from kortix_guard.cli.main import main as cli

    code = cli(args)
    if argv is None and _named(args, "scan") is not None:
        end_now(code)
    return code


def _named(args: list[str], command: str) -> tuple[str, list[str]] | None:
    """The folder (-C) and the arguments after the command's name when args name command
    (after the global options), else None."""
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
    return (folder, args[i + 1:]) if i < len(args) and args[i] == command else None


def range_named(args: list[str]) -> tuple[str, str] | None:
    """(the folder, BASE..HEAD) of `[-C DIR] scan ... --range BASE..HEAD`, or None."""
    named = _named(args, "scan")
    if named is None:
        return None
    folder, rest = named
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

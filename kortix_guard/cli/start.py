"""The `kortix-guard` command's entry: what starts before the command line is parsed.

`kortix-guard scan --range BASE..HEAD` starts git's walk of the range here, before click and
the scanner load: git proves which commits the base lacks (0.15 s on git/git's 1,020-commit
range, most of it reading what the base already holds) while Python imports (0.05 s), instead
of after. `scan --pre-receive` likewise, from the updates on its stdin (read here and put
back). Only the command line's shape is read here, never acted on: click parses it as
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
    elif (folder := pre_receive_named(args)) is not None and _stdin_piped():
        _start_push_walk(folder)
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


def pre_receive_named(args: list[str]) -> str | None:
    """The folder of `[-C DIR] scan ... --pre-receive ...`, or None (also when it asks for
    help, which click gives without reading the hook's input)."""
    named = _named(args, "scan")
    if named is None:
        return None
    folder, rest = named
    options = rest[:rest.index("--")] if "--" in rest else rest
    if "--pre-receive" not in options or {"-h", "--help"} & set(options):
        return None
    return folder


def _stdin_piped() -> bool:
    """git gives a hook its input on a pipe; a terminal is never read ahead (`--help`)."""
    return sys.stdin is not None and not sys.stdin.closed and not sys.stdin.isatty()


def _start_push_walk(folder: str) -> None:
    """Start git's walk of the push a pre-receive hook is given: its input, read here, is
    put back as the hook's stdin, which `scan --pre-receive` reads as before."""
    import io
    from pathlib import Path

    from kortix_guard.git import EarlyWalk

    stdin = sys.stdin
    data = stdin.buffer.read()
    sys.stdin = io.TextIOWrapper(io.BytesIO(data), encoding=stdin.encoding, errors=stdin.errors)
    EarlyWalk.started_from_push(Path(folder), data)


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

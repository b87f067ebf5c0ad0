"""GitHub Actions: masks first, then $GITHUB_ENV heredocs, outputs and a names-only summary."""
from __future__ import annotations

import os
import secrets as _random
import sys
from collections.abc import Sequence
from pathlib import Path

from kortix_guard import errors
from kortix_guard._out import echo, github_data, github_summary
from kortix_guard.names import GITHUB_REFUSED_PREFIXES
from kortix_guard.secret import SecretValue

GITHUB_REFUSED = ("NODE_OPTIONS",)
# The runner splits file-command lines on "\r\n" on Windows (`#if OS_WINDOWS` in its
# FileCommandManager.cs): write them as the toolkit does, with the platform's line end around
# every value, so that a value ending in "\r" keeps it.
EOL = "\r\n" if os.name == "nt" else "\n"


def enabled() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def mask_commands(values: dict[str, SecretValue]) -> list[str]:
    """`::add-mask::` for each whole value and, for a multi-line one, each non-blank line."""
    commands = []
    for value in values.values():
        text = value.reveal()
        if not text.strip():
            continue
        commands.append(f"::add-mask::{github_data(text)}")
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if len(lines) > 1:
            commands += [f"::add-mask::{github_data(line)}" for line in lines if line.strip()]
    return commands


def register_masks(values: dict[str, SecretValue], *, err: bool = False) -> None:
    """Print the mask commands. The runner reads workflow commands from a step's stdout and
    its stderr alike (ScriptHandler.cs gives both to the ActionCommandManager), so with
    `err` they go to stderr and never mix into data on stdout."""
    force_utf8()
    for command in mask_commands(values):
        echo(command, err=err)


def force_utf8() -> None:
    """The runner reads UTF-8; Windows' piped stdout is not, and a garbled mask masks
    nothing."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and (stream.encoding or "").lower() != "utf-8":
            stream.reconfigure(encoding="utf-8")


def refused_names(names: Sequence[str]) -> list[str]:
    return [n for n in names if n in GITHUB_REFUSED or n.startswith(GITHUB_REFUSED_PREFIXES)]


def env_file_entry(name: str, value: str, eol: str = EOL) -> str:
    """NAME<<DELIM, value, DELIM, with a fresh random delimiter that the value does not hold,
    each followed by the platform's line end (the toolkit's prepareKeyValueMessage)."""
    while True:
        delimiter = f"ghadelimiter_{_random.token_hex(16)}"
        if delimiter not in value:
            return f"{name}<<{delimiter}{eol}{value}{eol}{delimiter}{eol}"


def _file(var: str) -> Path:
    path = os.environ.get(var)
    if not path:
        raise errors.Error(f"${var} is not set: GitHub mode runs inside a GitHub Actions step",
                           hint="outside GitHub Actions, pass --format or --output")
    return Path(path)


def _append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8", newline="") as f:
        f.write(text)


def export(values: dict[str, SecretValue], *, export_env: bool = True,
           rotate: dict[str, str] | None = None) -> None:
    """Masks first; then each value into $GITHUB_ENV (every later step's environment), or,
    with export_env False, only the step's `values` output: a JSON object that a later step
    reads by name (`fromJSON(steps.ID.outputs.values).NAME`), as 1Password's action does with
    `export-env: false`. The JSON spelling of each value is masked too."""
    refused = refused_names(list(values))
    if refused:
        raise errors.Error(f"kortix-guard does not export {', '.join(refused)} to a GitHub job "
                           f"(GITHUB_* and RUNNER_* are the runner's own variables, and the "
                           f"runner refuses NODE_OPTIONS); "
                           f"nothing was exported", hint="rename the secret, or narrow with --only")
    env_file, output_file = _file("GITHUB_ENV"), _file("GITHUB_OUTPUT")
    register_masks(values)  # before a value is written anywhere
    if export_env:
        _append(env_file, "".join(env_file_entry(n, v.reveal()) for n, v in values.items()))
    else:
        import json

        as_json = {n: SecretValue(json.dumps(v.reveal())[1:-1]) for n, v in values.items()}
        register_masks({n: v for n, v in as_json.items() if v.reveal() != values[n].reveal()})
        _append(output_file, env_file_entry(
            "values", json.dumps({n: v.reveal() for n, v in values.items()})))
    write_outputs(output_file, injected=list(values), missing=[])
    where = "injected (masked)" if export_env else "in the step's `values` output (masked)"
    rotate = rotate or {}
    rows = "".join(f"| `{name}` | {where} | "
                   f"{'to rotate (set ' + rotate[name] + ')' if name in rotate else ''} |\n"
                   for name in values)
    github_summary(f"### kortix-guard\n\n| secret | status | rotate |\n|---|---|---|\n{rows}\n")


def write_outputs(path: Path, *, injected: Sequence[str], missing: Sequence[str]) -> None:
    _append(path, f"injected={','.join(injected)}{EOL}missing={','.join(missing)}{EOL}")


def report_missing_outputs(missing: Sequence[str]) -> None:
    """On a fail-fast exit, name the missing secrets in the step's outputs too."""
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        write_outputs(Path(output), injected=[], missing=missing)


def annotate_missing(missing: Sequence[str], what: str, fix: str, manifest: Path | None,
                     cwd: Path) -> None:
    """An `::error` on the line that declares each missing name (the manifest's path as the
    runner's workspace sees it), and a step summary that says the job failed and why."""
    import re

    from kortix_guard._out import github_property

    lines: list[str] = []
    if manifest is not None:
        try:
            lines = manifest.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            lines = []
        try:
            shown = os.path.relpath(manifest, os.environ.get("GITHUB_WORKSPACE") or cwd)
        except ValueError:
            shown = str(manifest)
    for name in missing:
        line = next((i for i, text in enumerate(lines, 1)
                     if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text)), None)
        place = (f"file={github_property(shown.replace(os.sep, '/'))},line={line},"
                 if manifest is not None and line is not None else "")
        echo(f"::error {place}title=kortix-guard: missing secret::"
             + github_data(f"{name} has no value in the store; {fix}"))
    rows = "".join(f"| `{name}` | missing |\n" for name in missing)
    github_summary(f"### kortix-guard: {len(missing)} {what} missing, nothing was exported\n\n"
                   f"| secret | status |\n|---|---|\n{rows}\n{fix[0].upper() + fix[1:]}.\n")

"""`kortix-guard manifest check`: check (and optionally fix) manifests, report, exit code."""
from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from pathlib import Path

from kortix_guard import errors
from kortix_guard._out import echo
from kortix_guard.manifest import Problem, check_file, fix_file
from kortix_guard.project import Project
from kortix_guard.rules import Severity


class Format(str, enum.Enum):
    TEXT = "text"
    JSON = "json"


def run(project: Project, files: Sequence[Path], *, fmt: Format = Format.TEXT,
        strict: bool = False, fix: bool = False) -> int:
    paths = [project.cwd / f for f in files] or [project.require_manifest()]
    problems: list[Problem] = []
    changed = False
    for path in paths:
        display = project.display(path)
        if fix:
            fixes, left = fix_file(path, display)
            changed = changed or bool(fixes)
            for record in fixes:
                echo(record.as_text(), err=True)
            problems += left
        else:
            problems += check_file(path, display)
    _report(problems, fmt)
    failing = [p for p in problems if strict or p.severity is Severity.ERROR]
    _summary(problems, len(paths), changed)
    return errors.PROBLEMS if failing or changed else errors.CLEAN


def _report(problems: list[Problem], fmt: Format) -> None:
    if fmt is Format.JSON:
        echo(json.dumps([p.as_dict() for p in problems], indent=2))
        return
    for problem in problems:
        echo(problem.as_text())


def _summary(problems: list[Problem], files: int, changed: bool) -> None:
    n_err = sum(p.severity is Severity.ERROR for p in problems)
    n_warn = len(problems) - n_err
    if problems:
        echo(f"{n_err} error(s), {n_warn} warning(s) in {files} manifest(s)", err=True)
    fixable = sum(p.fixable for p in problems)
    if fixable:
        echo(f"{fixable} fixable with `kortix-guard manifest check --fix`", err=True)
    if changed:
        echo("fixed the manifest in place; review and stage the change", err=True)

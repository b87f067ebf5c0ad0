"""kortix.toml: load it with positions, check it against the rules, fix what is safe to fix."""
from __future__ import annotations

from pathlib import Path

from kortix_guard._fs import atomic_write, read_text
from kortix_guard.errors import ProjectError
from kortix_guard.manifest.model import (
    DEFAULT_BASELINE,
    DEFAULT_MIN_KNOWN_LENGTH,
    DEFAULT_STORE,
    GuardConfig,
    Manifest,
    Problem,
)
from kortix_guard.rules import Severity

__all__ = ["Manifest", "Problem", "GuardConfig", "check_file", "fix_file", "load"]


def _parse(path: Path, display: str):  # -> Document | Problem
    from kortix_guard.manifest._toml import Document, TomlSyntaxError

    text = read_text(path, what="manifest", display=display)
    try:
        return Document(text)
    except TomlSyntaxError as e:
        return Problem(display, e.line, e.col, "KG100", f"not valid TOML: {e.message}")


def _check(display: str, document, path: Path) -> list[Problem]:
    from kortix_guard.manifest.checks import Checker

    return Checker(display, document).run(yaml_beside=(path.parent / "kortix.yaml").exists())


def check_file(path: Path, display: str | None = None) -> list[Problem]:
    """Every problem in one manifest. Raises InputError when the file cannot be read."""
    display = display or str(path)
    parsed = _parse(path, display)
    if isinstance(parsed, Problem):
        return [parsed]
    return _check(display, parsed, path)


def fix_file(path: Path, display: str | None = None) -> tuple[list[Problem], list[Problem]]:
    """Apply the safe fixes and rewrite the file atomically when any was made.

    Returns (fixes made, problems left after them).
    """
    from kortix_guard.manifest._toml import Document
    from kortix_guard.manifest.fix import apply_fixes

    display = display or str(path)
    parsed = _parse(path, display)
    if isinstance(parsed, Problem):
        return [], [parsed]
    fixes = apply_fixes(display, parsed)
    if not fixes:
        return [], _check(display, parsed, path)
    text = parsed.dumps()
    atomic_write(path, text.encode("utf-8"))
    return fixes, _check(display, Document(text), path)


def load(path: Path, display: str | None = None) -> Manifest:
    """The manifest for the commands that act on it; any error-severity problem stops them."""
    from kortix_guard.manifest.checks import plain

    display = display or str(path)
    parsed = _parse(path, display)
    problems = [parsed] if isinstance(parsed, Problem) else _check(display, parsed, path)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors:
        listing = "\n".join("  " + p.as_text() for p in errors)
        raise ProjectError(f"{display} has {len(errors)} error(s):\n{listing}",
                           hint=f"run `kortix-guard manifest check` and fix {display} first")
    doc = parsed.doc
    env = plain(doc.get("env")) or {}
    guard = plain(doc.get("guard")) or {}
    folder = path.parent
    return Manifest(
        path=path,
        project_name=plain(doc["project"])["name"],
        required=tuple(env.get("required", ())),
        optional=tuple(env.get("optional", ())),
        guard=GuardConfig(
            store=folder / guard.get("store", DEFAULT_STORE),
            baseline=folder / guard.get("baseline", DEFAULT_BASELINE),
            exclude=tuple(guard.get("exclude", ())),
            min_known_length=guard.get("min_known_length", DEFAULT_MIN_KNOWN_LENGTH),
            min_confidence=guard.get("min_confidence"),
            max_age_days=guard.get("max_age_days"),
            public_by_design=guard.get("public_by_design", True),
        ),
    )

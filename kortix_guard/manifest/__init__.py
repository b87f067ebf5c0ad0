"""kortix.toml: load it with positions, check it against the rules, fix what is safe to fix.

The parser with positions (`_toml`, tomlkit's only importer), the checks and the fixes load
when a manifest is parsed, not when this module is imported: the commit hook reads a
manifest's remembered verdict (`load_cached`) without them."""
from __future__ import annotations

import sys
from pathlib import Path

from kortix_guard._dirs import private_cache
from kortix_guard._fs import atomic_write, read_text, store_private
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

__all__ = ["Manifest", "Problem", "GuardConfig", "check_file", "fix_file", "load", "load_cached"]


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
    return from_values(path, _values(path, display or str(path)))


def _values(path: Path, display: str) -> dict:
    """What the commands read from a manifest, as plain data (names, [guard] settings as
    written); ProjectError listing the errors when it has any."""
    from kortix_guard.manifest.checks import plain

    parsed = _parse(path, display)
    problems = [parsed] if isinstance(parsed, Problem) else _check(display, parsed, path)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors:
        listing = "\n".join("  " + p.as_text() for p in errors)
        raise ProjectError(f"{display} has {len(errors)} error(s):\n{listing}",
                           hint=f"run `kortix-guard manifest check` and fix {display} first")
    doc = parsed.doc
    env = plain(doc.get("env")) or {}
    return {"required": list(env.get("required", ())), "optional": list(env.get("optional", ())),
            "guard": dict(plain(doc.get("guard")) or {})}


def from_values(path: Path, values: dict) -> Manifest:
    guard, folder = values["guard"], path.parent
    return Manifest(
        path=path,
        required=tuple(values["required"]),
        optional=tuple(values["optional"]),
        guard=GuardConfig(
            store=folder / guard.get("store", DEFAULT_STORE),
            baseline=folder / guard.get("baseline", DEFAULT_BASELINE),
            exclude=tuple(guard.get("exclude", ())),
            min_known_length=guard.get("min_known_length", DEFAULT_MIN_KNOWN_LENGTH),
            min_confidence=guard.get("min_confidence"),
            max_age_days=guard.get("max_age_days"),
            public_by_design=guard.get("public_by_design", True),
            allow_env=frozenset(guard.get("allow_env", ())),
        ),
    )


def guard_table(data: bytes | None) -> dict:
    """The [guard] table of a manifest's bytes as written (a base commit's, read without a
    work tree), {} when there is none or it does not parse: callers keep only what they
    need, and check its type."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover (Python 3.10)
        import tomli as tomllib
    try:
        guard = tomllib.loads(data.decode("utf-8")).get("guard", {}) if data else {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}
    return guard if isinstance(guard, dict) else {}


def base_store_path(root: Path):
    """For `check --base`: where a base commit's own manifest puts the store (repository-
    relative), since the head's manifest could move it anywhere. A function of (repository,
    base revision, the head store's repository-relative path)."""
    import posixpath

    def at(repo, base: str, head_relative: str) -> str:
        prefix = repo.prefix(root)
        if prefix is None:
            return head_relative
        configured = guard_table(repo.file_at(base, prefix + "kortix.toml")).get("store")
        if not isinstance(configured, str):
            configured = DEFAULT_STORE
        return posixpath.normpath(prefix + configured)
    return at


def load_cached(path: Path, display: str | None = None) -> Manifest:
    """`load`, remembering the verdict per manifest content in the user's cache folder (names
    are public; nothing else is kept): a commit hook then reads a small JSON file instead of
    parsing with layout and checking every rule, and a broken manifest fails the same way."""
    import hashlib
    import json

    display = display or str(path)
    text = read_text(path, what="manifest", display=display)
    key = hashlib.sha256(f"{_rules_stamp()}\0{(path.parent / 'kortix.yaml').exists()}\0{text}"
                         .encode()).hexdigest()[:32]
    folder = private_cache("manifests")
    entry = folder / f"{key}.json" if folder is not None else None
    try:
        cached = json.loads(entry.read_text(encoding="utf-8")) if entry is not None else None
    except (OSError, ValueError):
        cached = None
    if cached is None:
        try:
            cached = {"values": _values(path, display)}
        except ProjectError as e:
            cached = {"error": e.message, "hint": e.hint}
        if entry is not None:
            store_private(entry, json.dumps(cached).encode("utf-8"))
    if "error" in cached:
        raise ProjectError(cached["error"], hint=cached["hint"])
    return from_values(path, cached["values"])


def _rules_stamp() -> str:
    """Changes whenever the code that judges a manifest does (an upgrade, an edit): the files
    that hold the rules, by size and modification time. Cheaper than the package metadata."""
    here = Path(__file__).parent
    stamps = []
    for part in (here / "checks.py", here / "__init__.py", here.parent / "names.py",
                 here.parent / "rules.py"):
        info = part.stat()
        stamps.append(f"{info.st_size}.{info.st_mtime_ns}")
    return ",".join(stamps)

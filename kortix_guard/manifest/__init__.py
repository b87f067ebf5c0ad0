"""The manifest, in each of Kortix's versions: kortix.toml (version 1) and kortix.yaml
(versions 2 and 3). Read it fast, check it against the rules, fix what is safe to fix.

`find` names the manifest of a folder as Kortix does (kortix.yaml, then kortix.yml, then
kortix.toml). Reading uses the fast parsers (libyaml gives a YAML file's positions as it
reads); the checks run on plain data; tomlkit, which keeps a TOML file's positions and layout,
loads only when a problem has to be located or a fix written. The commit hook reads a manifest's remembered
verdict (`load_cached`) without any of them."""
from __future__ import annotations

from pathlib import Path

from kortix_guard._dirs import private_cache
from kortix_guard._fs import atomic_write, read_text, store_private
from kortix_guard.errors import ProjectError
from kortix_guard.manifest.model import (
    DEFAULT_BASELINE,
    DEFAULT_MIN_KNOWN_LENGTH,
    DEFAULT_STORE,
    FILE_NAMES,
    GUARD_KEY_YAML,
    GUARD_TABLE,
    GuardConfig,
    Manifest,
    Problem,
)
from kortix_guard.manifest.source import Source
from kortix_guard.rules import Severity

__all__ = ["FILE_NAMES", "Manifest", "Problem", "GuardConfig", "base_store_path", "check_file",
           "find", "fix_file", "guard_of", "ignored_beside", "load", "load_cached"]


def find(folder: Path) -> Path | None:
    """The manifest Kortix reads in folder: kortix.yaml, then kortix.yml, then kortix.toml."""
    for name in FILE_NAMES:
        path = folder / name
        if path.exists() or path.is_symlink():
            return path
    return None


def ignored_beside(path: Path) -> list[Path]:
    """The manifests beside path that Kortix ignores because path comes first."""
    if path.name not in FILE_NAMES:
        return []
    later = FILE_NAMES[FILE_NAMES.index(path.name) + 1:]
    return [path.parent / name for name in later if (path.parent / name).exists()]


def check_file(path: Path, display: str | None = None) -> list[Problem]:
    """Every problem in one manifest (its verdict is remembered per content: see
    `_verdict`). Raises InputError when the file cannot be read. The manifests Kortix
    ignores beside it are named too (KG102, on them)."""
    display = display or str(path)
    problems = [Problem(display, *p) for p in _verdict(path, display)["problems"]]
    for ignored in ignored_beside(path):
        shown = str(Path(display).parent / ignored.name) if Path(display).parent != Path(".") \
            else ignored.name
        problems.append(Problem(shown, 1, 1, "KG102", f"{path.name} sits beside this file: "
                                                       f"Kortix reads {path.name} and ignores "
                                                       f"{ignored.name}"))
    return problems


def fix_file(path: Path, display: str | None = None) -> tuple[list[Problem], list[Problem]]:
    """Apply the safe fixes and rewrite the file atomically when any was made.

    Returns (fixes made, problems left after them)."""
    from kortix_guard.manifest.fix import apply_fixes

    display = display or str(path)
    source = Source(path, display)
    if source.problem is not None:
        return [], [source.problem]
    fixes, text = apply_fixes(source)
    if not fixes:
        return [], check_file(path, display)
    atomic_write(path, text.encode("utf-8"))
    return fixes, check_file(path, display)


def load(path: Path, display: str | None = None) -> Manifest:
    """The manifest for the commands that act on it; any error-severity problem stops them."""
    return _manifest(path, _judge(path, display or str(path)))


def _manifest(path: Path, verdict: dict) -> Manifest:
    if "error" in verdict:
        raise ProjectError(verdict["error"], hint=verdict["hint"])
    return from_values(path, verdict["values"])


def _judge(path: Path, display: str, text: str | None = None) -> dict:
    """One manifest's verdict, as plain data (names are public; no value is ever in it): its
    problems (line, col, code, message, fixable), and what the commands read from it (names,
    grants, settings as written) or, when it has errors, the message that stops them."""
    from kortix_guard.manifest.checks import Checker, grants_of

    source = Source(path, display, text)
    checker = Checker(source)
    problems = checker.run()
    first = find(path.parent) if path.name in FILE_NAMES else None
    if first is not None and first.name != path.name:
        problems.insert(0, Problem(display, 1, 1, "KG102",
                                   f"{first.name} sits beside this file: Kortix reads "
                                   f"{first.name} and ignores {path.name}"))
    verdict: dict = {"problems": [list(p[1:]) for p in problems]}
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors:
        listing = "\n".join("  " + p.as_text() for p in errors)
        verdict["error"] = f"{display} has {len(errors)} error(s):\n{listing}"
        verdict["hint"] = f"run `kortix-guard manifest check` and fix {display} first"
        return verdict
    data = source.data
    env = data.get("env") or {}
    guard_key = GUARD_KEY_YAML if source.format == "yaml" else GUARD_TABLE
    grants = grants_of(data) if checker.version > 1 else {}
    verdict["values"] = {
        "version": checker.version,
        "required": list(env.get("required", ())), "optional": list(env.get("optional", ())),
        "guard": dict(data.get(guard_key) or {}),
        "agents": {a: [g.kind, sorted(g.names), g.enabled] for a, g in grants.items()},
        "default_agent": data.get("default_agent") if checker.version > 1 else None}
    return verdict


def from_values(path: Path, values: dict) -> Manifest:
    from kortix_guard.manifest.model import Grant

    guard, folder = values["guard"], path.parent
    return Manifest(
        path, values["required"], values["optional"],
        GuardConfig(
            store=folder / guard.get("store", DEFAULT_STORE),
            baseline=folder / guard.get("baseline", DEFAULT_BASELINE),
            exclude=tuple(guard.get("exclude", ())),
            min_known_length=guard.get("min_known_length", DEFAULT_MIN_KNOWN_LENGTH),
            min_confidence=guard.get("min_confidence"),
            max_age_days=guard.get("max_age_days"),
            public_by_design=guard.get("public_by_design", True),
            allow_env=frozenset(guard.get("allow_env", ())),
        ),
        version=values.get("version", 1),
        agents={a: Grant(kind, frozenset(grant_names), enabled)
                for a, (kind, grant_names, enabled) in values.get("agents", {}).items()},
        default_agent=values.get("default_agent"))


def guard_of(data: bytes | None, name: str) -> dict:
    """kortix-guard's settings in a manifest's bytes as written (a base commit's, read
    without a work tree), {} when there are none or it does not parse: callers keep only
    what they need, and check its type. name: the manifest's file name (its syntax)."""
    if not data:
        return {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    source = Source(Path(name), name, text)
    if source.problem is not None or not isinstance(source.data, dict):
        return {}
    guard = source.data.get(GUARD_KEY_YAML if source.format == "yaml" else GUARD_TABLE)
    return guard if isinstance(guard, dict) else {}


def at_commit(repo, rev: str, prefix: str) -> tuple[str, dict]:
    """The manifest a commit holds in a folder (repository-relative prefix), as Kortix would
    find it there: its file name and its kortix-guard settings ({} when there is none)."""
    for name in FILE_NAMES:
        data = repo.file_at(rev, prefix + name)
        if data is not None:
            return name, guard_of(data, name)
    return "", {}


def base_store_path(root: Path):
    """For `check --base`: where a base commit's own manifest (whatever its file name and
    version) puts the store (repository-relative), since the head's manifest could move it
    anywhere. A function of (repository, base revision, the head store's path)."""
    import posixpath

    def at(repo, base: str, head_relative: str) -> str:
        prefix = repo.prefix(root)
        if prefix is None:
            return head_relative
        configured = at_commit(repo, base, prefix)[1].get("store")
        if not isinstance(configured, str):
            configured = DEFAULT_STORE
        return posixpath.normpath(prefix + configured)
    return at


def load_cached(path: Path, display: str | None = None) -> Manifest:
    """`load`, from the remembered verdict (`_verdict`)."""
    return _manifest(path, _verdict(path, display or str(path)))


def _verdict(path: Path, display: str) -> dict:
    """`_judge`, remembered per manifest content (and the file name, where it is shown, the
    manifests beside it, and the code that judges) in the user's cache folder: a commit hook
    and a command on a 10,000-name manifest read a JSON file instead of checking every
    rule, and a broken manifest fails the same way."""
    import hashlib
    import json

    text = read_text(path, what="manifest", display=display)
    beside = ",".join(p.name for p in path.parent.glob("kortix.*") if p.name in FILE_NAMES)
    key = hashlib.sha256(f"{_rules_stamp()}\0{path.name}\0{display}\0{beside}\0{text}"
                         .encode()).hexdigest()[:32]
    folder = private_cache("manifests")
    entry = folder / f"{key}.json" if folder is not None else None
    try:
        cached = json.loads(entry.read_text(encoding="utf-8")) if entry is not None else None
    except (OSError, ValueError):
        cached = None
    if not isinstance(cached, dict) or "problems" not in cached:
        cached = _judge(path, display, text)
        if entry is not None:
            store_private(entry, json.dumps(cached).encode("utf-8"))
    return cached


def _rules_stamp() -> str:
    """Changes whenever the code that judges a manifest does (an upgrade, an edit): the files
    that hold the rules, by size and modification time. Cheaper than the package metadata."""
    here = Path(__file__).parent
    stamps = []
    for part in (here / "checks.py", here / "__init__.py", here / "source.py",
                 here / "model.py", here.parent / "names.py", here.parent / "rules.py",
                 here.parent / "_yaml.py"):
        info = part.stat()
        stamps.append(f"{info.st_size}.{info.st_mtime_ns}")
    return ",".join(stamps)

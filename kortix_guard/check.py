"""`kortix-guard check`: every check on the project, one line each, one exit code."""
from __future__ import annotations

import enum
import json
import posixpath
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kortix_guard import errors, manifest
from kortix_guard._fs import MANIFEST_NAME, read_text
from kortix_guard._out import echo, github_summary
from kortix_guard.git import GitError, Repo
from kortix_guard.manifest.model import DEFAULT_STORE, Manifest
from kortix_guard.project import Project
from kortix_guard.repo_setup import HOOK_IDS, driver_program, gitattributes_lines
from kortix_guard.rules import Severity
from kortix_guard.scan.command import Mode, collect, in_ci
from kortix_guard.scan.model import Confidence
from kortix_guard.store import (
    chain,
    fileformat,
    history,
    key_opener,
    missing_store_hint,
    open_store,
    read_names,
    tracked,
)
from kortix_guard.store.crypto import is_key_text
from kortix_guard.store.fileformat import EntryMeta, parse_time
from kortix_guard.store.keys import Keyring


class Format(str, enum.Enum):
    TEXT = "text"
    JSON = "json"


@dataclass
class Result:
    name: str
    passed: bool
    summary: str
    details: list[str] = field(default_factory=list)  # failures, or warnings on a pass
    warn: bool = False  # passed, with something to do (exit 0; `--strict` makes it fail)

    @property
    def status(self) -> str:
        return "fail" if not self.passed else "warn" if self.warn else "pass"


@dataclass
class Context:
    project: Project
    all_files: bool
    require_key: bool
    min_confidence: Confidence | None = None  # the scanner's threshold
    base: str | None = None  # the revision a pull request merges into (the re-key chain check)
    manifest: Manifest | None = None  # once the manifest check loaded it


def check_manifest(ctx: Context) -> Result:

    path = ctx.project.require_manifest()
    display = ctx.project.display(path)
    problems = manifest.check_file(path, display)
    errs = [p for p in problems if p.severity is Severity.ERROR]
    details = [p.as_text() for p in problems]
    if errs:
        return Result("manifest", False, f"{display}: {len(errs)} error(s)", details)
    ctx.manifest = manifest.load(path, display)
    return Result("manifest", True, f"{display} is valid", details)


def check_store(ctx: Context) -> Result:

    if ctx.manifest is None:
        return Result("store", False, "not checked: the manifest has errors")
    store = ctx.project.store_path(ctx.manifest)
    display = ctx.project.display(store)
    keyring = Keyring(ctx.project.key_file)
    warnings: list[str] = []
    # Against the pull request's base first: most of it needs no key (a fork's CI has none).
    problems = _against_base(ctx, store, display, keyring, warnings)
    if not store.exists():
        if problems:
            return Result("store", False, f"{display}: no store, where the base branch has one",
                          problems)
        hint = missing_store_hint(store, display)
        if tracked(store):  # deleted by mistake: never start a new one
            return Result("store", False, f"{display}: missing from the work tree", [hint])
        return Result("store", not ctx.require_key, f"{display}: no store yet", [hint])
    try:
        opened = open_store(store, display, keyring=keyring)
    except errors.NoKey as e:
        if problems:
            return Result("store", False, _headline(display, problems,
                                                    "does not match the base branch's store"),
                          problems + [e.hint or ""])
        if not ctx.require_key:
            # e.message names what was tried (an identity, ~/.ssh keys), as inject does.
            return Result("store", True, f"{display}: not opened: {e.message}",
                          [*warnings, e.hint or "", "in CI, set KORTIX_GUARD_KEY"], warn=True)
        return Result("store", False, f"{display}: {e.message}", [e.hint] if e.hint else [])
    except errors.BadKey as e:
        return Result("store", False, f"{display}: {e.message}",
                      problems + ([e.hint] if e.hint else []))
    except errors.StoreError as e:
        return Result("store", False, f"{display}: the store does not open",
                      problems + [e.diagnostics()])
    sf = opened.file
    team = (f", version {sf.version}, generation {sf.generation}, {len(sf.recipients)} "
            f"recipient(s)" if sf.has_recipients else "")
    summary = (f"{display} opens and its MAC verifies ({len(sf.entries)} value(s){team}, key "
               f"from {opened.key_source})")
    if opened.stale:
        problems.insert(0, f"{display}: {opened.stale}")
    if problems:
        return Result("store", False, _headline(display, problems,
                                                "not the store or generation expected"), problems)
    if opened.pending:
        warnings.append(f"note: {opened.pending}")
    warnings += _value_warnings(sf, ctx.manifest.guard.max_age_days)
    return Result("store", True, summary, warnings, warn=bool(warnings))


def _value_warnings(sf, max_age_days: int | None) -> list[str]:
    """Values marked to rotate or carried by a merge, and values older than max_age_days."""
    from datetime import datetime, timedelta, timezone


    warnings = []
    for mark, to_do, why in (
            ("rotate", "rotate", "a removed recipient could read them; change each at its provider"),
            ("carried", "review", "carried by a merge from an older generation; `inject` and "
                                  "`run` refuse them until `kortix-guard secrets accept NAME`")):
        marked = [n for n, m in sf.meta.items() if mark in m.marks]
        if marked:
            warnings.append(f"warning: {len(marked)} value(s) to {to_do}: {', '.join(marked)} "
                            f"({why}), then `kortix-guard secrets set NAME=-`")
    if max_age_days is not None:
        limit = datetime.now(timezone.utc) - timedelta(days=max_age_days)
        old = [n for n, m in sf.meta.items() if parse_time(m.set_at) < limit]
        if old:
            warnings.append(f"warning: {len(old)} value(s) set more than {max_age_days} day(s) ago "
                            f"([guard] max_age_days): {', '.join(old)}; rotate them, then "
                            f"`kortix-guard secrets set NAME=-`")
    return warnings


def _against_base(ctx: Context, store: Path, display: str, keyring: Keyring,
                  warnings: list[str]) -> list[str]:
    """On a pull request (`--base`, or the base CI names), the head's store must be the base
    branch's, where the base's own manifest put it, or a verified descendant: the problems."""
    base = ctx.base or _ci_base()
    if base is None:
        return []
    try:
        repo, relative = Repo.holding(store)
        repo.resolve(base)
    except GitError:
        # Named with --base, a missing revision fails; guessed from CI's environment (a
        # shallow checkout), it is a warning with the fix.
        problem = (f"{BASE_MISSING} {base} is not in this clone, so the store cannot be "
                   f"compared with the base branch's; fetch it (actions/checkout with "
                   f"`fetch-depth: 0`)")
        if ctx.base:
            return [problem]
        warnings.append(f"warning: {problem}")
        return []
    base_relative = _base_store_path(repo, base, ctx.project.root, relative)
    data = repo.file_at(base, base_relative)
    if data is None:
        return []  # no store on the base branch: this change adds the first one
    label = f"{base}:{base_relative}"
    try:
        base_sf = fileformat.parse(data.decode("utf-8"), label, canonical=False)
    except (errors.StoreError, UnicodeDecodeError):
        return [f"the base branch's store ({label}) is not a readable store"]
    if base_relative != relative:
        return [f"against {base}: the store moved from {base_relative} (base branch) to "
                f"{relative}: a store at a new path is a new store to review; keep it where "
                f"the base branch has it"]
    if not store.exists():
        return [f"against {base}: the base branch has a store ({label}) and this change "
                f"removes it"]
    try:
        head = fileformat.read(store, display, canonical=False)
    except errors.StoreError as e:
        return [e.message]
    problems = []
    found = chain.against_base(head, base_sf, history=history(store),
                               open_key=key_opener(keyring, display))
    if found:
        problems.append(f"against {base}: {found}")
    added = sorted(n for n, m in head.meta.items() if "carried" in m.marks
                   and "carried" not in base_sf.meta.get(n, EntryMeta("")).marks)
    if added:
        problems.append(f"against {base}: this change carries {len(added)} value(s) from an older "
                        f"generation (a merge of a branch written before a re-key, e.g. by a "
                        f"removed recipient): {', '.join(added)}; review each, then `kortix-guard "
                        f"secrets accept NAME` or set it again")
    return problems


BASE_MISSING = "the base revision"


def _headline(display: str, problems: list[str], otherwise: str) -> str:
    """`--base nosuchrev` is a revision missing from the clone, not a store problem."""
    if problems[0].startswith(BASE_MISSING):
        return f"{display}: cannot be compared with the base branch"
    return f"{display}: {otherwise}"


def _base_store_path(repo: Repo, base: str, root: Path, relative: str) -> str:
    """Where the base branch's own kortix.toml puts the store (repository-relative): the
    head's manifest could move it anywhere."""
    prefix = repo.prefix(root)
    if prefix is None:
        return relative
    configured = manifest.guard_table(repo.file_at(base, prefix + MANIFEST_NAME)).get("store")
    if not isinstance(configured, str):
        configured = DEFAULT_STORE
    return posixpath.normpath(prefix + configured)


def _ci_base() -> str | None:
    """The base of the pull request CI is checking: on GitHub the base commit from the
    event payload (a name such as `origin/main` would resolve a tag of that name first), else
    the exact remote-tracking ref; GitLab's CI_MERGE_REQUEST_DIFF_BASE_SHA."""
    import os

    event = os.environ.get("GITHUB_EVENT_PATH")
    if event:
        try:
            with open(event, encoding="utf-8") as f:
                sha = json.load(f).get("pull_request", {}).get("base", {}).get("sha")
        except (OSError, ValueError, AttributeError):
            sha = None
        if isinstance(sha, str) and len(sha) == 40:
            return sha
    if os.environ.get("GITHUB_BASE_REF"):
        return f"refs/remotes/origin/{os.environ['GITHUB_BASE_REF']}"
    return os.environ.get("CI_MERGE_REQUEST_DIFF_BASE_SHA") or None


def check_required(ctx: Context) -> Result:

    if ctx.manifest is None:
        return Result("required secrets", False, "not checked: the manifest has errors")
    store = ctx.project.store_path(ctx.manifest)
    try:
        present = set(read_names(store, ctx.project.display(store)))
    except errors.Error as e:
        return Result("required secrets", False, e.message)
    missing = [n for n in ctx.manifest.required if n not in present]
    undeclared = sorted(present - set(ctx.manifest.declared))
    notes = [f"note: in the store, {note}" for note in ctx.manifest.undeclared_notes(undeclared)]
    if missing:
        return Result("required secrets", False, f"{len(missing)} required secret(s) missing",
                      [f"{n}: set it with `kortix-guard secrets set {n}=-`" for n in missing] + notes)
    n = len(ctx.manifest.required)
    return Result("required secrets", True, f"all {n} required secret(s) set", notes)


def check_secrets(ctx: Context) -> Result:

    mode = Mode.ALL_FILES if ctx.all_files else Mode.STAGED
    what = "in any file of the index" if ctx.all_files else "staged"
    result = collect(ctx.project, mode=mode, min_confidence=ctx.min_confidence)
    if result.findings:
        return Result("secrets", False, f"{len(result.findings)} secret(s) {what}",
                      [f.as_text() for f in result.findings])
    return Result("secrets", True, f"no secret {what}")


def check_hygiene(ctx: Context) -> Result:

    repo = Repo(ctx.project.cwd)
    failures, warnings = [], []
    for name in (".env", ".env.local"):
        if not repo.is_ignored(name):
            failures.append(f".gitignore: {name} is not ignored; add `.env` and `.env.*` "
                            f"(with `!.env.example`)")
            break
    for path, data in repo.small_index_blobs(limit=512):
        if is_key_text(data):
            failures.append(f"{path}: a kortix-guard key is tracked; `git rm --cached {path}` and "
                            f"rotate it (`kortix-guard key rotate`)")
    if ctx.manifest is not None:
        present = _attributes(repo.root / ".gitattributes")
        missing_lines = [line for line in gitattributes_lines(ctx.project, repo.root)
                         if line not in present]
        if missing_lines:
            failures.append(f".gitattributes: missing {', '.join(f'`{m}`' for m in missing_lines)} "
                            f"(run `kortix-guard init` to add them)")
        elif not in_ci():  # a CI runner never merges the store
            warnings += _driver_warnings(repo.config("merge.kortix-guard.driver"))
    hooks = _precommit_hooks(repo.root / ".pre-commit-config.yaml")
    if hooks is None:
        warnings.append("warning: .pre-commit-config.yaml is not valid YAML: `pre-commit "
                        "validate-config` says where")
    else:
        missing = [h for h in HOOK_IDS if h not in hooks]
        if missing:
            warnings.append(f"warning: .pre-commit-config.yaml does not run {', '.join(missing)}")
    if failures:
        return Result("git hygiene", False, f"{len(failures)} problem(s)", failures + warnings)
    return Result("git hygiene", True, "ignores .env files, tracks no key, store merges by name",
                  warnings, warn=bool(warnings))


def _precommit_hooks(path: Path) -> set[str] | None:
    """The hook ids a pre-commit config runs, read as YAML (a quoted `id:` counts, a
    commented-out one does not); set() when there is no config, None when it does not parse."""
    if not path.exists():
        return set()
    import yaml

    try:
        config = yaml.safe_load(read_text(path, what="pre-commit config"))
    except yaml.YAMLError:
        return None
    repos = config.get("repos") if isinstance(config, dict) else None
    return {str(hook.get("id")) for repo in (repos if isinstance(repos, list) else [])
            if isinstance(repo, dict) for hook in (repo.get("hooks") or [])
            if isinstance(hook, dict)}


def _driver_warnings(driver: str | None) -> list[str]:
    """What is wrong with the configured merge driver: each clone needs one (git config is not
    cloned), and one that cannot start loses the other branch's values without a word."""
    if driver is None:
        return ["warning: git config has no merge.kortix-guard.driver (git config is not cloned; "
                "each clone runs `kortix-guard init` once): run `kortix-guard init`"]
    program = driver_program(driver)
    if program is None and "merge-store" in driver:
        return ["warning: the merge driver runs kortix-guard from PATH, which a GUI client or an "
                "IDE may not have (git then keeps one side without a conflict): run "
                "`kortix-guard init` to name it by its path"]
    if program is not None and not Path(program).exists():
        return [f"warning: the merge driver's program {program} no longer exists (a moved or "
                f"removed venv; merges of the store will conflict): run `kortix-guard init`"]
    return []


def _attributes(path: Path) -> set[str]:
    """Every `pattern attribute` pair the file sets, one line setting several counted for each."""
    if not path.exists():
        return set()
    pairs: set[str] = set()
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split()
        pairs.update(f"{parts[0]} {attribute}" for attribute in parts[1:])
    return pairs


CHECKS: list[Callable[[Context], Result]] = [
    check_manifest, check_store, check_required, check_secrets, check_hygiene,
]


def run(project: Project, *, all_files: bool = False, require_key: bool = False,
        fmt: Format = Format.TEXT, min_confidence=None, strict: bool = False,
        base: str | None = None) -> int:
    project.require_manifest()  # not in a project: exit 2, nothing else to say
    ctx = Context(project, all_files, require_key, min_confidence, base=base)
    results = []
    for check in CHECKS:
        try:
            results.append(check(ctx))
        except errors.Error as e:
            results.append(Result(check.__name__.removeprefix("check_"), False, e.message))
    if fmt is Format.JSON:
        echo(json.dumps([{**asdict(r), "status": r.status} for r in results], indent=2))
    else:
        marks = {"pass": "✓", "warn": "⚠", "fail": "✗"}
        for r in results:
            echo(f"{marks[r.status]} {r.name}: {r.summary}")
            for detail in r.details:
                echo(f"    {detail}")
    rows = "".join(f"| {r.name} | {r.status} | {r.summary.replace('|', '&#124;')} |\n"
                   for r in results)
    github_summary(f"### kortix-guard check\n\n| check | status | summary |\n|---|---|---|\n"
                   f"{rows}\n")
    failed = [r.name for r in results if r.status == "fail" or strict and r.status == "warn"]
    warned = sum(r.status == "warn" for r in results)
    note = f", {warned} with warnings" + (" (--strict: failing)" if strict else "") if warned else ""
    echo(f"kortix-guard check: {sum(r.status != 'fail' for r in results)}/{len(results)} "
               f"passed{note}", err=True)
    return errors.PROBLEMS if failed else errors.CLEAN

"""`kortix-guard check`: every check on the project, one line each, one exit code."""
from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kortix_guard import errors, manifest
from kortix_guard._fs import read_text
from kortix_guard._out import echo, github_summary
from kortix_guard.ci import in_ci, pull_request_base
from kortix_guard.git import Repo
from kortix_guard.manifest.model import Manifest
from kortix_guard.project import Project
from kortix_guard.repo_setup import HOOK_IDS, driver_program, gitattributes_lines
from kortix_guard.rules import Severity
from kortix_guard.scan.command import Mode, collect
from kortix_guard.scan.model import Confidence
from kortix_guard.store import (
    BASE_MISSING,
    CURRENT,
    Allow,
    Keyring,
    against_base,
    is_key_text,
    missing_store_hint,
    open_trusted,
    parse_time,
    read_names,
    tracked,
)


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
    kortix: bool = False  # also compare the names with Kortix's Secrets Manager (`--kortix`)
    store_names: frozenset[str] | None = None  # once the store check read them


def check_manifest(ctx: Context) -> Result:

    path = ctx.project.require_manifest()
    display = ctx.project.display(path)
    problems = manifest.check_file(path, display)
    errs = [p for p in problems if p.severity is Severity.ERROR]
    details = [p.as_text() for p in problems]
    if errs:
        return Result("manifest", False, f"{display}: {len(errs)} error(s)", details)
    ctx.manifest = manifest.load_cached(path, display)
    return Result("manifest", True, f"{display} is valid", details)


def check_store(ctx: Context) -> Result:

    if ctx.manifest is None:
        return Result("store", False, "not checked: the manifest has errors")
    store = ctx.project.store_path(ctx.manifest)
    display = ctx.project.display(store)
    keyring = Keyring(ctx.project.key_file)
    warnings: list[str] = []
    # Against the pull request's base first: most of it needs no key (a fork's CI has none).
    problems: list[str] = []
    base = ctx.base or pull_request_base()
    if base is not None:
        compared = against_base(store, display, base, keyring=keyring, named=bool(ctx.base),
                                base_store_path=manifest.base_store_path(ctx.project.root))
        problems, warnings = compared.problems, compared.warnings
    if not store.exists():
        if problems:
            return Result("store", False, f"{display}: no store, where the base branch has one",
                          problems)
        hint = missing_store_hint(store, display)
        if tracked(store):  # deleted by mistake: never start a new one
            return Result("store", False, f"{display}: missing from the work tree", [hint])
        return Result("store", not ctx.require_key, f"{display}: no store yet", [hint])
    try:
        opened, verdict = open_trusted(ctx.project, ctx.manifest, keyring=keyring,
                                       allow=Allow(stale=True), nothing="not checked further")
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
        return Result("store", False, f"{display}: the store does not open, or is not the one "
                                      f"this machine expects", problems + [e.diagnostics()])
    sf = opened.file
    ctx.store_names = frozenset(sf.entries)
    team = (f", version {sf.version}, generation {sf.generation}"
            + (f", revision {sf.revision}" if sf.has_revision else "")
            + f", {len(sf.recipients)} recipient(s)" if sf.has_recipients else "")
    summary = (f"{display} opens and its MAC verifies ({len(sf.entries)} value(s){team}, key "
               f"from {opened.key_source})")
    if verdict.stale:
        problems.insert(0, f"{verdict.stale} (next: {verdict.stale_hint})")
    if problems:
        return Result("store", False, _headline(display, problems,
                                                "not the store or generation expected"), problems)
    if verdict.pending:
        warnings.append(f"note: {verdict.pending}")
    if sf.has_recipients and not sf.has_revision:
        warnings.append(f"note: {display} is version {sf.version}: a copy of an older write "
                        f"within a generation is not recognised (no revision); `kortix-guard "
                        f"store upgrade` makes it version {CURRENT} once every teammate and CI "
                        f"run kortix-guard 0.4.0 or later")
    warnings += _value_warnings(verdict, ctx.manifest)
    return Result("store", True, summary, warnings, warn=bool(warnings))


def _value_warnings(verdict, manifest: Manifest) -> list[str]:
    """Values marked to rotate or carried by a merge, and values older than max_age_days."""
    from datetime import datetime, timedelta, timezone

    warnings = []
    for marked, to_do, why in (
            ([n for n, _ in verdict.rotate], "rotate",
             "a removed recipient could read them; change each at its provider"),
            (list(verdict.carried), "review",
             "carried by a merge from an older generation; `inject` and `run` refuse them "
             "until `kortix-guard secrets accept NAME`")):
        if marked:
            warnings.append(f"warning: {len(marked)} value(s) to {to_do}: {', '.join(marked)} "
                            f"({why}), then `kortix-guard secrets set NAME=-`")
    max_age_days = manifest.guard.max_age_days
    if max_age_days is not None:
        limit = datetime.now(timezone.utc) - timedelta(days=max_age_days)
        old = [n for n, set_at in verdict.set_at.items() if parse_time(set_at) < limit]
        if old:
            warnings.append(f"warning: {len(old)} value(s) set more than {max_age_days} day(s) ago "
                            f"({manifest.setting('max_age_days')}): {', '.join(old)}; rotate them, then "
                            f"`kortix-guard secrets set NAME=-`")
    return warnings


def _headline(display: str, problems: list[str], otherwise: str) -> str:
    """`--base nosuchrev` is a revision missing from the clone, not a store problem."""
    if problems[0].startswith(BASE_MISSING):
        return f"{display}: cannot be compared with the base branch"
    return f"{display}: {otherwise}"


def check_required(ctx: Context) -> Result:

    if ctx.manifest is None:
        return Result("required secrets", False, "not checked: the manifest has errors")
    store = ctx.project.store_path(ctx.manifest)
    try:
        present = ctx.store_names if ctx.store_names is not None else \
            frozenset(read_names(store, ctx.project.display(store)))
    except errors.Error as e:
        return Result("required secrets", False, e.message)
    missing = [n for n in ctx.manifest.required if n not in present]
    undeclared = sorted(n for n in present if not ctx.manifest.is_declared(n))
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
    return Result("secrets", True, f"no secret {what}", [_catalog_line()])


def _catalog_line() -> str:
    from kortix_guard.scan import catalog

    return catalog.status()


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
    repos = _precommit_repos(repo.root / ".pre-commit-config.yaml")
    if repos is None:
        warnings.append("warning: .pre-commit-config.yaml is not valid YAML: `pre-commit "
                        "validate-config` says where")
    else:
        hooks = {hook for entry in repos for hook in _hook_ids(entry)}
        missing = [h for h in HOOK_IDS if h not in hooks and f"{h}-system" not in hooks]
        if missing:
            warnings.append(f"warning: .pre-commit-config.yaml does not run {', '.join(missing)}")
        warnings += _system_hook_version(repos)
    if failures:
        return Result("git hygiene", False, f"{len(failures)} problem(s)", failures + warnings)
    return Result("git hygiene", True, "ignores .env files, tracks no key, store merges by name",
                  warnings, warn=bool(warnings))


def _precommit_repos(path: Path) -> list[dict] | None:
    """The `repos:` entries of a pre-commit config, read once as YAML (a quoted `id:`
    counts, a commented-out one does not); [] when there is no config, None when it does not
    parse."""
    if not path.exists():
        return []
    from kortix_guard import _yaml

    try:
        config = _yaml.safe_load(read_text(path, what="pre-commit config"))
    except _yaml.YamlError:
        return None
    repos = config.get("repos") if isinstance(config, dict) else None
    return [r for r in repos if isinstance(r, dict)] if isinstance(repos, list) else []


def _hook_ids(entry: dict) -> set[str]:
    return {str(hook.get("id")) for hook in entry.get("hooks") or [] if isinstance(hook, dict)}


def _system_hook_version(repos: list[dict]) -> list[str]:
    """The `-system` hooks run the kortix-guard on PATH, whatever the config's `rev` says: a
    warning when the two differ (gitleaks' system hook has the same gap)."""
    from kortix_guard._meta import version

    for entry in repos:
        rev = str(entry.get("rev", ""))
        if rev and any(i.startswith("kortix-") and i.endswith("-system") for i in _hook_ids(entry)):
            installed = version()
            if rev.removeprefix("v") != installed:
                return [f"warning: .pre-commit-config.yaml pins kortix-guard {rev}, but its "
                        f"-system hooks run the installed {installed}: upgrade one "
                        f"(`pipx upgrade kortix-guard`, or `pre-commit autoupdate`)"]
    return []


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


KORTIX_TIMEOUT = 10.0  # `check --kortix` waits this long for Kortix, then says so


def check_kortix(ctx: Context) -> Result:
    """The manifest's names against the names set in Kortix (never from a commit hook: a
    commit must not wait on the network)."""
    import os

    if os.environ.get("PRE_COMMIT") == "1":
        return Result("kortix", True, "not compared from a commit hook (run `kortix-guard "
                                      "check --kortix` by hand or in CI)", warn=True)
    if ctx.manifest is None:
        return Result("kortix", False, "not compared: the manifest has errors")
    from kortix_guard.kortix.push import difference

    found = difference(ctx.project, timeout=KORTIX_TIMEOUT)
    if found.failing:
        return Result("kortix", False, f"{len(found.required_missing)} required secret(s) not "
                                       f"set in {found.where}", found.lines())
    return Result("kortix", True, f"{found.in_step} declared name(s) set in {found.where}",
                  found.lines(), warn=bool(found.undeclared_there))


def run(project: Project, *, all_files: bool = False, require_key: bool = False,
        fmt: Format = Format.TEXT, min_confidence=None, strict: bool = False,
        base: str | None = None, kortix: bool = False) -> int:
    project.require_manifest()  # not in a project: exit 2, nothing else to say
    ctx = Context(project, all_files, require_key, min_confidence, base=base, kortix=kortix)
    results = []
    for check in (*CHECKS, check_kortix) if kortix else CHECKS:
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

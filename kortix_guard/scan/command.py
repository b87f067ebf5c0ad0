"""`kortix-guard scan`: choose the input, configure the layers, report, exit code."""
from __future__ import annotations

import enum
import itertools
import os
import posixpath
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kortix_guard import _dotenv, errors
from kortix_guard._dirs import private_cache
from kortix_guard._fs import confined
from kortix_guard._out import echo
from kortix_guard.ci import in_ci
from kortix_guard.git import BlobRef, EarlyWalk, GitCli, GitError, IndexReader, Repo, range_ends
from kortix_guard.manifest import at_commit, from_values, load_cached
from kortix_guard.manifest.model import DEFAULT_BASELINE, DEFAULT_MIN_KNOWN_LENGTH, setting
from kortix_guard.project import Project
from kortix_guard.scan import catalog, history, report
from kortix_guard.scan.context import is_public_name
from kortix_guard.scan.detectors.declared import DeclaredNames
from kortix_guard.scan.detectors.known import KnownValues
from kortix_guard.scan.engine import (
    PARALLEL_MIN_ITEMS,
    Item,
    Scanner,
    Workers,
    first_items,
    scan_all,
    worth_parallel,
)
from kortix_guard.scan.grouping import by_build_folder, one_per_secret
from kortix_guard.scan.matcher import engine_name
from kortix_guard.scan.model import Confidence, Finding
from kortix_guard.scan.report import Format
from kortix_guard.scan.sources import (
    at_each_path,
    disk_items,
    env_files,
    excluded,
    git_items,
    judge_early,
)
from kortix_guard.secret import SecretValue

if TYPE_CHECKING:
    from kortix_guard.scan.baseline import Baseline


class Mode(str, enum.Enum):
    DISK = "disk"
    STAGED = "staged"
    ALL_FILES = "all-files"
    HISTORY = "history"
    PUSH = "pre-push"  # the commits a push sends
    RANGE = "range"  # BASE..HEAD: the commits a pull request adds


def unscanned_fails(mode: Mode) -> bool:
    """Whether content that could not be scanned fails the scan (docs/scan.md, "Unscanned"):
    what is about to be committed or is checked as a whole must be scanned whole; a local
    history or push from a partial clone only warns (the server scans what it receives);
    a pull request's range fails in CI, where a shallow checkout is the usual cause."""
    if mode in (Mode.HISTORY, Mode.PUSH):
        return False
    if mode is Mode.RANGE:
        return in_ci()
    return True


class ScanResult:
    """What a scan found (not accepted by the baseline), what it noted, how many files."""

    __slots__ = ("findings", "notes", "root", "scanned")

    def __init__(self, *, scanned: int = 0, root: Path | None = None) -> None:
        self.findings: list = []  # list[Finding]
        self.notes: list[str] = []
        self.scanned = scanned
        self.root = root  # the repository's root (else the project's): SARIF's base


def collect(project: Project, paths: Sequence[Path] = (), *, mode: Mode = Mode.DISK,
            since: str | None = None, update_baseline: bool = False,
            min_confidence: Confidence | None = None,
            commit_range: str | None = None, progress: Progress | None = None,
            include_ignored: bool = False, read_catalog: bool = True,
            git: GitCli | None = None) -> ScanResult:
    """Scan and return what was found at or above the threshold (the option, else
    `[guard] min_confidence`, else medium); with update_baseline, accept it all instead.
    read_catalog: read the provider catalog's rules from its package when they are not
    cached (seconds, once per catalog version; the commit hook never does). git: for
    --staged, the command line already started on paths (the commit hook's, before its
    imports)."""

    early = _early_walk(project, commit_range) if mode is Mode.RANGE else None
    config = _Config.load(project)
    repo = git or _repo(project, required=mode is not Mode.DISK,
                        staged=paths if mode is Mode.STAGED else None)
    root = repo.root if repo is not None else project.root
    # What a change may not loosen for itself: excludes, baseline, threshold.
    base = _gate_base(repo, mode, commit_range, paths) if isinstance(repo, Repo) else None
    if base is not None:
        assert isinstance(repo, Repo)
        config = config.at_base(project, repo, base)
    threshold = min_confidence or config.min_confidence()
    items, count, total, found = _items(project, repo, root, paths, mode, since, config,
                                        commit_range, include_ignored=include_ignored,
                                        early=early)
    baseline_path = confined(config.baseline_path(root), project.root if config.manifest else root,
                             setting("baseline", config.manifest and config.manifest.path.name))
    current = None
    if config.base_baseline is not None:
        current = config.base_baseline
    elif update_baseline or os.path.lexists(baseline_path):
        from kortix_guard.scan import baseline as _baseline  # only when there is one

        current = _baseline.load(baseline_path, project.display(baseline_path))
        if update_baseline and current is None:
            current = _baseline.Baseline.new()

    def new_scanner() -> Scanner:
        cache = private_cache()
        return Scanner(known=_known_values(project, config, repo), declared=config.declared(),
                       baseline=current, fingerprints=update_baseline,
                       repo_root=str(root) if repo is not None else None,
                       min_confidence=threshold, cache_dir=cache,
                       extra=catalog.extra_detectors(cache, build=read_catalog),
                       gate=mode in (Mode.PUSH, Mode.RANGE),
                       public_by_design=config.public_by_design,
                       channels=mode in (Mode.PUSH, Mode.RANGE, Mode.HISTORY),
                       identity=_identity(repo))
    # git is walking a range (EarlyWalk): the scanner and its workers, forked now, get ready
    # meanwhile instead of after.
    scanner = new_scanner() if mode is Mode.RANGE else None
    workers = Workers.start(scanner) if scanner is not None else None
    ahead: list[Item] = []
    if found is not None:  # a git listing, read as git writes it: its first items tell
        ahead, items = first_items(items, PARALLEL_MIN_ITEMS, workers)
    if (not ahead if found is not None else count == 0) and not update_baseline:
        # Nothing to read (a clean index): the store's values and the declared names are
        # not even gathered.
        if workers is not None:
            workers.close()
        return ScanResult(scanned=0, root=root)
    scanner = scanner or new_scanner()
    result = ScanResult(root=root)
    result.notes += [f"note: {ref} names no commit (a dangling reference); skipped"
                     for ref in getattr(repo, "skipped_refs", ())]
    accepted: set[tuple[str, str, str]] = set()
    bar = (progress(count, _PROGRESS_LABEL[mode]) if progress is not None
           and mode in _PROGRESS_LABEL and (found is not None or count >= 50) else None)
    if bar and found is not None:
        listing = found

        def step(n: int) -> None:
            bar[0](n, listing.listed - scanner.untriggered, listing.done)
    elif bar:
        def step(n: int) -> None:
            bar[0](n, count, True)
    parallel = worth_parallel(len(ahead)) if found is not None else worth_parallel(count, total)
    scanned: list[tuple[Item, Finding]] = []
    try:
        for item, outcome in scan_all(scanner, scanner.with_triggers(items), parallel=parallel,
                                      progress=step if bar else None, workers=workers):
            if outcome.note:
                result.notes.append(outcome.note)
            for finding in outcome.findings:
                judge_early(item, finding, found)
                scanned.append((item, finding))
    finally:
        if bar:
            bar[1]()
    # Every path a blob is at is known once the listing has ended.
    result.scanned = found.listed if found is not None else count
    for item, finding in scanned:
        for path, each in at_each_path(item, finding, found):
            if update_baseline and each.fingerprint is not None:
                accepted.add((path, each.code, each.fingerprint))
            elif not scanner.accepted(path, each):
                result.findings.append(each)
    if mode in (Mode.HISTORY, Mode.RANGE, Mode.PUSH):
        result.findings = one_per_secret(result.findings)
    result.findings = by_build_folder(result.findings)
    if update_baseline:
        assert current is not None
        _baseline.write(baseline_path, _baseline.Baseline.of(current.salt, accepted))
        result.notes.append(f"{project.display(baseline_path)}: {len(accepted)} accepted "
                            f"finding(s)")
    return result


def _identity(repo: Repo | GitCli | None) -> str:
    """What keys the finding ids: this repository's own (its root commits), so the ids are
    the same on every clone and run. The commit hook's light git (GitCli) names none: one
    blob each, nothing to group."""
    return repo.identity() if isinstance(repo, Repo) else ""


def run(project: Project, paths: Sequence[Path], *, mode: Mode, since: str | None = None,
        fmt: Format = Format.TEXT, update_baseline: bool = False,
        min_confidence: Confidence | None = None, commit_range: str | None = None,
        progress: Progress | None = None, include_ignored: bool = False,
        read_catalog: bool = True, git: GitCli | None = None) -> int:
    if engine_name() == "re" and os.environ.get("KORTIX_GUARD_NO_HYPERSCAN") != "1":
        echo("kortix-guard: note: hyperscan is not installed for this platform; scanning "
             "with Python's re (same findings, slower)", err=True)
    result = collect(project, paths, mode=mode, since=since, update_baseline=update_baseline,
                     min_confidence=min_confidence, commit_range=commit_range,
                     progress=progress, include_ignored=include_ignored,
                     read_catalog=read_catalog, git=git)
    for note in result.notes:
        echo(f"kortix-guard: {note}", err=True)
    if update_baseline:
        return errors.CLEAN
    report.emit(result.findings, fmt, scanned=result.scanned, root=result.root, cwd=project.cwd,
                in_commits=mode in (Mode.PUSH, Mode.RANGE, Mode.HISTORY),
                manifest_name=project.manifest_path.name)
    secrets = [f for f in result.findings if not f.unscanned]
    unscanned = len(result.findings) - len(secrets)
    fails = unscanned and unscanned_fails(mode)
    if unscanned and not fails:
        echo(f"kortix-guard: warning: {unscanned} item(s) could not be scanned (listed above); "
             f"in --{mode.value} they do not fail the scan: fetch the whole history to scan "
             f"them", err=True)
    return errors.PROBLEMS if secrets or fails else errors.CLEAN


# A progress line for a long scan: given the number of items and what is scanned, it
# returns the function to call after each item (with how many are done, how many are listed
# so far, and whether the listing has ended) and the one to call at the end (or None: not
# on a terminal). The command line draws it.
Progress = Callable[[int, str],
                    "tuple[Callable[[int, int, bool], None], Callable[[], None]] | None"]
_PROGRESS_LABEL = {Mode.HISTORY: "scanning history", Mode.ALL_FILES: "scanning the index",
                   Mode.DISK: "scanning files", Mode.RANGE: "scanning the range"}


def _gate_base(repo: Repo, mode: Mode, commit_range: str | None, paths: Sequence[Path]) -> str | None:
    """The commit whose scan settings a gate mode uses: a range's base; for a push, the
    remote's default branch (refs/remotes/REMOTE/HEAD) when the clone knows it."""
    if mode is Mode.RANGE and commit_range:
        return range_ends(commit_range)[0]
    if mode is Mode.PUSH and paths:
        try:
            return repo.resolve(f"refs/remotes/{paths[0]}/HEAD")
        except GitError:
            return None
    return None


class _Config:
    """What the manifest says about scanning; defaults when there is no usable manifest."""

    def __init__(self, manifest=None) -> None:  # manifest: Manifest | None
        self.manifest = manifest
        # In gate modes: the base commit's baseline, or an empty one.
        self.base_baseline: Baseline | None = None

    def at_base(self, project: Project, repo: Repo, base: str) -> _Config:
        """This config with the [guard] settings that loosen a scan (exclude, baseline,
        min_confidence, public_by_design) read from the base commit, as the base's own
        manifest writes them: a pull request's scan obeys what was reviewed, not what the
        pull request says. Names stay the head's (more names find more)."""
        from kortix_guard.scan import baseline as _baseline

        prefix = repo.prefix(project.root)
        if prefix is None:
            return self
        guard = _guard_table(repo, base, prefix)
        names = self.manifest
        settings = {k: v for k, v in guard.items() if k in _BASE_KEYS}
        if names is not None:
            settings["store"] = os.path.relpath(names.guard.store, project.root)
        values = {"required": names.required if names else (),
                  "optional": names.optional if names else (), "guard": settings}
        at_base = _Config(from_values(project.manifest_path, values))
        relative = posixpath.normpath(prefix + str(guard.get("baseline", DEFAULT_BASELINE)))
        data = repo.file_at(base, relative)
        display = f"{base[:12]}:{relative}"
        at_base.base_baseline = (_baseline.parse(data.decode("utf-8", "replace"), display)
                                 if data is not None else _baseline.Baseline.new())
        return at_base

    @classmethod
    def load(cls, project: Project) -> _Config:
        if not project.manifest_path.exists():
            return cls()
        try:
            path = project.manifest_path
            return cls(load_cached(path, project.display(path)))
        except errors.Error as e:
            first = e.message.splitlines()[0].rstrip(":")
            echo(f"kortix-guard: warning: {first}; scanning without its names and "
                 f"kortix-guard settings (see `kortix-guard manifest check`)", err=True)
            return cls()

    @property
    def exclude(self) -> tuple[str, ...]:
        return self.manifest.guard.exclude if self.manifest else ()

    def baseline_path(self, root: Path) -> Path:
        return self.manifest.guard.baseline if self.manifest else root / DEFAULT_BASELINE

    def declared(self):
        return DeclaredNames(self.manifest.declared) if self.manifest else None

    def min_confidence(self) -> Confidence:
        if self.manifest is None or self.manifest.guard.min_confidence is None:
            return Confidence.MEDIUM
        return Confidence.parse(self.manifest.guard.min_confidence)

    @property
    def public_by_design(self) -> bool:
        return self.manifest.guard.public_by_design if self.manifest else True

    def min_known_length(self) -> int:
        return self.manifest.guard.min_known_length if self.manifest else DEFAULT_MIN_KNOWN_LENGTH


_BASE_KEYS = {"exclude": list, "baseline": str, "min_confidence": str, "public_by_design": bool}


def _guard_table(repo: Repo, base: str, prefix: str) -> dict:
    """The well-typed scan settings of the base commit's own manifest in the project's
    folder, whatever its file name and version (what the base commit's checks accepted);
    {} when there are none."""
    guard = at_commit(repo, base, prefix)[1]
    kept = {k: v for k, v in guard.items() if k in _BASE_KEYS and isinstance(v, _BASE_KEYS[k])}
    exclude = guard.get("exclude")
    if isinstance(exclude, list) and not all(isinstance(g, str) for g in exclude):
        kept.pop("exclude")
    if kept.get("min_confidence") not in (None, *(c.name.lower() for c in Confidence)):
        del kept["min_confidence"]
    return kept


def _early_walk(project: Project, commit_range: str | None) -> EarlyWalk | None:
    """git's walk of BASE..HEAD, started before anything else is read (`EarlyWalk`)."""
    if not commit_range:
        return None
    base, head = range_ends(commit_range)
    return EarlyWalk.of(project.cwd, head, base)


def _repo(project: Project, *, required: bool,
          staged: Sequence[Path] | None = None) -> Repo | GitCli | None:
    """pygit2's repository, or for --staged (the commit hook) the git command line, faster
    to start, on the files named (none: every staged change)."""
    try:
        if staged is not None:
            return GitCli(project.cwd, [str(p) for p in staged])
        return Repo(project.cwd)
    except GitError:
        if required:
            raise
        return None


def _known_values(project: Project, config: _Config, repo: IndexReader | None):
    """The store's values when a key is at hand, untracked or ignored `.env*` values, and the
    Kortix credentials in this process's environment."""
    values: dict[str, list] = {"KG300": [], "KG301": [], "KG302": _kortix_credentials()}
    if config.manifest is not None:
        store = project.store_path(config.manifest)
        if store.exists():
            values["KG300"] = _store_values(project, store)
    if repo is not None:
        for path in env_files(repo.root):
            relative = path.relative_to(repo.root).as_posix()
            if repo.is_tracked(relative):
                continue  # a tracked .env is itself a finding (KG340), not a source of truth
            label = f"value from {relative}"
            # A client-side variable's value ships to every browser: public, not known.
            values["KG301"] += [(label, v) for name, v in _dotenv.values(path)
                                if not (config.public_by_design and is_public_name(name))]
    known = KnownValues(values, min_length=config.min_known_length())
    return known if known else None


# Where Kortix puts its own credentials: a session's sandbox gets its token under these names
# (its other aliases, INTERNAL_SERVICE_KEY and TUNNEL_TOKEN, hold the same value as
# KORTIX_TOKEN); CI holds the token `kortix push` uses in KORTIX_CLI_TOKEN.
KORTIX_CREDENTIAL_VARIABLES = ("KORTIX_TOKEN", "KORTIX_CLI_TOKEN", "KORTIX_SANDBOX_TOKEN",
                               "KORTIX_LLM_API_KEY")


def _kortix_credentials() -> list:
    return [(f"the value of ${name} (a Kortix credential in this environment)",
             SecretValue(os.environ[name])) for name in KORTIX_CREDENTIAL_VARIABLES
            if os.environ.get(name, "").strip()]


def _store_values(project: Project, store: Path) -> list:
    from kortix_guard.store import open_store  # the store's code and cryptography: on use

    try:
        # Only opened and verified, to look for the values: what this machine remembers is
        # not consulted nor changed (and a commit hook imports no pygit2).
        opened = open_store(store, project.display(store), key_file=project.key_file)
    except errors.BadKey:
        return []  # no key here: the known-value layer reads only what this machine can open
    except errors.StoreError as e:
        echo(f"kortix-guard: warning: {e.message}; store values not scanned for", err=True)
        return []
    return [(f"the store's value of {name}", value) for name, value in opened.values().items()]


def _items(project: Project, repo: Repo | GitCli | None, root: Path, paths: Sequence[Path], mode: Mode,
           since: str | None, config: _Config, commit_range: str | None = None, *,
           include_ignored: bool = False, early: EarlyWalk | None = None):
    skip = tuple(config.exclude)
    if mode is Mode.DISK:
        missing = [p for p in paths if not os.path.lexists(project.cwd / p)]
        if missing:
            raise errors.InputError(f"{missing[0]}: no such file or folder",
                                    hint="check the path; `kortix-guard scan` with no PATHS "
                                         "scans the current folder")
        items = list(disk_items([project.cwd / p for p in paths] or [project.cwd], root=root,
                                cwd=project.cwd))
        items = [i for i in items if not excluded(i.path, skip)]
        if isinstance(repo, Repo) and not paths:
            # The work tree's own scan: an untracked file git ignores (a developer's .env) is
            # not going to git: left out, or with --include-ignored said so (no `git rm`).
            # Named PATHS are scanned as asked.
            ignored = {i.path for i in items
                       if repo.is_ignored(i.path) and not repo.is_tracked(i.path)}
            items = [i._replace(ignored=True) if i.path in ignored else i
                     for i in items if include_ignored or i.path not in ignored]
        return items, len(items), sum(_size(i.disk) for i in items), None
    if mode is Mode.STAGED:
        assert isinstance(repo, GitCli)  # the commit hook's, started on paths
        staged = repo.listed() if paths else repo.staged_blobs()
        staged = [r for r in staged if not excluded(r.path, skip)]
        contents = repo.read_all(r.id for r in staged)
        items = [Item(r.path, os.path.relpath(root / r.path, project.cwd), data=contents[r.id])
                 for r in staged]
        return items, len(items), sum(len(i.data or b"") for i in items), None
    assert isinstance(repo, Repo)  # every other git mode: _repo(required=True)
    refs: Iterable[BlobRef]
    known = None  # a range's or a push's boundary (history.KnownContent)
    if mode is Mode.HISTORY:
        refs = itertools.chain(history.history_blobs(repo, since),
                               repo.tag_messages(repo.tag_ref_targets())[0])
    elif mode is Mode.RANGE:
        assert commit_range is not None
        base, head = range_ends(commit_range)
        known = history.KnownContent()
        refs = history.commit_blobs(repo, [repo.resolve(head)], [repo.resolve(base)],
                                    known, early)
    elif mode is Mode.PUSH:
        from kortix_guard.scan.push import pre_push_range  # the push modes' own module

        remote = str(paths[0]) if paths else None  # git runs the hook with: remote, url
        pushed = pre_push_range(repo, sys.stdin, remote)
        known = history.KnownContent()
        refs = itertools.chain(
            history.commit_blobs(repo, pushed.include, pushed.exclude, known),
            repo.tag_messages(pushed.objects)[0])
    else:
        refs = repo.index_blobs()
    # The process that scans a blob reads it: on both cores, nothing large crosses a pipe.
    found = git_items(refs, skip, _shown(root, project.cwd), known)
    if mode is Mode.ALL_FILES:  # the index is read whole already: its count is known
        found.items = iter(list(found.items))
    return found.items, 0, None, found


def _shown(root: Path, cwd: Path) -> Callable[[str], str]:
    """How a repository path is displayed from cwd: itself when cwd is the root (the usual
    case, and a history holds tens of thousands of paths), else relative to cwd."""
    if os.path.realpath(root) == os.path.realpath(cwd):
        return lambda path: path if os.sep == "/" else path.replace("/", os.sep)
    return lambda path: os.path.relpath(root / path, cwd)


def _size(path: str | None) -> int:
    try:
        return os.path.getsize(path) if path else 0
    except OSError:
        return 0

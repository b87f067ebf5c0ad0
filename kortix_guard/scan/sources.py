"""What to read: files on disk, the git index, staged changes, or every blob in history."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kortix_guard.git import BlobRef
from kortix_guard.scan.engine import Item
from kortix_guard.scan.model import Finding, is_env_file

if TYPE_CHECKING:
    from kortix_guard.scan.history import KnownContent

_PRUNE = frozenset({".git", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache",
                    ".pytest_cache", ".hypothesis"})


def excluded(path: str, globs: Sequence[str]) -> bool:
    if not globs:
        return False
    import fnmatch

    return any(fnmatch.fnmatchcase(path, g) for g in globs)


_CHANNEL_LABEL = {"name": "file names", "message": "message", "tag": "message"}  # TEXT_CHANNELS


class GitItems:
    """What to scan of git's blobs and channels, as the listing yields them: each blob once,
    at its first path outside the excludes; `aliases` maps a blob id to the other paths that
    hold that blob (keyed by the blob, not by the path it is scanned at: one path holds many
    blobs in a history), so that excludes and the baseline apply per (path, blob), not per
    blob. `items` is read once; `aliases`, `listed` and `files` are whole when it ends."""

    def __init__(self, refs: Iterable[BlobRef], skip: Sequence[str],
                 shown: Callable[[str], str], known: KnownContent | None = None) -> None:
        """refs (git.BlobRef) as items; shown(path) is how a repository path is displayed;
        known: content refs may hold that is not new (`at_each_path` drops its findings)."""
        self.known = known
        self.aliases: dict[str, list[tuple[str, str, str | None]]] = {}
        self.listed = 0  # items so far
        self.files = 0  # of them, files and symlinks (not names or messages)
        self.done = False  # the listing has ended
        self.items: Iterator[Item] = self._items(refs, skip, shown)

    def _items(self, refs: Iterable[BlobRef], skip: Sequence[str],
               shown: Callable[[str], str]) -> Iterator[Item]:
        first: set[str] = set()  # the blobs already listed, each scanned at its first path
        for ref in refs:
            if ref.kind in _CHANNEL_LABEL:
                self.listed += 1
                yield Item(ref.path, f"{ref.path} ({_CHANNEL_LABEL[ref.kind]})", ref.commit,
                           data=ref.data or b"", kind=ref.kind)
                continue
            if excluded(ref.path, skip):
                continue
            if ref.id and not ref.missing and ref.id in first:
                self.aliases.setdefault(ref.id, []).append((ref.path, shown(ref.path), ref.commit))
                continue
            first.add(ref.id)
            self.listed += 1
            self.files += 1
            display = shown(ref.path) + (" (symlink target)" if ref.kind == "link" else "")
            yield Item(ref.path, display, ref.commit, blob=ref.id, missing=ref.missing,
                       kind=ref.kind)
        self.done = True


def git_items(refs: Iterable[BlobRef], skip: Sequence[str], shown: Callable[[str], str],
              known: KnownContent | None = None) -> GitItems:
    """refs (git.BlobRef) as items, as they come; shown(path) is how a repository path is
    displayed; known: what of them is not new (`history.commit_blobs`)."""
    return GitItems(refs, skip, shown, known)


def at_each_path(item: Item, finding: Finding, found: GitItems | None
                 ) -> Iterator[tuple[str, Finding]]:
    """(path, finding) at the item's own path, then at each other path that holds the same
    blob, in the commit that put it there (GitItems.aliases); never where the content is
    not new (GitItems.known)."""
    known = found.known if found is not None else None
    if known is None or not _held(item, item.path, finding, known):
        yield item.path, finding
    if found is None or not item.blob:
        return
    for path, display, commit in found.aliases.get(item.blob, ()):
        if known is None or not _held(item, path, finding, known):
            yield path, finding._replace(path=display, commit=commit or finding.commit)


def judge_early(item: Item, finding: Finding, found: GitItems | None) -> None:
    """Ask the boundary (GitItems.known) about a finding's own path as it comes, while the
    workers still scan, rather than about all of them once the scan has ended (its trees
    are read then: 12 ms on git/git's range). `at_each_path` gives the answer."""
    if found is not None and found.known is not None:
        _held(item, item.path, finding, found.known)


def _held(item: Item, path: str, finding: Finding, known: KnownContent) -> bool:
    """Whether known already holds what finding is in: the blob at path, or for the file
    names a commit adds, the name on the finding's line."""
    if item.kind == "name":
        names = (item.data or b"").split(b"\n")
        line = finding.line - 1
        return 0 <= line < len(names) and known.holds_name(
            names[line].decode("utf-8", "surrogateescape"))
    return item.blob is not None and item.kind in ("file", "link") and known.holds(path,
                                                                                   item.blob)


def disk_items(paths: Sequence[Path], *, root: Path, cwd: Path) -> Iterator[Item]:
    """Regular files under paths, in sorted order; symlinks not followed, .git and tool
    caches not entered. Paths are handled as strings and each entry's type comes from the
    directory listing: a tree of tens of thousands of small files spends its time reading
    them, not building Path objects."""
    name_of = _Names(str(root), str(cwd))
    for start in paths:
        top = os.path.abspath(start)
        if os.path.islink(top):
            continue
        if os.path.isfile(top):
            yield name_of.item(top)
            continue
        yield from _walk(top, name_of)


def _walk(folder: str, name_of: _Names) -> Iterator[Item]:
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError:
        return
    subfolders = []
    for entry in entries:
        if entry.is_symlink():
            continue
        if entry.is_dir():
            if entry.name not in _PRUNE:
                subfolders.append(entry.path)
        elif entry.is_file():
            yield name_of.item(entry.path)
    for path in subfolders:
        yield from _walk(path, name_of)


class _Names:
    """An absolute file path as the project's key (relative to the root, with '/') and as
    the user types it (relative to where they stand)."""

    def __init__(self, root: str, cwd: str) -> None:
        self.root = root.rstrip(os.sep) + os.sep
        self.cwd = cwd.rstrip(os.sep) + os.sep

    def item(self, absolute: str) -> Item:
        key = absolute[len(self.root):] if absolute.startswith(self.root) else absolute
        shown = (absolute[len(self.cwd):] if absolute.startswith(self.cwd)
                 else os.path.relpath(absolute, self.cwd))
        return Item(key.replace(os.sep, "/"), shown, disk=absolute)


def env_files(root: Path) -> Iterator[Path]:
    """The work tree's `.env*` files, examples left out."""
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _PRUNE]
        for name in names:
            if is_env_file(name):
                yield Path(folder) / name

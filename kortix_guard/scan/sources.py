"""What to read: files on disk, the git index, staged changes, or every blob in history."""
from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from kortix_guard.scan.engine import Item

_PRUNE = frozenset({".git", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache",
                    ".pytest_cache", ".hypothesis"})


def excluded(path: str, globs: Sequence[str]) -> bool:
    if not globs:
        return False
    import fnmatch

    return any(fnmatch.fnmatchcase(path, g) for g in globs)


def disk_items(paths: Sequence[Path], *, root: Path, cwd: Path) -> Iterator[Item]:
    """Files under paths, symlinks not followed, .git and tool caches not entered."""
    for start in paths:
        if start.is_symlink():
            continue
        if start.is_file():
            yield _disk_item(start, root, cwd)
            continue
        for folder, dirs, names in os.walk(start):
            dirs[:] = sorted(d for d in dirs if d not in _PRUNE
                             and not os.path.islink(os.path.join(folder, d)))
            for name in sorted(names):
                path = Path(folder) / name
                if not path.is_symlink() and path.is_file():
                    yield _disk_item(path, root, cwd)


def _disk_item(path: Path, root: Path, cwd: Path) -> Item:
    absolute = path.absolute()
    try:
        key = absolute.relative_to(root).as_posix()
    except ValueError:
        key = absolute.as_posix()
    return Item(key, os.path.relpath(absolute, cwd), disk=str(absolute))


def env_files(root: Path) -> Iterator[Path]:
    """The work tree's `.env*` files, examples left out."""
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _PRUNE]
        for name in names:
            if (name == ".env" or name.startswith(".env.")) and not name.endswith(
                    (".example", ".sample", ".template", ".dist", ".defaults")):
                yield Path(folder) / name

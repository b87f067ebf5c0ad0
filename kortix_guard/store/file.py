"""The store's on-disk format (docs/store.md), read without a key; locked atomic writes.

The file is committed, so it must diff well: one line per secret, sorted by name, and a value
that did not change keeps its sealed text, so its line stays byte-identical.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets as _random
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from kortix_guard import names
from kortix_guard._fs import atomic_write, read_text
from kortix_guard.errors import InputError, StoreError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

VERSION = 1
HEADER = """\
# kortix-guard encrypted store: names are public, values are sealed with AES-256-GCM.
# Change it only with `kortix-guard secrets set|rm` or `env push`; see docs/store.md.
"""
_HEX = {"store_id": 32, "key_id": 16, "mac": 64}
_TOKEN_RE = re.compile(r"kg1:[A-Za-z0-9_-]+")
MAX_STORE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class StoreFile:
    """What the file says. Entries map a name to its sealed value (never plaintext)."""

    store_id: str
    key_id: str
    mac: str
    entries: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", MappingProxyType(dict(sorted(self.entries.items()))))

    def mac_header(self) -> tuple[str, ...]:
        return (f"kortix-guard store v{VERSION}", self.store_id, self.key_id)

    def render(self) -> bytes:
        lines = [HEADER, f"version = {VERSION}\n", f'store_id = "{self.store_id}"\n',
                 f'key_id = "{self.key_id}"\n', f'mac = "{self.mac}"\n', "\n[secrets]\n"]
        lines += [f'{name} = "{token}"\n' for name, token in self.entries.items()]
        return "".join(lines).encode("ascii")


def new_store_id() -> str:
    return _random.token_hex(16)


def read(path: Path, display: str | None = None, *, canonical: bool = True) -> StoreFile:
    """Parse and validate the file's shape (no key needed). StoreError on anything odd.

    The store is accepted only byte for byte as kortix-guard writes it: the MAC covers the
    parsed entries, so anything else in the file (a comment holding a token, reordered or
    re-quoted lines, CRLF line ends) would otherwise pass unseen. `secrets reseal` alone
    reads a non-canonical store (a hand-merged file) and writes it back canonical."""
    display = display or str(path)
    try:
        text = read_text(path, what="store", display=display, limit=MAX_STORE_BYTES)
    except InputError as e:  # binary data, not UTF-8, too large: a damaged file
        raise StoreError(e.message, hint=e.hint or f"restore it with `git checkout -- {display}`") \
            from None
    return parse(text, display, canonical=canonical)


def parse(text: str, display: str, *, canonical: bool = True) -> StoreFile:
    """The store file's text (from disk, or from a commit) as a StoreFile."""
    if "\n<<<<<<< " in "\n" + text:
        raise StoreError(f"{display}: holds git conflict markers",
                         hint="set up the merge driver (docs/store.md), or resolve by hand and "
                              "run `kortix-guard secrets reseal`")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise StoreError(f"{display}: not a valid store ({e})",
                         hint=f"restore it with `git checkout -- {display}`") from None
    version = data.get("version")
    if type(version) is int and version > VERSION:
        raise StoreError(f"{display}: store version {version}; this kortix-guard reads "
                         f"version {VERSION}", hint="upgrade kortix-guard")
    if type(version) is not int or version != VERSION:
        raise StoreError(f"{display}: not a kortix-guard store (its `version` is "
                         f"{'missing' if version is None else 'not ' + str(VERSION)})",
                         hint=f"restore it with `git checkout -- {display}`")
    for key, length in _HEX.items():
        value = data.get(key)
        if not (isinstance(value, str) and re.fullmatch(f"[0-9a-f]{{{length}}}", value)):
            raise StoreError(f"{display}: `{key}` is missing or malformed")
    entries = data.get("secrets", {})
    if not isinstance(entries, dict):
        raise StoreError(f"{display}: [secrets] must be a table")
    for name, token in entries.items():
        if not names.is_valid(name) or not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
            raise StoreError(f"{display}: the entry for {name!r} is malformed")
    unknown = set(data) - {"version", "secrets", *_HEX}
    if unknown:
        raise StoreError(f"{display}: unknown key(s) {', '.join(sorted(unknown))}")
    sf = StoreFile(data["store_id"], data["key_id"], data["mac"], entries)
    if canonical and sf.render() != text.encode("utf-8"):
        raise StoreError(f"{display}: not byte for byte as kortix-guard writes it (a changed "
                         f"comment, added text, line ends, order or quoting)",
                         hint=f"restore it with `git checkout -- {display}`; if you merged it by "
                              f"hand on purpose, run `kortix-guard secrets reseal`")
    return sf


def write(path: Path, store: StoreFile) -> None:
    atomic_write(path, store.render())


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the store's lock. The lock file lives in a per-user folder (0700, owned by you),
    not beside the store (nothing new appears in the repository) and not in the shared temp
    folder (where another user could create it first, or plant a symlink)."""
    from filelock import FileLock

    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:24]
    with FileLock(lock_dir() / f"store-{digest}.lock", timeout=60):
        yield


def lock_dir() -> Path:
    from kortix_guard._dirs import cache_dir

    folder = cache_dir() / "locks"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if sys.platform != "win32":
        info = folder.stat()
        if info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise StoreError(f"{folder}: the lock folder must be yours alone (owner uid "
                             f"{info.st_uid}, mode {info.st_mode & 0o777:04o})",
                             hint=f"run `chmod 700 {folder}` (or remove it if it is not yours)")
    return folder

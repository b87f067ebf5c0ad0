"""The encrypted store: open it with a key, change it in a locked transaction.

Other capabilities use only what this module exports (`open_store`, `read_names`, ...).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kortix_guard.errors import StoreError
from kortix_guard.secret import SecretValue
from kortix_guard.store import file as store_file
from kortix_guard.store.file import StoreFile

__all__ = ["Draft", "OpenedStore", "StoreFile", "create", "create_with_new_key",
           "open_store", "read_names", "rekey", "transaction"]


def read_names(path: Path, display: str | None = None) -> list[str]:
    """The names in the store, needing no key; [] when there is no store yet."""
    if not path.exists():
        return []
    return list(store_file.read(path, display).entries)


@dataclass
class OpenedStore:
    path: Path
    file: StoreFile
    key: object  # crypto.Key
    sealer: object  # crypto.Sealer
    key_source: str

    def value(self, name: str) -> SecretValue:
        return self.sealer.open(name, self.file.entries[name])  # type: ignore[attr-defined]

    def values(self) -> dict[str, SecretValue]:
        return {name: self.value(name) for name in self.file.entries}


def _seal_file(sealer, store_id: str, key_id: str, entries: dict[str, str]) -> StoreFile:
    unsigned = StoreFile(store_id, key_id, "0" * 64, entries)
    return StoreFile(store_id, key_id, sealer.mac(unsigned.mac_header(), unsigned.entries.items()),
                     entries)


def open_store(path: Path, display: str | None = None, *, key_file: Path | None = None,
               verify: bool = True) -> OpenedStore:
    """Read the store, find its key, and check the MAC over every entry (`verify=False`, for
    `secrets reseal` alone, also accepts a store not in its canonical form)."""
    from kortix_guard.store import crypto, keys

    display = display or str(path)
    if not path.exists():
        raise StoreError(f"{display}: no store here", hint=_missing_store_hint(path, display))
    sf = store_file.read(path, display, canonical=verify)
    found = keys.find_key(sf.store_id, sf.key_id, key_file=key_file, display=display)
    sealer = found.key.sealer(sf.store_id)
    if verify and not crypto.verify_mac(sf.mac, sealer.mac(sf.mac_header(), sf.entries.items())):
        raise StoreError(f"{display}: the store's MAC does not verify: an entry was added, "
                         f"removed, swapped or changed outside kortix-guard",
                         hint="restore it from git; if you merged it by hand on purpose, "
                              "run `kortix-guard secrets reseal`")
    return OpenedStore(path, sf, found.key, sealer, found.source)


def _missing_store_hint(path: Path, display: str) -> str:
    """A store git still tracks was deleted by mistake: restore it, never start a new one."""
    from kortix_guard.git import GitError, Repo

    try:
        repo = Repo(path.parent if path.parent.exists() else Path.cwd())
        tracked = repo.head_file(path.absolute().relative_to(repo.root).as_posix()) is not None
    except (GitError, ValueError):
        tracked = False
    if tracked:
        return f"git still has it: restore it with `git checkout -- {display}`"
    return "create one with `kortix-guard init` (or `kortix-guard key new`)"


@dataclass
class Draft:
    """Changes to an opened store; unchanged entries keep their sealed text byte for byte."""

    opened: OpenedStore
    entries: dict[str, str] = field(default_factory=dict)
    changed: bool = False

    def __post_init__(self) -> None:
        self.entries = dict(self.opened.file.entries)

    def set(self, name: str, value: SecretValue) -> None:
        self.entries[name] = self.opened.sealer.seal(name, value)  # type: ignore[attr-defined]
        self.changed = True

    def remove(self, name: str) -> None:
        del self.entries[name]
        self.changed = True

    def result(self) -> StoreFile:
        sf = self.opened.file
        return _seal_file(self.opened.sealer, sf.store_id, sf.key_id, self.entries)


@contextlib.contextmanager
def transaction(path: Path, display: str | None = None, *,
                key_file: Path | None = None, force_write: bool = False) -> Iterator[Draft]:
    """Open under the lock, let the caller change the draft, write it atomically at the end
    (only when something changed, or with force_write, which re-computes the MAC)."""
    with store_file.locked(path):
        draft = Draft(open_store(path, display, key_file=key_file, verify=not force_write))
        yield draft
        if draft.changed or force_write:
            store_file.write(path, draft.result())


def create(path: Path, key, display: str | None = None) -> StoreFile:  # key: crypto.Key
    """Write a new, empty store sealed for key; refuses to replace an existing one."""
    with store_file.locked(path):
        if path.exists():
            raise StoreError(f"{display or path}: a store exists already",
                             hint="to change its key, run `kortix-guard key rotate`")
        store_id = store_file.new_store_id()
        sf = _seal_file(key.sealer(store_id), store_id, key.id, {})
        store_file.write(path, sf)
        return sf


def create_with_new_key(path: Path, display: str | None = None) -> tuple[StoreFile, str, Path]:
    """A new key, saved as the per-user key, and the empty store sealed for it.

    Returns the store, the key id and where the key was saved (never the key itself)."""
    from kortix_guard.store import keys
    from kortix_guard.store.crypto import Key

    key = Key.generate()
    sf = create(path, key, display)
    return sf, key.id, keys.save_user_key(key, sf.store_id)


def rekey(path: Path, new_key, display: str | None = None, *,
          key_file: Path | None = None) -> StoreFile:
    """Re-seal every value under new_key in one atomic replace of the file."""
    with store_file.locked(path):
        opened = open_store(path, display, key_file=key_file)
        sealer = new_key.sealer(opened.file.store_id)
        entries = {name: sealer.seal(name, opened.value(name)) for name in opened.file.entries}
        sf = _seal_file(sealer, opened.file.store_id, new_key.id, entries)
        store_file.write(path, sf)
        return sf

"""Where a store's key comes from, in order: --key-file, KORTIX_GUARD_KEY (CI),
KORTIX_GUARD_KEY_FILE, then the per-user key file named by the store id. Never argv."""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kortix_guard._fs import atomic_write, read_text
from kortix_guard.errors import BadKey
from kortix_guard.store.crypto import Key

ENV_KEY = "KORTIX_GUARD_KEY"
ENV_KEY_FILE = "KORTIX_GUARD_KEY_FILE"
# Every variable that can carry a key or point to one: never handed to a child process.
IDENTITY_VARIABLES = (ENV_KEY, ENV_KEY_FILE)
# A rotation writes the next key before the store and keeps the previous one after it, so a
# crash at any moment leaves a per-user key that opens the store.
_USER_KEY_SUFFIXES = (".key", ".key.next", ".key.old")


@dataclass(frozen=True)
class FoundKey:
    key: Key
    source: str  # where it came from, for messages: never the key itself


def user_key_dir() -> Path:
    from kortix_guard._dirs import config_dir

    return config_dir() / "keys"


def user_key_path(store_id: str, suffix: str = ".key") -> Path:
    return user_key_dir() / f"{store_id}{suffix}"


def save_user_key(key: Key, store_id: str, suffix: str = ".key") -> Path:
    path = user_key_path(store_id, suffix)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(path, (key.text() + "\n").encode("ascii"), mode=0o600)
    return path


def _from_file(path: Path, source: str) -> Key:
    return Key.from_text(read_text(path, what="key file", limit=4096), source=source)


def _candidates(store_id: str, key_file: Path | None) -> Iterator[tuple[str, Key]]:
    if key_file is not None:
        yield "--key-file", _from_file(key_file, f"--key-file {key_file}")
        return
    if os.environ.get(ENV_KEY):
        yield ENV_KEY, Key.from_text(os.environ[ENV_KEY], source=ENV_KEY)
        return
    if os.environ.get(ENV_KEY_FILE):
        path = Path(os.environ[ENV_KEY_FILE])
        yield ENV_KEY_FILE, _from_file(path, f"{ENV_KEY_FILE} ({path})")
        return
    for suffix in _USER_KEY_SUFFIXES:
        path = user_key_path(store_id, suffix)
        if path.exists():
            yield str(path), _from_file(path, str(path))


def find_key(store_id: str, key_id: str, *, key_file: Path | None = None) -> FoundKey:
    """The key that opens the store with these ids, or BadKey saying what was tried."""
    tried: list[tuple[str, str]] = []
    for source, key in _candidates(store_id, key_file):
        if key.id == key_id:
            return FoundKey(key, source)
        tried.append((source, key.id))
    if tried:
        source, other_id = tried[0]
        raise BadKey(f"wrong key: the key from {source} (key id {other_id}) does not open this "
                     f"store, which needs key id {key_id}",
                     hint="was the store re-keyed (`key rotate`)? get the current key from a "
                          "teammate and run `kortix-guard key import`")
    raise BadKey("no key for this store",
                 hint=f"set {ENV_KEY} (CI), pass --key-file, or run `kortix-guard key import` "
                      f"with the key a teammate exported")

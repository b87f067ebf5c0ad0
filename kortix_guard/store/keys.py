"""Where a store's key comes from, in order: --key-file, KORTIX_GUARD_KEY (CI),
KORTIX_GUARD_KEY_FILE, then the per-user key file named by the store id and key id. Never
argv.

Retirement: `key rotate` records on this machine that (store id, old key id) was replaced,
and deletes the old key. A store that needs a retired key was reverted or is stale: it is
refused, whichever source offers that key. Store ids are chosen by whoever writes a store,
so retirement is recorded per (store id, key id) and only by a rotation done here; `key
import` never retires or replaces a key of another key id.
"""
from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kortix_guard._fs import atomic_write, read_text
from kortix_guard.errors import BadKey, StoreError
from kortix_guard.store.crypto import Key

ENV_KEY = "KORTIX_GUARD_KEY"
ENV_KEY_FILE = "KORTIX_GUARD_KEY_FILE"
# Every variable that can carry a key or point to one: never handed to a child process.
IDENTITY_VARIABLES = (ENV_KEY, ENV_KEY_FILE)
# A rotation writes the next key before the store, so a crash at any moment before the store
# is durably replaced leaves a per-user key that opens it; `.next` is promoted right after.
KEY_SUFFIX, NEXT_SUFFIX, RETIRED_SUFFIX = ".key", ".key.next", ".retired"
STALE = ("this store was re-keyed since (a `key rotate` on this machine retired key id {kid}): "
         "it was reverted or is stale")
STALE_HINT = ("get the current store (`git log -- {store}`, `git revert` the revert), or "
              "`git pull` the rotation; values set under the old key must be set again")


@dataclass(frozen=True)
class FoundKey:
    key: Key
    source: str  # where it came from, for messages: never the key itself


def user_key_dir() -> Path:
    from kortix_guard._dirs import config_dir

    return config_dir() / "keys"


def user_key_path(store_id: str, key_id: str, suffix: str = KEY_SUFFIX) -> Path:
    return user_key_dir() / f"{store_id}.{key_id}{suffix}"


def _legacy_paths(store_id: str) -> list[Path]:
    """kortix-guard 0.1 named a per-user key by its store id alone."""
    return [user_key_dir() / f"{store_id}{suffix}" for suffix in (".key", ".key.next", ".key.old")]


def save_user_key(key: Key, store_id: str, suffix: str = KEY_SUFFIX) -> Path:
    path = user_key_path(store_id, key.id, suffix)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(path, (key.text() + "\n").encode("ascii"), mode=0o600)
    return path


def is_retired(store_id: str, key_id: str) -> bool:
    return user_key_path(store_id, key_id, RETIRED_SUFFIX).exists()


def retire(store_id: str, key_id: str) -> None:
    """Record that this key id no longer opens this store, then delete its material."""
    marker = user_key_path(store_id, key_id, RETIRED_SUFFIX)
    marker.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(marker, b"retired by `kortix-guard key rotate`\n", mode=0o600)
    for path in (user_key_path(store_id, key_id), user_key_path(store_id, key_id, NEXT_SUFFIX),
                 *_legacy_paths(store_id)):
        if path.exists() and (path.suffix == ".old" or _key_id_of(path) in (key_id, None)):
            path.unlink()


def _key_id_of(path: Path) -> str | None:
    try:
        return Key.from_text(path.read_text(), source=str(path)).id
    except (OSError, UnicodeDecodeError, BadKey):
        return None


def check_private(path: Path, what: str = "key file") -> None:
    """Refuse a key or identity file that others can read (POSIX; Windows reports every
    file as 0666, so the check is skipped there)."""
    if sys.platform == "win32":
        return
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # read_text reports a missing or unreadable file
    if stat.S_ISREG(mode) and mode & 0o077:
        raise BadKey(f"{path}: readable by others (mode {stat.S_IMODE(mode):04o}); a {what} "
                     f"must be yours alone",
                     hint=f"run `chmod 600 {path}`")


def _from_file(path: Path, source: str, *, explicit: bool) -> Key:
    check_private(path)
    text = read_text(path, what="key file", limit=4096, allow_pipe=explicit)
    return Key.from_text(text, source=source)


def _candidates(store_id: str, key_id: str, key_file: Path | None) -> Iterator[tuple[str, Key]]:
    if key_file is not None:
        yield "--key-file", _from_file(key_file, f"--key-file {key_file}", explicit=True)
        return
    if os.environ.get(ENV_KEY):
        yield ENV_KEY, Key.from_text(os.environ[ENV_KEY], source=ENV_KEY)
        return
    if os.environ.get(ENV_KEY_FILE):
        path = Path(os.environ[ENV_KEY_FILE])
        yield ENV_KEY_FILE, _from_file(path, f"{ENV_KEY_FILE} ({path})", explicit=True)
        return
    for path in (user_key_path(store_id, key_id), user_key_path(store_id, key_id, NEXT_SUFFIX),
                 *_legacy_paths(store_id)[:2]):
        if path.exists():
            yield str(path), _from_file(path, str(path), explicit=False)


def find_key(store_id: str, key_id: str, *, key_file: Path | None = None,
             display: str = "the store") -> FoundKey:
    """The key that opens the store with these ids, or BadKey saying what was tried. A store
    that needs a key retired on this machine is refused (StoreError), whoever offers the key."""
    if is_retired(store_id, key_id):
        raise StoreError(f"{display}: {STALE.format(kid=key_id)}",
                         hint=STALE_HINT.format(store=display))
    tried: list[tuple[str, str]] = []
    for source, key in _candidates(store_id, key_id, key_file):
        if key.id == key_id:
            return FoundKey(key, source)
        tried.append((source, key.id))
    if key_file is None and not any(os.environ.get(v) for v in IDENTITY_VARIABLES):
        # The per-user keys this machine holds for this store, under other key ids.
        tried += [(str(p), p.name.split(".")[1]) for p in
                  sorted(user_key_dir().glob(f"{store_id}.*{KEY_SUFFIX}")) if p.name.count(".") == 2]
    if tried:
        source, other_id = tried[0]
        raise BadKey(f"wrong key: the key from {source} (key id {other_id}) does not open this "
                     f"store, which needs key id {key_id}",
                     hint="was the store re-keyed (`key rotate`)? get the current key from a "
                          "teammate and run `kortix-guard key import`")
    raise BadKey("no key for this store",
                 hint=f"set {ENV_KEY} (CI), pass --key-file, or run `kortix-guard key import` "
                      f"with the key a teammate exported")

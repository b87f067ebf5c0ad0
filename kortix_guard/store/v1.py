"""Version 1 stores: one shared `kgk1_` key, kept as a per-user key file named by the store id
and key id, found here, and retired here. Version 2 (team keys) is the product; version 1
stays readable and upgradable (`store upgrade`) from this module and its commands
(store/v1cmds.py: `key export`, `key import`, a version 1 `key rotate`), so that retiring it
later deletes those two files.

Retirement: `key rotate` records on this machine that (store id, old key id) was replaced,
and deletes the old key. A store that needs a retired key was reverted or is stale: it is
refused, whichever source offers that key. Store ids are chosen by whoever writes a store,
so retirement is recorded per (store id, key id) and only by a rotation done here; `key
import` never retires or replaces a key of another key id.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kortix_guard._dirs import config_dir, private_folder
from kortix_guard._fs import atomic_write
from kortix_guard.errors import BadKey, NoKey, StoreError
from kortix_guard.store import trust
from kortix_guard.store.crypto import Key
from kortix_guard.store.keys import ENV_KEY, FoundKey, Keyring, SymmetricKey, empty_env_hint

if TYPE_CHECKING:
    from kortix_guard.store.fileformat import StoreFile

# A rotation writes the next key before the store, so a crash at any moment before the store
# is durably replaced leaves a per-user key that opens it; `.next` is promoted right after.
KEY_SUFFIX, NEXT_SUFFIX = ".key", ".key.next"


def user_key_dir() -> Path:

    return config_dir() / "keys"


def user_key_path(store_id: str, key_id: str, suffix: str = KEY_SUFFIX) -> Path:
    return user_key_dir() / f"{store_id}.{key_id}{suffix}"


def _legacy_paths(store_id: str) -> list[Path]:
    """kortix-guard 0.1 named a per-user key by its store id alone."""
    return [user_key_dir() / f"{store_id}{suffix}" for suffix in (".key", ".key.next", ".key.old")]


def save_user_key(key: Key, store_id: str, suffix: str = KEY_SUFFIX) -> Path:
    path = user_key_path(store_id, key.id, suffix)
    private_folder("config", *path.parent.relative_to(config_dir()).parts)
    atomic_write(path, (key.text() + "\n").encode("ascii"), mode=0o600)
    return path


def retire(store_id: str, key_id: str, why: str = "`kortix-guard key rotate`") -> None:
    """Record that this key id no longer opens this store (store/trust.py), then delete its
    material."""
    trust.retire(store_id, key_id, why)
    for path in (user_key_path(store_id, key_id), user_key_path(store_id, key_id, NEXT_SUFFIX),
                 *_legacy_paths(store_id)):
        if path.exists() and (path.suffix == ".old" or _key_id_of(path) in (key_id, None)):
            path.unlink()


def retire_all(store_id: str, why: str) -> None:
    """The store moved on to recipients: every version 1 key this machine keeps for it is
    retired, so a version 1 store of the same id written later (by a former holder of the
    key) opens nowhere here."""
    folder = user_key_dir()
    if not folder.is_dir():
        return
    for path in folder.glob(f"{store_id}.*"):
        if path.name.endswith((KEY_SUFFIX, NEXT_SUFFIX)) and path.name.count(".") >= 2:
            key_id = _key_id_of(path)
            if key_id is not None:
                retire(store_id, key_id, why)


def _key_id_of(path: Path) -> str | None:
    try:
        return Key.from_text(path.read_text(), source=str(path)).id
    except (OSError, UnicodeDecodeError, BadKey):
        return None


def find_key(keyring: Keyring, store: StoreFile, display: str) -> FoundKey:
    """A version 1 store's `kgk1_` key: the explicit source, else this machine's per-user key
    files for the store. A store that needs a key retired on this machine is refused
    (StoreError), whoever offers the key."""
    store_id, key_id = store.store_id, store.key_id
    if trust.is_retired(store_id, key_id):
        raise StoreError(f"{display}: {trust.RETIRED.format(kid=key_id)}",
                         hint=trust.RETIRED_HINT.format(store=display))
    explicit = keyring.explicit()
    if explicit is not None and not isinstance(explicit, SymmetricKey):
        raise BadKey(f"{explicit.name} holds an identity, but {display} is a version 1 store, "
                     f"opened by its `kgk1_` key", hint="give the store's key (`kortix-guard key "
                     "export` on a machine that opens it), or upgrade the store to recipients: "
                     "`kortix-guard store upgrade`")
    sources = [explicit] if explicit is not None else [
        keyring.user_key(path) for path in (user_key_path(store_id, key_id),
                                            user_key_path(store_id, key_id, NEXT_SUFFIX),
                                            *_legacy_paths(store_id)[:2]) if path.exists()]
    tried: list[tuple[str, str]] = []
    for source in sources:
        found = source.open(store, display)
        if found is not None:
            return found
        tried.append((source.name, source.key.id))  # type: ignore[attr-defined]
    if explicit is None:
        # The per-user keys this machine holds for this store, under other key ids.
        tried += [(str(p), p.name.split(".")[1]) for p in
                  sorted(user_key_dir().glob(f"{store_id}.*{KEY_SUFFIX}")) if p.name.count(".") == 2]
    if tried:
        source_name, other_id = tried[0]
        raise BadKey(f"wrong key: the key from {source_name} (key id {other_id}) does not open "
                     f"this store, which needs key id {key_id}",
                     hint="was the store re-keyed (`key rotate`)? get the current key from a "
                          "teammate and run `kortix-guard key import`")
    raise NoKey("no key for this store",
                hint=empty_env_hint() or f"set {ENV_KEY} (CI), pass --key-file, or run "
                                         f"`kortix-guard key import` with the key a teammate "
                                         f"exported")

"""The re-key chain of a version 2 store, and this machine's high-water mark per store id.

Recipients are public, so anyone who can write the file could make a new data key, wrap it
to the same people and seal values of their choice with a valid MAC. Each re-key therefore
records a link that only a holder of the previous data key can compute (crypto.chain_link),
and each machine remembers the newest generation it opened for each store id. A store that
does not chain from that mark is refused; an older one (a revert, a stale branch) is refused
for writing. CI has no memory, so `check` verifies the head's store against the base
branch's instead (the same `descends`).
"""
from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from kortix_guard._dirs import config_dir
from kortix_guard._fs import atomic_write
from kortix_guard.errors import StoreError
from kortix_guard.store.crypto import Key, chain_link
from kortix_guard.store.fileformat import StoreFile


class Mark(NamedTuple):
    """A trusted point of a store's chain: its generation (0 for version 1), key id, and the
    chain key that authenticates the next link (it cannot open a value)."""

    generation: int
    key_id: str
    chain_key: bytes

    def __repr__(self) -> str:
        return f"Mark(generation={self.generation}, key_id={self.key_id})"

    @classmethod
    def of(cls, store: StoreFile, key) -> Mark:  # key: crypto.Key
        return cls(store.generation, store.key_id, key.chain_key())


def links_to(anchor: Mark, store: StoreFile) -> bool:
    """Whether store is the re-key right after anchor, made by a holder of anchor's key."""
    if store.generation != anchor.generation + 1 or store.previous_key_id != anchor.key_id:
        return False
    expected = chain_link(anchor.chain_key, store.store_id, store.key_id, store.generation)
    return hmac.compare_digest(expected, store.chain)


OpenKey = Callable[[StoreFile], "Key | None"]  # a store's verified key, or None


def descends(anchor: Mark, store: StoreFile, history: Callable[[], Iterable[StoreFile]],
             open_key: OpenKey) -> bool:
    """Whether store is anchor itself or descends from it link by link. Generations between
    the two come from history (the store's versions in git), each opened to verify the next
    link with its key."""
    if store.generation <= anchor.generation:
        return store.generation == anchor.generation and store.key_id == anchor.key_id
    if links_to(anchor, store):
        return True
    versions = {(v.generation, v.key_id): v for v in history()
                if v.store_id == store.store_id and v.has_recipients}
    step = store
    while step.generation > anchor.generation + 1:
        previous = versions.get((step.generation - 1, step.previous_key_id))
        key = open_key(previous) if previous is not None else None
        if previous is None or key is None or not links_to(Mark.of(previous, key), step):
            return False
        step = previous
    return links_to(anchor, step)


def mark_path(store_id: str) -> Path:

    return config_dir() / "stores" / f"{store_id}.mark"


def load_mark(store_id: str) -> Mark | None:
    path = mark_path(store_id)
    if not path.exists():
        return None
    m = re.fullmatch(r"([0-9]+) ([0-9a-f]{16}) ([0-9a-f]{64})\n", path.read_text("ascii", "replace"))
    if m is None:
        raise StoreError(f"{path}: this machine's record of the store is damaged",
                         hint=f"remove it (`rm {path}`); the next store opened is trusted as is")
    return Mark(int(m.group(1)), m.group(2), bytes.fromhex(m.group(3)))


def save_mark(store_id: str, mark: Mark) -> None:

    path = mark_path(store_id)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(path, f"{mark.generation} {mark.key_id} {mark.chain_key.hex()}\n".encode(),
                 mode=0o600)


STALE = ("generation {gen} is older than generation {mark} that this machine opened: a revert "
         "of a re-key (`recipients rm`, `key rotate`) or a stale branch")
STALE_HINT = ("get the current store (`git pull`, or `git checkout main -- {store}`); "
              "values set on the old generation must be set again on the current one")


def older(store: StoreFile, mark: Mark | None = None) -> str | None:
    """Why store is older than this machine's mark (read here unless given), or None. Alone,
    for a store whose MAC was not verified (`secrets reseal` of a hand-merged file)."""
    mark = mark or load_mark(store.store_id)
    if mark is None or store.generation >= mark.generation:
        return None
    return STALE.format(gen=store.generation, mark=mark.generation)


def check_local(store: StoreFile, key, display: str, *, history: Callable[[], Iterable[StoreFile]],
                open_key: OpenKey) -> str | None:
    """Compare the opened store with this machine's mark: None when it is current (the mark
    moves forward along the chain), the reason when it is older (stale). StoreError when it
    does not chain from the mark."""
    mark = load_mark(store.store_id)
    here = Mark.of(store, key)
    if mark is None:
        if store.has_recipients:
            _refuse_replacement(store, display, history)
            save_mark(store.store_id, here)  # trusted on first use: docs/store.md says what remains
        return None
    if store.generation == mark.generation and store.key_id == mark.key_id:
        return None
    if store.generation < mark.generation:
        return older(store, mark)
    if descends(mark, store, history, open_key):
        save_mark(store.store_id, here)
        return None
    raise StoreError(f"{display}: generation {store.generation} (key id {store.key_id}) does not "
                     f"chain from generation {mark.generation} (key id {mark.key_id}), which this "
                     f"machine opened: re-keyed by someone without the previous key, or on two "
                     f"branches at once",
                     hint=f"compare with the main branch (`git log -p -- {display}`); if you trust "
                          f"this store, `kortix-guard store trust` makes it the one this machine "
                          f"expects")


def _refuse_replacement(store: StoreFile, display: str,
                        history: Callable[[], Iterable[StoreFile]]) -> None:
    """A store id this machine has not seen, at a path where git has a store this machine
    did open: the store was replaced (a new id wrapped to the same public recipients), which
    trust on first use must not accept silently."""
    folder = mark_path(store.store_id).parent
    if not (folder.is_dir() and any(folder.glob("*.mark"))):
        return  # this machine opened no store yet (a CI run): nothing to compare with
    replaced = next((v.store_id for v in history()
                     if v.store_id != store.store_id and load_mark(v.store_id) is not None),
                    None)
    if replaced is not None:
        raise StoreError(f"{display}: a new store (store id {store.store_id}) replaces the one "
                         f"this machine opened here (store id {replaced}): made by someone "
                         f"who could not re-key the old one, or re-created on purpose",
                         hint=f"compare with the main branch (`git log -p -- {display}`); if "
                              f"the team re-created it, `kortix-guard store trust`")


def trust(store: StoreFile, key) -> None:
    save_mark(store.store_id, Mark.of(store, key))


def against_base(head: StoreFile, base: StoreFile | None, *,
                 history: Callable[[], Iterable[StoreFile]], open_key: OpenKey) -> str | None:
    """CI's check on a pull request, where no machine remembers anything: the head's store
    must be the base branch's or descend from it. The problem found, or None."""
    if base is None or not (base.has_recipients or head.has_recipients):
        return None  # no store on the base branch, or version 1 on both sides: no chain
    if base.store_id != head.store_id:
        return (f"the store id changed from {base.store_id} (base branch) to {head.store_id}: "
                f"this change replaces the store")
    if base.has_recipients and not head.has_recipients:
        return "the base branch's store is version 2 and this one version 1: a downgrade"
    if head.generation < base.generation:
        return STALE.format(gen=head.generation, mark=base.generation).replace(
            "that this machine opened", "on the base branch")
    if head.generation == base.generation:
        if head.key_id == base.key_id:
            return None
        return (f"generation {head.generation} has key id {head.key_id} here and {base.key_id} on "
                f"the base branch: re-keyed without the previous key, or on two branches")
    base_key = open_key(base)
    if base_key is None:
        return ("the base branch's store does not open with this key, so the re-key in this "
                "change cannot be verified; make the CI identity a recipient on the base branch "
                "first")
    if not descends(Mark.of(base, base_key), head, history, open_key):
        return (f"generation {head.generation} (key id {head.key_id}) does not chain from the base "
                f"branch's generation {base.generation} (key id {base.key_id}): a re-key by "
                f"someone without the previous key")
    return None

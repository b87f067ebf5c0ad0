"""The re-key chain of a store with recipients: which generation descends from which.

Recipients are public, so anyone who can write the file could make a new data key, wrap it
to the same people and seal values of their choice with a valid MAC. Each re-key therefore
records a link that only a holder of the previous data key can make. Version 3 links are
Ed25519 signatures by the previous generation's signing key (derived from its data key) over
the next generation's key id and public signing key, so anyone can verify them with public
values alone and nothing a machine remembers can forge one. Version 2 links are HMACs under a
key derived from the previous data key: verifying one needs that generation opened. What a
machine remembers, and what it refuses because of it, is store/trust.py; CI, which remembers
nothing, compares the head's store with the base branch's here (`against_base`).
"""
from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from typing import NamedTuple

from kortix_guard.store.crypto import Key, chain_link, link_parts, verify_signature
from kortix_guard.store.fileformat import StoreFile


class Mark(NamedTuple):
    """A trusted point of a store's chain: its generation, key id, public signing key, the
    format version it was seen in and (version 4) its revision. `chain_key` is only ever in
    memory (or read from a 0.2.0 mark): it verifies a version 2 link."""

    generation: int
    key_id: str
    signer: str
    version: int
    chain_key: bytes = b""
    revision: int = 0

    def __repr__(self) -> str:
        return (f"Mark(generation={self.generation}, key_id={self.key_id}, "
                f"version={self.version}, revision={self.revision})")

    @property
    def point(self) -> tuple[int, str, str, int, int]:
        """Everything public a mark says (its chain key aside)."""
        return self.generation, self.key_id, self.signer, self.version, self.revision

    @classmethod
    def of(cls, store: StoreFile, key: Key) -> Mark:
        """From a store opened with its key (MAC and signature verified)."""
        return cls(store.generation, store.key_id, key.signing_key().public, store.version,
                   key.chain_key(), store.revision)

    @classmethod
    def public(cls, store: StoreFile) -> Mark | None:
        """From a version 3 or 4 store whose own signature verifies, without its key."""
        if not (store.is_signed and verify_signature(store.signer, store.signed_input(),
                                                     store.signature)):
            return None
        return cls(store.generation, store.key_id, store.signer, store.version,
                   revision=store.revision)


OpenKey = Callable[[StoreFile], "Key | None"]  # a store's verified key, or None
History = Callable[[], Iterable[StoreFile]]


def links_to(anchor: Mark, store: StoreFile) -> bool:
    """Whether store is the re-key right after anchor, made by a holder of anchor's key. A
    version 2 link is accepted only from a generation last seen in version 2: once version 3,
    every next link is a signature."""
    if store.generation != anchor.generation + 1 or store.previous_key_id != anchor.key_id:
        return False
    if store.signed_link:
        return bool(anchor.signer) and verify_signature(
            anchor.signer, link_parts(store.store_id, store.generation, store.key_id,
                                      store.previous_key_id, store.signer), store.chain)
    if anchor.version >= 3 or not anchor.chain_key:
        return False
    expected = chain_link(anchor.chain_key, store.store_id, store.key_id, store.generation)
    return hmac.compare_digest(expected, store.chain)


def descends(anchor: Mark, store: StoreFile, history: History, open_key: OpenKey) -> bool:
    """Whether store is anchor itself or descends from it link by link. Generations between
    the two come from history (the store's versions in git): a version 3 one is verified by
    its own signature, a version 2 one is opened with open_key."""
    if store.generation <= anchor.generation:
        return store.generation == anchor.generation and store.key_id == anchor.key_id
    versions: dict[tuple[int, str], list[StoreFile]] = {}
    for v in history():
        if v.store_id == store.store_id and v.has_recipients:
            versions.setdefault((v.generation, v.key_id), []).append(v)
    if not anchor.chain_key and not store.signed_link and store.generation == anchor.generation + 1:
        anchor = _with_chain_key(anchor, versions, open_key)
    step = store
    while step.generation > anchor.generation + 1:
        previous = _mark_from(versions.get((step.generation - 1, step.previous_key_id), []),
                              open_key)
        if previous is None or not links_to(previous, step):
            return False
        step = _latest(versions[(previous.generation, previous.key_id)])
    return links_to(anchor, step)


def _latest(candidates: list[StoreFile]) -> StoreFile:
    """Of the versions of one generation, the one whose link leads further back (any: they
    share previous_key_id and chain, which only a re-key writes)."""
    return candidates[0]


def _mark_from(candidates: list[StoreFile], open_key: OpenKey) -> Mark | None:
    """A mark for one generation seen in history: from its key when this machine opens it
    (a version 2 link needs that), else from a version 3 copy's own signature. The highest
    version seen wins, so a generation once written in version 3 accepts signed links only."""
    version = max((c.version for c in candidates), default=0)
    for candidate in candidates:
        key = open_key(candidate)
        if key is not None:
            return Mark.of(candidate, key)._replace(version=version)
    for candidate in candidates:
        mark = Mark.public(candidate)
        if mark is not None:
            return mark._replace(version=version)
    return None


def _with_chain_key(anchor: Mark, versions: dict[tuple[int, str], list[StoreFile]],
                    open_key: OpenKey) -> Mark:
    """A remembered mark holds no chain key: open its generation from history to verify a
    version 2 link from it."""
    found = _mark_from(versions.get((anchor.generation, anchor.key_id), []), open_key)
    if found is None or not found.chain_key:
        return anchor
    return anchor._replace(chain_key=found.chain_key)


def against_base(head: StoreFile, base: StoreFile, *, history: History,
                 open_key: OpenKey) -> str | None:
    """CI's check on a pull request, where no machine remembers anything: the head's store must
    be the base branch's or descend from it. Everything that needs no key is compared
    always (store id, version, generation, key id, version 3 signatures and links); what
    needs one fails when CI has none (a fork's pull request). The problem found, or None."""
    if not (base.has_recipients or head.has_recipients):
        return None  # version 1 on both sides: no chain
    if base.store_id != head.store_id:
        return (f"the store id changed from {base.store_id} (base branch) to {head.store_id}: "
                f"this change replaces the store")
    if head.version < base.version:
        return (f"the base branch's store is version {base.version} and this one version "
                f"{head.version}: a downgrade")
    if head.generation < base.generation:
        return (f"generation {head.generation} is older than generation {base.generation} on "
                f"the base branch: a revert of a re-key, or a stale branch")
    if head.is_signed and Mark.public(head) is None:
        return "the store's signature does not verify: changed outside kortix-guard"
    if head.revision < base.revision:
        return (f"revision {head.revision} is older than revision {base.revision} on the base "
                f"branch: an older copy of the store (it would bring back values changed "
                f"since), or a branch that needs the base merged in")
    if head.generation == base.generation:
        if head.key_id != base.key_id:
            return (f"generation {head.generation} has key id {head.key_id} here and "
                    f"{base.key_id} on the base branch: re-keyed without the previous key, "
                    f"or on two branches")
        if base.is_signed:
            return None if head.signer == base.signer else (
                "the store's signing key differs from the base branch's at the same "
                "generation: written by someone without the key")
        if head.is_signed and open_key(head) is None:
            return ("the store was upgraded to version 3, which cannot be verified without "
                    "the store's key; run this check with KORTIX_GUARD_KEY (not on a fork)")
        return None
    anchor = Mark.public(base) if base.is_signed else _keyed(base, open_key)
    if anchor is None:
        return ("this change re-keys the store, and the base branch's version 2 store does not "
                "open with this key, so the re-key cannot be verified; make the CI identity a "
                "recipient on the base branch first (or run this check where the key is)")
    if not descends(anchor, head, history, open_key):
        return (f"generation {head.generation} (key id {head.key_id}) does not chain from the "
                f"base branch's generation {base.generation} (key id {base.key_id}): a re-key "
                f"by someone without the previous key")
    return None


def _keyed(store: StoreFile, open_key: OpenKey) -> Mark | None:
    key = open_key(store)
    return Mark.of(store, key) if key is not None else None

"""The encrypted store: open it with a key, change it in a locked transaction.

Other capabilities use only what this module exports (`open_store`, `read_names`, ...).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from kortix_guard.errors import Error, StoreError, restore_hint
from kortix_guard.git import GitError, Repo
from kortix_guard.secret import SecretValue
from kortix_guard.store import chain, crypto, fileformat, keys, trust, v1
from kortix_guard.store import recipients as wrap
from kortix_guard.store.fileformat import EntryMeta, RecipientLine, StoreFile

__all__ = [
    "missing_store_hint",
    "tracked",
    "Draft",
    "OpenedStore",
    "StoreFile",
    "create",
    "open_store",
    "read_names",
    "rekey",
    "signed",
    "transaction",
]


def read_names(path: Path, display: str | None = None) -> list[str]:
    """The names in the store, needing no key; [] when there is no store yet."""
    if not path.exists():
        return []
    return list(fileformat.read(path, display).entries)


class OpenedStore:
    """A store whose key was found and whose MAC verified."""

    __slots__ = ("path", "file", "found", "sealer", "stale", "keys", "pending")

    def __init__(self, path: Path, file: StoreFile, found: keys.FoundKey, sealer: crypto.Sealer,
                 stale: str | None, keyring: keys.Keyring, pending: str | None = None) -> None:
        self.path = path
        self.file = file
        self.found = found  # the key and where it came from
        self.sealer = sealer
        self.stale = stale  # why this is an older generation than this machine opened
        self.keys = keyring  # the sources it was opened with, to open other versions
        self.pending = pending  # a re-key on this branch only (the mark stays behind)

    @property
    def key(self) -> crypto.Key:
        return self.found.key

    @property
    def key_source(self) -> str:
        return self.found.described

    def value(self, name: str) -> SecretValue:
        return self.sealer.open(name, self.file.entries[name])

    def values(self) -> dict[str, SecretValue]:
        return {name: self.value(name) for name in self.file.entries}


def signed(key: crypto.Key, unsigned: StoreFile) -> StoreFile:
    """The file with its MAC over everything it says and, in version 3, the generation's
    public signing key and its signature over all of it (the MAC included)."""
    signing = key.signing_key() if unsigned.is_signed else None
    if signing is not None:
        unsigned = unsigned.replace(signer=signing.public)
    sf = unsigned.replace(mac=key.sealer(unsigned.store_id).mac(unsigned.mac_input()))
    if signing is not None:
        sf = sf.replace(signature=signing.sign(sf.signed_input()))
    return sf


def check_integrity(sf: StoreFile, key: crypto.Key, display: str) -> None:
    """StoreError unless the MAC verifies with key and, in version 3, the signer is key's own
    and its signature verifies (a signer that is not the key's could sign a next
    generation that no holder of this key made)."""
    ok = crypto.verify_mac(sf.mac, key.sealer(sf.store_id).mac(sf.mac_input()))
    if ok and sf.is_signed:
        ok = (sf.signer == key.signing_key().public
              and crypto.verify_signature(sf.signer, sf.signed_input(), sf.signature))
    if not ok:
        raise StoreError(f"{display}: the store's MAC does not verify: an entry or recipient "
                         f"was added, removed, swapped or changed outside kortix-guard",
                         hint=restore_hint(display) + "; if you merged it "
                              "by hand on purpose, run `kortix-guard secrets reseal`")


def open_store(path: Path, display: str | None = None, *, key_file: Path | None = None,
               keyring=None, verify: bool = True, writing: bool = False, remember: bool = True,
               history_path: Path | None = None) -> OpenedStore:
    """Read the store, find its key, and check the MAC (and version 3 signature) over
    everything it says (`verify=False`, for `secrets reseal` alone, also accepts a store not
    in its canonical form). Then store/trust.py compares it with what this machine remembers:
    another store id for the project, or a generation that does not chain, is refused; a
    stale one is reported (`opened.stale`) and refused for writing. `remember=False` (the
    scanner, which only reads values to look for them) skips that comparison. `keyring`
    (keys.Keyring) holds the sources to open it with, read once for the whole command; by
    default a new one, for key_file."""

    display = display or str(path)
    keyring = keyring if keyring is not None else keys.Keyring(key_file)
    if not path.exists():
        raise StoreError(f"{display}: no store here", hint=missing_store_hint(path, display))
    sf = fileformat.read(path, display, canonical=verify)
    found = find_key(keyring, sf, display)
    sealer = found.key.sealer(sf.store_id)
    verdict = trust.Verdict(None, None)
    if verify:
        check_integrity(sf, found.key, display)
    if remember and verify:
        verdict = trust.judge(history_path or path, sf, found.key, display,
                              history=history(history_path or path),
                              open_key=key_opener(keyring, display))
        if sf.has_recipients:
            v1.retire_all(sf.store_id, "opening the store's version " + str(sf.version))
    elif remember and sf.has_recipients:  # an unverified file never moves the mark
        verdict = trust.Verdict(trust.older(sf), None)
    if verdict.stale and writing:
        raise StoreError(f"{display}: {verdict.stale}; not changed",
                         hint=trust.STALE_HINT.format(store=display))
    return OpenedStore(path, sf, found, sealer, verdict.stale, keyring, verdict.pending)


def history(path: Path):
    """The store's versions in git (every ref), for verifying a re-key chain across a gap."""
    def versions():

        try:
            repo, relative = Repo.holding(path)
        except GitError:
            return
        for data in repo.file_versions(relative):
            try:
                yield fileformat.parse(data.decode("utf-8"), relative, canonical=False)
            except (StoreError, UnicodeDecodeError):
                continue
    return versions


def find_key(keyring: keys.Keyring, sf: StoreFile, display: str = "the store") -> keys.FoundKey:
    """The key that opens the store: BadKey saying what was tried when none does (NoKey when
    nothing was offered at all)."""

    if sf.has_recipients:
        return keyring.unwrap(sf, display)
    return v1.find_key(keyring, sf, display)


def key_opener(keyring: keys.Keyring, display: str) -> chain.OpenKey:
    """Opens another version of a store (an older generation, the base branch's) with the
    same sources: its key when the MAC verifies, else None."""

    def open_key(sf: StoreFile) -> crypto.Key | None:
        try:
            key = find_key(keyring, sf, display).key
            check_integrity(sf, key, display)
        except Error:
            return None
        return key
    return open_key


def tracked(path: Path) -> bool:
    """Whether HEAD holds a file at path: a store git still tracks that is missing from the
    work tree was deleted by mistake."""
    try:
        repo, relative = Repo.holding(path)
    except GitError:
        return False
    return repo.head_file(relative) is not None


def missing_store_hint(path: Path, display: str) -> str:
    """A store git still tracks was deleted by mistake: restore it, never start a new one."""
    if tracked(path):
        return "git still has it: " + restore_hint(display)
    return "create one with `kortix-guard init` (or `kortix-guard key new`)"


class Draft:
    """Changes to an opened store; unchanged entries keep their sealed text byte for byte."""
    def __init__(self, opened: OpenedStore) -> None:
        self.opened = opened
        self.entries: dict[str, str] = dict(opened.file.entries)
        self.meta: dict[str, EntryMeta] = dict(opened.file.meta)
        self.recipients: dict[str, RecipientLine] = dict(opened.file.recipients)
        self.changed = False

    def set(self, name: str, value: SecretValue, *, set_at: str | None = None,
            marks: tuple[str, ...] = ()) -> str:
        """Seal a value; in a store with recipients, record when (now) and its marks. A value
        equal to the one it replaces changes nothing, except that a current holder setting it
        again accepts it (clears `carried`); `rotate` stays, since only a new value rotates.
        Returns "set", "same", or "same, still to rotate"."""
        team = self.opened.file.has_recipients
        token = self.entries.get(name)
        if token is not None and not marks and self._holds(name, token, value):
            if team:
                meta = self.meta[name]
                self.meta[name] = meta.with_marks(drop=("carried",))
                self.changed |= self.meta[name] != meta
                if "rotate" in meta.marks:
                    return "same, still to rotate"
            return "same"
        self.entries[name] = self.opened.sealer.seal(name, value)
        if team:
            self.meta[name] = EntryMeta(set_at or fileformat.now(), marks)
        self.changed = True
        return "set"

    def _holds(self, name: str, token: str, value: SecretValue) -> bool:
        import hmac

        try:
            current = self.opened.sealer.open(name, token)
        except StoreError:
            return False
        return hmac.compare_digest(current.reveal().encode(), value.reveal().encode())

    def accept(self, name: str) -> bool:
        """Clear a `carried` mark after a review; whether there was one."""
        meta = self.meta.get(name)
        if meta is None or "carried" not in meta.marks:
            return False
        self.meta[name] = meta.with_marks(drop=("carried",))
        self.changed = True
        return True

    def remove(self, name: str) -> None:
        del self.entries[name]
        self.meta.pop(name, None)
        self.changed = True

    def add_recipient(self, name: str, recipient) -> None:  # recipient: recipients.Recipient

        self.recipients[name] = RecipientLine(
            recipient.text, fileformat.now(),
            wrap.wrap(self.opened.key.material(), recipient))
        self.changed = True

    def result(self) -> StoreFile:
        """The changed store, signed; a version 2 store is written as version 3 (the upgrade
        keeps its generation, key and last link)."""
        team = self.opened.file.has_recipients
        unsigned = self.opened.file.replace(
            entries=self.entries, mac="0" * 64, meta=self.meta if team else {},
            recipients=self.recipients, version=fileformat.CURRENT if team else fileformat.VERSION)
        return signed(self.opened.key, unsigned)


@contextlib.contextmanager
def transaction(path: Path, display: str | None = None, *,
                key_file: Path | None = None, force_write: bool = False) -> Iterator[Draft]:
    """Open under the lock, let the caller change the draft, write it atomically at the end
    (only when something changed, or with force_write, which re-computes the MAC)."""
    with fileformat.locked(path):
        draft = Draft(open_store(path, display, key_file=key_file, verify=not force_write,
                                 writing=True))
        yield draft
        if draft.changed or force_write:
            fileformat.write(path, draft.result())


def create(path: Path, key: crypto.Key, display: str | None = None, *,
           recipients: dict[str, wrap.Recipient] | None = None) -> StoreFile:
    """Write a new, empty store sealed for key (version 2, wrapped to recipients, when they
    are given); refuses to replace an existing one."""

    with fileformat.locked(path):
        if path.exists():
            raise StoreError(f"{display or path}: a store exists already",
                             hint="to change its key, run `kortix-guard key rotate`")
        store_id = fileformat.new_store_id()
        unsigned = StoreFile(store_id, key.id, "0" * 64)
        if recipients is not None:
            added = fileformat.now()
            unsigned = unsigned.replace(
                version=fileformat.CURRENT, generation=1,
                recipients={name: RecipientLine(r.text, added, wrap.wrap(key.material(), r))
                            for name, r in recipients.items()})
        sf = signed(key, unsigned)
        fileformat.write(path, sf)
        trust.record_write(path, sf, key, display or str(path))
        return sf


def rekey(path: Path, new_key: crypto.Key, display: str | None = None, *, key_file: Path | None = None,
          recipients=None, mark_rotate: bool = False) -> tuple[StoreFile, StoreFile]:
    """Re-seal every value under new_key in one atomic replace of the file; returns the
    store before and after. A version 2 store (or a version 1 store given recipients: the
    upgrade) gets the next generation, a chain link from the old key, and its data key
    wrapped to recipients (name → recipients.Recipient; by default the current ones; or a
    function of the opened store returning them, which may refuse, under the lock).
    mark_rotate marks every value "to rotate" (someone who could read it was removed)."""

    with fileformat.locked(path):
        opened = open_store(path, display, key_file=key_file, writing=True)
        old = opened.file
        if callable(recipients):
            recipients = recipients(opened)
        sealer = new_key.sealer(old.store_id)
        entries = {name: sealer.seal(name, opened.value(name)) for name in old.entries}
        if not old.has_recipients and recipients is None:
            sf = signed(new_key, StoreFile(old.store_id, new_key.id, "0" * 64, entries))
            fileformat.write(path, sf)
            return old, sf
        if recipients is None:
            recipients = {n: wrap.Recipient.stored(r.recipient) for n, r in old.recipients.items()}
        now = fileformat.now()
        meta = {name: old.meta.get(name, EntryMeta(now)).with_marks(
                    add=("rotate",) if mark_rotate else ()) for name in entries}
        added = {n: old.recipients[n].added if n in old.recipients else now for n in recipients}
        generation = old.generation + 1
        signer = new_key.signing_key().public
        link = opened.key.signing_key().sign(
            crypto.link_parts(old.store_id, generation, new_key.id, old.key_id, signer))
        sf = signed(new_key, StoreFile(
            old.store_id, new_key.id, "0" * 64, entries, version=fileformat.CURRENT,
            generation=generation, previous_key_id=old.key_id, chain=link,
            recipients={n: RecipientLine(r.text, added[n], wrap.wrap(new_key.material(), r))
                        for n, r in recipients.items()},
            meta=meta))
        fileformat.write(path, sf)
        trust.record_write(path, sf, new_key, display or str(path))
        return old, sf

"""The store's core: open and verify a store, judge it against what this machine remembers,
and change it in a locked transaction. Other rooms reach it through `kortix_guard.store`.

Opening only reads and verifies (the MAC, the signature): it never writes a record nor
retires a key. Judging (`judge`) says what this machine thinks of a verified store; recording
what this clone accepted (`remember`) is a separate call, made by the commands that should.
`open_trusted` does the three for a command, and refuses what must be refused.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from kortix_guard.errors import Error, StoreError, restore_hint
from kortix_guard.git import GitCli, GitError, Repo
from kortix_guard.secret import SecretValue
from kortix_guard.store import chain, crypto, fileformat, keys, trust, v1
from kortix_guard.store import recipients as wrap
from kortix_guard.store.fileformat import EntryMeta, RecipientLine, StoreFile

if TYPE_CHECKING:
    from kortix_guard.manifest.model import Manifest
    from kortix_guard.project import Project


class Allow(NamedTuple):
    """What a command may use despite this machine's doubts (each one an explicit flag)."""

    stale: bool = False  # a store older than the one this clone opened (--allow-stale)
    carried: bool = False  # values a merge carried from an older generation (--allow-carried)


def read_names(path: Path, display: str | None = None) -> list[str]:
    """The names in the store, needing no key; [] when there is no store yet."""
    if not path.exists():
        return []
    return list(fileformat.read(path, display).entries)


def read_public(path: Path, display: str | None = None) -> StoreFile:
    """The store as the file says it, needing no key and verifying nothing: for `secrets ls`
    and `recipients ls` without a key, which say the names are unverified."""
    return fileformat.read(path, display)


class OpenedStore:
    """A store whose key was found and whose MAC (and signature) verified."""

    __slots__ = ("path", "display", "file", "found", "sealer", "keys")

    def __init__(self, path: Path, display: str, file: StoreFile, found: keys.FoundKey,
                 sealer: crypto.Sealer, keyring: keys.Keyring) -> None:
        self.path = path
        self.display = display
        self.file = file
        self.found = found  # the key and where it came from
        self.sealer = sealer
        self.keys = keyring  # the sources it was opened with, to open other versions

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
    """The file with its MAC over everything it says and, from version 3, the generation's
    public signing key and its signature over all of it (the MAC included)."""
    signing = key.signing_key() if unsigned.is_signed else None
    if signing is not None:
        unsigned = unsigned.replace(signer=signing.public)
    sf = unsigned.replace(mac=key.sealer(unsigned.store_id).mac(unsigned.mac_input()))
    if signing is not None:
        sf = sf.replace(signature=signing.sign(sf.signed_input()))
    return sf


def check_integrity(sf: StoreFile, key: crypto.Key, display: str) -> None:
    """StoreError unless the MAC verifies with key and, from version 3, the signer is key's
    own and its signature verifies (a signer that is not the key's could sign a next
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
               keyring: keys.Keyring | None = None, verify: bool = True) -> OpenedStore:
    """Read the store, find its key, and check the MAC (and signature) over everything it
    says. `verify=False`, for `secrets reseal` alone, also accepts a store not in its
    canonical form and skips the MAC. `keyring` holds the sources to open it with, read once
    for the whole command; by default a new one, for key_file. Nothing is written."""
    display = display or str(path)
    keyring = keyring if keyring is not None else keys.Keyring(key_file)
    if not path.exists():
        raise StoreError(f"{display}: no store here", hint=missing_store_hint(path, display))
    sf = fileformat.read(path, display, canonical=verify)
    found = find_key(keyring, sf, display)
    if verify:
        check_integrity(sf, found.key, display)
    return OpenedStore(path, display, sf, found, found.key.sealer(sf.store_id), keyring)


class Verdict(NamedTuple):
    """What this machine says of an opened store, for the caller to read: refused (and
    why, with the next step), stale (older than this clone opened), pending (a re-key on
    this branch only), trusted on first use, and the values marked carried or to rotate."""

    refused: str | None
    hint: str | None
    stale: str | None
    stale_hint: str
    pending: str | None
    first_use: str | None
    carried: tuple[str, ...]
    rotate: tuple[tuple[str, str], ...]  # (name, set since) of values a removed person read
    set_at: Mapping[str, str]  # when each value was last set (stores with recipients)
    judged: trust.Judged

    def require(self, *, allow: Allow = Allow(), writing: bool = False,
                nothing: str = "nothing was changed") -> None:
        """StoreError for a refused store, and for a stale one unless allowed (a write is
        never allowed on a stale store). `nothing` says what did not happen."""
        if self.refused:
            raise StoreError(f"{self.refused}; {nothing}", hint=self.hint)
        if self.stale and (writing or not allow.stale):
            hint = self.stale_hint + ("" if writing else "; or pass --allow-stale to use it "
                                                         "anyway")
            raise StoreError(f"{self.stale}; {nothing}", hint=hint)


def _place(opened: OpenedStore, project: Project) -> trust.Place:
    return trust.Place.of(project.manifest_path.parent, opened.path)


def judge(opened: OpenedStore, project: Project) -> Verdict:
    """Compare the opened store with what this machine remembers for the project. Writes
    nothing."""
    place = _place(opened, project)
    sf = opened.file
    judged = trust.judge(place, sf, opened.key, opened.display,
                         project.display(project.manifest_path), history=history(opened.path),
                         open_key=key_opener(opened.keys, opened.display))
    branch = place.repo.default_branch_name() if place.repo is not None else "main"
    stale_hint = trust.STALE_HINT.format(branch=branch, store=opened.display)
    if judged.stale:
        stale = f"{opened.display}: {judged.stale}"
    else:
        stale = None
    carried = tuple(n for n, m in sf.meta.items() if "carried" in m.marks)
    rotate = tuple((n, m.set_at) for n, m in sf.meta.items() if "rotate" in m.marks)
    return Verdict(judged.refused, judged.hint, stale, stale_hint, judged.pending,
                   judged.first_use, carried, rotate, {n: m.set_at for n, m in sf.meta.items()},
                   judged)


def remember(opened: OpenedStore, verdict: Verdict, project: Project) -> None:
    """Record what this clone accepted (a project on first use, the mark), and retire this
    machine's version 1 keys of a store this project's record holds, which moved on to
    recipients."""
    if verdict.refused:
        return
    place = _place(opened, project)
    sf = opened.file
    before, records = trust.described(place)
    trust.remember(place, sf, verdict.judged, records=records)
    # Only this project's own store, seen here as version 1 before: a store of another
    # project that reuses the id (anyone can write one) must not cost this machine a key.
    held_v1 = before is not None and before.get(sf.store_id, {}).get("version", 2) < 2
    if sf.has_recipients and held_v1 and not verdict.stale:
        v1.retire_all(sf.store_id, f"opening the store's version {sf.version}")


def open_trusted(project: Project, manifest: Manifest | None = None, *,
                 keyring: keys.Keyring | None = None, allow: Allow = Allow(),
                 writing: bool = False, nothing: str = "nothing was changed",
                 verify: bool = True) -> tuple[OpenedStore, Verdict]:
    """Open the project's store, judge it, refuse what must be refused, and record what
    this clone accepted; a first use is said on stderr."""
    from kortix_guard._out import echo

    path = project.store_path(manifest)
    opened = open_store(path, project.display(path), keyring=keyring or keys.Keyring(project.key_file),
                        verify=verify)
    verdict = judge(opened, project)
    verdict.require(allow=allow, writing=writing, nothing=nothing)
    if verdict.stale:
        echo(f"kortix-guard: warning: {verdict.stale}; using it anyway (--allow-stale)", err=True)
    remember(opened, verdict, project)
    if verdict.first_use:
        echo(f"kortix-guard: note: {verdict.first_use}", err=True)
    return opened, verdict


def history(path: Path) -> Callable[[], Iterator[StoreFile]]:
    """The store's versions in git (every ref), for verifying a re-key chain across a gap."""
    def versions() -> Iterator[StoreFile]:
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
    start = path.absolute().parent
    while not start.exists() and start != start.parent:
        start = start.parent  # a deleted folder: the repository is further up
    try:
        cli = GitCli(start)  # the command line: `secrets ls` loads no pygit2
        relative = path.absolute().resolve().relative_to(cli.root).as_posix()
    except (GitError, ValueError):
        return False
    return cli.head_has(relative)


def missing_store_hint(path: Path, display: str) -> str:
    """A store git still tracks was deleted by mistake: restore it, never start a new one."""
    if tracked(path):
        return "git still has it: " + restore_hint(display)
    return "create one with `kortix-guard init` (or `kortix-guard key new`)"


def next_version(sf: StoreFile) -> int:
    """The version a write of sf produces: version 2 becomes 3 (every reader since 0.3.0
    reads it); versions 3 and 4 stay (version 4 only by `store upgrade`, since a reader
    before 0.4.0 refuses it); version 1 stays 1."""
    if not sf.has_recipients:
        return fileformat.VERSION
    return max(sf.version, fileformat.SIGNED_VERSION)


class Draft:
    """Changes to an opened store; unchanged entries keep their sealed text byte for byte."""
    def __init__(self, opened: OpenedStore) -> None:
        self.opened = opened
        self.entries: dict[str, str] = dict(opened.file.entries)
        self.meta: dict[str, EntryMeta] = dict(opened.file.meta)
        self.recipients: dict[str, RecipientLine] = dict(opened.file.recipients)
        self.changed = False
        self.revision: int | None = None  # set by a merge: max of both sides, plus one
        self.version: int | None = None  # set by `store upgrade`

    def set(self, name: str, value: SecretValue, *, set_at: str | None = None,
            marks: tuple[str, ...] = ()) -> str:
        """Seal a value; in a store with recipients, record when (now) and its marks. A value
        equal to the one it replaces changes nothing, except that a current holder setting it
        again accepts it (clears `carried`); `rotate` stays, since only a new value rotates.
        Returns "set", "same", or "same, still to rotate"."""
        check_value_size(name, value)
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

    def add_recipient(self, name: str, recipient: wrap.Recipient, person: str | None = None) -> None:
        line = RecipientLine(recipient.text, fileformat.now(),
                             wrap.wrap(self.opened.key.material(), recipient),
                             (person or name) if self.opened.file.has_revision else "")
        check_recipient_size(name, line)
        self.recipients[name] = line
        self.changed = True

    def result(self) -> StoreFile:
        """The changed store, signed, at the next revision (version 4)."""
        old = self.opened.file
        team = old.has_recipients
        version = self.version or next_version(old)
        revision = 0
        recipients = self.recipients
        if version >= fileformat.REVISION_VERSION:
            revision = self.revision if self.revision is not None else old.revision + 1
            persons = fileformat.infer_persons(recipients)
            recipients = {n: line._replace(person=persons[n]) for n, line in recipients.items()}
        unsigned = old.replace(entries=self.entries, mac="0" * 64, meta=self.meta if team else {},
                               recipients=recipients, version=version, revision=revision)
        return signed(self.opened.key, unsigned)


def check_value_size(name: str, value: SecretValue) -> None:
    size = len(value.reveal().encode("utf-8"))
    if size > fileformat.MAX_VALUE_BYTES:
        from kortix_guard.errors import InputError

        raise InputError(f"the value of {name} is {size} bytes; a value is at most "
                         f"{fileformat.MAX_VALUE_BYTES} bytes (one environment variable can be "
                         f"no longer); nothing was written",
                         hint="keep a large file out of the store and out of git (a secret "
                              "manager's file support, or the file itself encrypted)")


def check_recipient_size(name: str, line: RecipientLine) -> None:
    shown = StoreFile("0" * 32, "0" * 16, "0" * 64, version=fileformat.CURRENT, generation=1,
                      revision=1, recipients={name: line}).render().decode()
    longest = max(len(text) for text in shown.split("\n"))
    if longest > fileformat.MAX_RECIPIENT_LINE:
        from kortix_guard.errors import InputError

        raise InputError(f"{name}: this key makes a recipient line of {longest} characters; a "
                         f"store holds at most {fileformat.MAX_RECIPIENT_LINE} (an RSA key over "
                         f"8192 bits)", hint="use an ssh-ed25519 key, or an age key "
                                             "(`kortix-guard identity new`)")


def _place_of(project: Project, path: Path) -> trust.Place:
    return trust.Place.of(project.manifest_path.parent, path)


@contextlib.contextmanager
def transaction(project: Project, manifest: Manifest | None = None, *,
                force_write: bool = False) -> Iterator[Draft]:
    """Open the project's store under the lock (judged: refused and stale stores are not
    written), let the caller change the draft, write it atomically at the end (only when
    something changed, or with force_write, which re-computes the MAC of a hand-merged
    store), and record the new revision as this clone's own."""
    path = project.store_path(manifest)
    with fileformat.locked(path):
        opened, _ = open_trusted(project, manifest, writing=True, verify=not force_write)
        draft = Draft(opened)
        yield draft
        if draft.changed or force_write:
            sf = draft.result()
            fileformat.write(path, sf)
            trust.record_write(_place_of(project, path), sf, opened.key)


def create(project: Project, key: crypto.Key, *, path: Path | None = None,
           recipients: Mapping[str, wrap.Recipient] | None = None) -> StoreFile:
    """Write a new, empty store sealed for key (the current version, wrapped to recipients,
    when they are given; version 1 otherwise); refuses to replace an existing one. The
    project expects it from now on."""
    path = path or project.store_path()
    display = project.display(path)
    with fileformat.locked(path):
        if path.exists():
            raise StoreError(f"{display}: a store exists already",
                             hint="to change its key, run `kortix-guard key rotate`")
        store_id = fileformat.new_store_id()
        unsigned = StoreFile(store_id, key.id, "0" * 64)
        if recipients is not None:
            added = fileformat.now()
            unsigned = unsigned.replace(
                version=fileformat.CURRENT, generation=1, revision=1,
                recipients={name: RecipientLine(r.text, added, wrap.wrap(key.material(), r), name)
                            for name, r in recipients.items()})
        sf = signed(key, unsigned)
        fileformat.write(path, sf)
        trust.record_write(_place_of(project, path), sf, key)
        return sf


Chooser = Callable[[OpenedStore], Mapping[str, wrap.Recipient]]


def rekey(project: Project, new_key: crypto.Key, *,
          recipients: Mapping[str, wrap.Recipient] | Chooser | None = None,
          persons: Mapping[str, str] | None = None, mark_rotate: bool = False,
          version: int | None = None) -> tuple[StoreFile, StoreFile]:
    """Re-seal every value under new_key in one atomic replace of the file; returns the
    store before and after. A store with recipients (or a version 1 store given recipients:
    the upgrade) gets the next generation, a chain link from the old key, and its data key
    wrapped to recipients (name → recipients.Recipient; by default the current ones; or a
    function of the opened store returning them, which may refuse, under the lock). persons:
    whose key each new recipient is (version 4; by default its own name, or the person the
    store already records). mark_rotate marks every value "to rotate" (someone who could
    read it was removed). version: the format to write (`store upgrade`)."""
    path = project.store_path()
    with fileformat.locked(path):
        opened, _ = open_trusted(project, writing=True)
        old = opened.file
        chosen = recipients(opened) if callable(recipients) else recipients
        sealer = new_key.sealer(old.store_id)
        entries = {name: sealer.seal(name, opened.value(name)) for name in old.entries}
        if not old.has_recipients and chosen is None:
            sf = signed(new_key, StoreFile(old.store_id, new_key.id, "0" * 64, entries))
            fileformat.write(path, sf)
            return old, sf
        if chosen is None:
            chosen = {n: wrap.Recipient.stored(r.recipient) for n, r in old.recipients.items()}
        version = version or (next_version(old) if old.has_recipients else fileformat.CURRENT)
        now = fileformat.now()
        meta = {name: old.meta.get(name, EntryMeta(now)).with_marks(
                    add=("rotate",) if mark_rotate else ()) for name in entries}
        added = {n: old.recipients[n].added if n in old.recipients else now for n in chosen}

        def person(name: str) -> str:
            if version < fileformat.REVISION_VERSION:
                return ""
            if persons and name in persons:
                return persons[name]
            return old.person_of(name) if name in old.recipients else name
        generation = old.generation + 1
        signer = new_key.signing_key().public
        link = opened.key.signing_key().sign(
            crypto.link_parts(old.store_id, generation, new_key.id, old.key_id, signer))
        sf = signed(new_key, StoreFile(
            old.store_id, new_key.id, "0" * 64, entries, version=version,
            generation=generation, previous_key_id=old.key_id, chain=link,
            recipients={n: RecipientLine(r.text, added[n], wrap.wrap(new_key.material(), r),
                                         person(n))
                        for n, r in chosen.items()},
            meta=meta, revision=old.revision + 1 if version >= fileformat.REVISION_VERSION else 0))
        fileformat.write(path, sf)
        trust.record_write(_place_of(project, path), sf, new_key)
        return old, sf

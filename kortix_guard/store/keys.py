"""Where a store's key comes from. An explicit source decides alone: the first of
--key-file, KORTIX_GUARD_KEY (CI) and KORTIX_GUARD_KEY_FILE that is set. Else the implicit
ones: for a version 1 store the per-user key file named by the store id and key id; for a
version 2 store your personal identity, then ~/.ssh/id_ed25519 and ~/.ssh/id_rsa. Never argv.

Retirement: `key rotate` records on this machine that (store id, old key id) was replaced,
and deletes the old key. A store that needs a retired key was reverted or is stale: it is
refused, whichever source offers that key. Store ids are chosen by whoever writes a store,
so retirement is recorded per (store id, key id) and only by a rotation done here; `key
import` never retires or replaces a key of another key id.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from kortix_guard._fs import atomic_write, read_text
from kortix_guard.errors import BadKey, NoKey, StoreError
from kortix_guard.store.crypto import Key
from kortix_guard.store.shapes import check_private

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


class FoundKey(NamedTuple):
    key: Key
    source: str  # where it came from, for messages: never the key itself
    recipient: str | None = None  # the recipient whose wrapped key it opened (version 2)

    @property
    def described(self) -> str:
        return f"{self.source} (recipient {self.recipient})" if self.recipient else self.source


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


class Source(NamedTuple):
    """A place a key or an identity came from: a `kgk1_` key (version 1 stores) or an age
    identity / OpenSSH key (version 2 stores). `name` is for messages, never the secret."""

    name: str
    key: Key | None = None
    identity: object = None  # recipients.Identity

    def describe(self) -> str:
        public = getattr(self.identity, "public", None)
        return f"{self.name} ({public.fingerprint})" if public is not None else self.name


def _read_secret_file(path: Path, *, explicit: bool) -> str:
    check_private(path)
    return read_text(path, what="key file", limit=64 * 1024, allow_pipe=explicit)


def _source(text: str, name: str, path: Path | None = None, *, explicit: bool) -> Source:
    """A `kgk1_` key, else an age identity or OpenSSH private key (pyrage loaded only then)."""
    if "AGE-SECRET-KEY-1" in text.upper() or "BEGIN OPENSSH PRIVATE KEY" in text:
        from kortix_guard.store import recipients

        if path is not None:
            return Source(name, identity=recipients.identity_from_file(path, explicit=explicit,
                                                                         text=text))
        return Source(name, identity=recipients.identity_from_text(text, name))
    return Source(name, key=Key.from_text(text, source=name))


def explicit_source(key_file: Path | None) -> Source | None:
    """The first of --key-file, KORTIX_GUARD_KEY and KORTIX_GUARD_KEY_FILE that is set: it
    alone decides (a wrong one is an error naming it, never a reason to try the next)."""
    if key_file is not None:
        name = f"--key-file {key_file}"
        return _source(_read_secret_file(key_file, explicit=True), name, key_file, explicit=True)
    if os.environ.get(ENV_KEY):
        return _source(os.environ[ENV_KEY], ENV_KEY, explicit=True)
    if os.environ.get(ENV_KEY_FILE):
        path = Path(os.environ[ENV_KEY_FILE])
        return _source(_read_secret_file(path, explicit=True), f"{ENV_KEY_FILE} ({path})", path,
                       explicit=True)
    return None


def _user_keys(store_id: str, key_id: str) -> Iterator[Source]:
    for path in (user_key_path(store_id, key_id), user_key_path(store_id, key_id, NEXT_SUFFIX),
                 *_legacy_paths(store_id)[:2]):
        if path.exists():
            yield Source(str(path), key=Key.from_text(_read_secret_file(path, explicit=False),
                                                      source=str(path)))


def implicit_identities(notes: list[str]) -> Iterator[Source]:
    """Your personal identity, then ~/.ssh/id_ed25519 and ~/.ssh/id_rsa. A protected or
    unusable SSH key is skipped with a note; a personal identity others can read is refused."""
    from kortix_guard.store import recipients

    personal = recipients.personal_identity_path()
    if personal.exists():
        yield Source(str(personal), identity=recipients.identity_from_file(personal,
                                                                           explicit=False))
    try:
        ssh = Path.home() / ".ssh"
    except RuntimeError:  # no home folder (a bare container): no SSH keys to try
        return
    for name in ("id_ed25519", "id_rsa"):
        path = ssh / name
        if not path.is_file():
            continue
        try:
            text = _read_secret_file(path, explicit=False)
            if recipients.is_protected_ssh_key(text):
                notes.append(f"skipped {path}: passphrase-protected")
                continue
            yield Source(str(path), identity=recipients.identity_from_file(path, explicit=False,
                                                                           text=text))
        except BadKey as e:
            notes.append(f"skipped {path}: {e.message}")


def find_key(store, *, key_file: Path | None = None, display: str = "the store") -> FoundKey:
    """The key that opens the store (a StoreFile): BadKey saying what was tried when none
    does (NoKey when nothing was offered at all)."""
    if store.has_recipients:
        return _unwrap_data_key(store, key_file, display)
    return _find_symmetric_key(store.store_id, store.key_id, key_file, display)


def _find_symmetric_key(store_id: str, key_id: str, key_file: Path | None,
                        display: str) -> FoundKey:
    """A version 1 store's `kgk1_` key. A store that needs a key retired on this machine is
    refused (StoreError), whoever offers the key."""
    if is_retired(store_id, key_id):
        raise StoreError(f"{display}: {STALE.format(kid=key_id)}",
                         hint=STALE_HINT.format(store=display))
    explicit = explicit_source(key_file)
    if explicit is not None and explicit.key is None:
        raise BadKey(f"{explicit.name} holds an identity, but {display} is a version 1 store, "
                     f"opened by its `kgk1_` key", hint="give the store's key (`kortix-guard key "
                     "export` on a machine that opens it), or upgrade the store to recipients: "
                     "`kortix-guard store upgrade`")
    tried: list[tuple[str, str]] = []
    for source in [explicit] if explicit else _user_keys(store_id, key_id):
        if source.key.id == key_id:
            return FoundKey(source.key, source.name)
        tried.append((source.name, source.key.id))
    if explicit is None:
        # The per-user keys this machine holds for this store, under other key ids.
        tried += [(str(p), p.name.split(".")[1]) for p in
                  sorted(user_key_dir().glob(f"{store_id}.*{KEY_SUFFIX}")) if p.name.count(".") == 2]
    if tried:
        source, other_id = tried[0]
        raise BadKey(f"wrong key: the key from {source} (key id {other_id}) does not open this "
                     f"store, which needs key id {key_id}",
                     hint="was the store re-keyed (`key rotate`)? get the current key from a "
                          "teammate and run `kortix-guard key import`")
    raise NoKey("no key for this store",
                hint=f"set {ENV_KEY} (CI), pass --key-file, or run `kortix-guard key import` "
                     f"with the key a teammate exported")


def _unwrap_data_key(store, key_file: Path | None, display: str) -> FoundKey:
    """A version 2 store's data key, unwrapped by the first identity that is a recipient."""
    notes: list[str] = []
    explicit = explicit_source(key_file)
    if explicit is not None and explicit.key is not None:
        raise BadKey(f"{explicit.name} holds a `kgk1_` key, which opens only version 1 stores; "
                     f"{display} is version 2, opened by the identity of one of its recipients",
                     hint="for CI, `kortix-guard recipients add ci --generate` and put the "
                          f"identity it prints into {ENV_KEY}")
    tried = []
    for source in [explicit] if explicit else implicit_identities(notes):
        for name, line in store.recipients.items():
            raw = source.identity.unwrap(line.key)
            if raw is None:
                if getattr(source.identity.public, "text", None) == line.recipient:
                    raise StoreError(f"{display}: the key wrapped to recipient {name} does not "
                                     f"open with its identity ({source.name}): the line was "
                                     f"damaged or changed outside kortix-guard",
                                     hint=f"restore it with `git checkout -- {display}`; if it "
                                          f"is the same in git, ask another recipient to run "
                                          f"`kortix-guard recipients rm {name}` and add you again")
                continue
            try:
                key = Key(raw)
            except BadKey:
                key = None
            if key is None or key.id != store.key_id:
                raise StoreError(f"{display}: the key wrapped to recipient {name} is not the "
                                 f"store's key: the file was changed outside kortix-guard",
                                 hint=f"restore it with `git checkout -- {display}`")
            return FoundKey(key, source.name, name)
        tried.append(source.describe())
    recipients = ", ".join(f"{n} ({line.kind} {line.fingerprint})"
                           for n, line in store.recipients.items()) or "none"
    details = f"; its recipients: {recipients}"
    if explicit is not None:
        raise BadKey(f"the identity from {explicit.describe()} is not a recipient of {display}"
                     f"{details}", hint="add it from a machine that opens the store: "
                     "`kortix-guard recipients add NAME <its recipient>`")
    details += f"; tried: {', '.join(tried) or 'no identity'}"
    details += "".join(f"; {note}" for note in notes)
    raise NoKey(f"no key for this store: no identity here opens {display}{details}",
                hint="ask a recipient to run `kortix-guard recipients add NAME <your recipient>` "
                     "(yours: `kortix-guard identity show`; none yet: `kortix-guard identity new`)")

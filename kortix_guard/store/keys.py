"""Where a store's key comes from, behind one interface (age's `Identity.Unwrap`): a key
source's `open(store)` gives the store's key, or None when the store is not its ("not
mine"); anything else it raises. Two kinds: a `kgk1_` key (version 1 stores) and an age or
SSH identity (version 2 stores, through the data key wrapped to each recipient).

A Keyring holds every source one command may use, each read once and kept in memory for the
command's life (never on disk): a pipe given as --key-file can be read only once, and older
generations of a store, the base branch's store and a merge's three sides are all opened
from the same sources.

Which sources: an explicit one decides alone, the first of --key-file, KORTIX_GUARD_KEY (CI)
and KORTIX_GUARD_KEY_FILE that is set (a wrong one is an error naming it, never a reason to
try the next). Else the implicit ones: for a version 1 store the per-user key files
(store/v1.py); for a version 2 store your personal identity, then ~/.ssh/id_ed25519 and
~/.ssh/id_rsa. Never argv.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

from kortix_guard._fs import read_text
from kortix_guard.errors import BadKey, InputError, NoKey, StoreError, restore_hint
from kortix_guard.secret import Unshowable
from kortix_guard.store import recipients
from kortix_guard.store.crypto import Key
from kortix_guard.store.shapes import check_private

if TYPE_CHECKING:
    from kortix_guard.store.fileformat import StoreFile
    from kortix_guard.store.recipients import Identity

ENV_KEY = "KORTIX_GUARD_KEY"
ENV_KEY_FILE = "KORTIX_GUARD_KEY_FILE"
# Every variable that can carry a key or point to one: never handed to a child process.
IDENTITY_VARIABLES = (ENV_KEY, ENV_KEY_FILE)


class FoundKey(NamedTuple):
    key: Key
    source: str  # where it came from, for messages: never the key itself
    recipient: str | None = None  # the recipient whose wrapped key it opened (version 2)

    @property
    def described(self) -> str:
        return f"{self.source} (recipient {self.recipient})" if self.recipient else self.source


class KeySource(Protocol):
    """A place a key comes from. `name` is for messages, never the secret."""
    @property
    def name(self) -> str: ...

    def open(self, store: StoreFile, display: str) -> FoundKey | None:
        """The store's key; None when this source is not one of the store's (not mine).
        A damaged store raises StoreError."""

    def describe(self) -> str:
        """The name, and a public fingerprint when there is one."""


class SymmetricKey(NamedTuple):
    """A `kgk1_` key: it opens the version 1 store whose key id it has."""
    name: str
    key: Key

    def open(self, store: StoreFile, display: str) -> FoundKey | None:
        if store.has_recipients or self.key.id != store.key_id:
            return None
        return FoundKey(self.key, self.name)

    def describe(self) -> str:
        return self.name


class IdentityKey(NamedTuple):
    """An age identity or OpenSSH key: it opens a version 2 store it is a recipient of."""
    name: str
    identity: Identity

    def open(self, store: StoreFile, display: str) -> FoundKey | None:
        if not store.has_recipients:
            return None
        for name, line in store.recipients.items():
            raw = self.identity.unwrap(line.key)
            if raw is None:
                if getattr(self.identity.public, "text", None) == line.recipient:
                    raise StoreError(f"{display}: the key wrapped to recipient {name} does not "
                                     f"open with its identity ({self.name}): the line was "
                                     f"damaged or changed outside kortix-guard",
                                     hint=restore_hint(display) + f"; if it "
                                          f"is the same in git, ask another recipient to run "
                                          f"`kortix-guard recipients rm {name}` and add you again")
                continue
            try:
                key: Key | None = Key(raw)
            except BadKey:
                key = None
            if key is None or key.id != store.key_id:
                raise StoreError(f"{display}: the key wrapped to recipient {name} is not the "
                                 f"store's key: the file was changed outside kortix-guard",
                                 hint=restore_hint(display))
            return FoundKey(key, self.name, name)
        return None

    def describe(self) -> str:
        public = self.identity.public
        return f"{self.name} ({public.fingerprint})" if public is not None else self.name


def read_secret_file(path: Path, *, explicit: bool) -> str:
    check_private(path)
    return read_text(path, what="key file", limit=64 * 1024, allow_pipe=explicit)


def source_of(text: str, name: str, path: Path | None = None, *,
              explicit: bool) -> KeySource:
    """A `kgk1_` key, else an age identity or OpenSSH private key (pyrage loaded only then)."""
    if "AGE-SECRET-KEY-1" in text.upper() or "BEGIN OPENSSH PRIVATE KEY" in text:

        if path is not None:
            return IdentityKey(name, recipients.identity_from_file(path, explicit=explicit,
                                                                  text=text))
        return IdentityKey(name, recipients.identity_from_text(text, name))
    public = text.strip()
    if public.startswith(("age1", "ssh-ed25519 ", "ssh-rsa ")):
        # The public half, pasted where the private one goes: a recipient opens nothing.
        raise BadKey(f"{name} holds a public recipient ({public[:12]}…): the public half of "
                     f"an identity, which opens nothing",
                     hint=f"{name} needs the private half: the `AGE-SECRET-KEY-1…` line "
                          f"`kortix-guard recipients add ci --generate` printed (or an "
                          f"OpenSSH private key)")
    return SymmetricKey(name, Key.from_text(text, source=name))


def empty_env_hint() -> str | None:
    """CI's usual reason for "no key": the secret is not set, or a fork's pull request, which
    gets no secrets; the workflow then passes an empty KORTIX_GUARD_KEY. Advice for a
    developer (`identity new`) would be the wrong next step."""
    if ENV_KEY in os.environ and not os.environ[ENV_KEY].strip():
        return (f"{ENV_KEY} is set but empty: add the repository secret {ENV_KEY} (GitHub: "
                f"Settings > Secrets and variables > Actions); a fork's pull requests do not "
                f"receive secrets")
    return None


def _explicit(key_file: Path | None) -> KeySource | None:
    if key_file is not None:
        name = f"--key-file {key_file}"
        return source_of(read_secret_file(key_file, explicit=True), name, key_file,
                         explicit=True)
    if os.environ.get(ENV_KEY):
        return source_of(os.environ[ENV_KEY], ENV_KEY, explicit=True)
    if os.environ.get(ENV_KEY_FILE):
        path = Path(os.environ[ENV_KEY_FILE])
        return source_of(read_secret_file(path, explicit=True), f"{ENV_KEY_FILE} ({path})",
                         path, explicit=True)
    return None


def _implicit_identities(notes: list[str]) -> Iterator[KeySource]:
    """Your personal identity, then ~/.ssh/id_ed25519 and ~/.ssh/id_rsa. A protected or
    unusable SSH key is skipped with a note; a personal identity others can read is refused."""

    personal = recipients.personal_identity_path()
    if personal.exists():
        yield IdentityKey(str(personal), recipients.identity_from_file(personal, explicit=False))
    yield from _sops_identities(notes)
    try:
        ssh = Path.home() / ".ssh"
    except RuntimeError:  # no home folder (a bare container): no SSH keys to try
        return
    for name in ("id_ed25519", "id_rsa"):
        path = ssh / name
        if not path.is_file():
            continue
        try:
            text = read_secret_file(path, explicit=False)
            if recipients.is_protected_ssh_key(text):
                notes.append(f"skipped {path}: passphrase-protected")
                continue
            yield IdentityKey(str(path), recipients.identity_from_file(path, explicit=False,
                                                                      text=text))
        except BadKey as e:
            notes.append(f"skipped {path}: {e.message}")


def _sops_keys_file() -> Path | None:
    """sops' default age keys file: its config folder's `sops/age/keys.txt`."""
    config = os.environ.get("XDG_CONFIG_HOME", "")
    try:
        if not os.path.isabs(config):
            home = Path.home()
            config = str(home / "Library" / "Application Support" if sys.platform == "darwin"
                         else home / ".config")
    except RuntimeError:
        return None
    return Path(config) / "sops" / "age" / "keys.txt"


def _sops_identities(notes: list[str]) -> Iterator[KeySource]:
    """The identities a SOPS user already has, after kortix-guard's own and before ~/.ssh:
    SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD's output, sops' default keys file,
    SOPS_AGE_SSH_PRIVATE_KEY_FILE. One that cannot be read is skipped with a note."""
    import shlex
    import subprocess

    def attempt(name: str, read: Callable[[], KeySource]) -> Iterator[KeySource]:
        try:
            yield read()
        except (BadKey, OSError, InputError) as e:
            notes.append(f"skipped {name}: {getattr(e, 'message', None) or e.__class__.__name__}")

    if os.environ.get("SOPS_AGE_KEY"):
        yield from attempt("SOPS_AGE_KEY", lambda: IdentityKey(
            "SOPS_AGE_KEY", recipients.identity_from_text(os.environ["SOPS_AGE_KEY"],
                                                          "SOPS_AGE_KEY")))
    if os.environ.get("SOPS_AGE_KEY_FILE"):
        path = Path(os.environ["SOPS_AGE_KEY_FILE"])
        yield from attempt(f"SOPS_AGE_KEY_FILE ({path})", lambda: IdentityKey(
            f"SOPS_AGE_KEY_FILE ({path})", recipients.identity_from_file(path, explicit=True)))
    if os.environ.get("SOPS_AGE_KEY_CMD"):
        def from_command() -> KeySource:
            done = subprocess.run(shlex.split(os.environ["SOPS_AGE_KEY_CMD"]),
                                  capture_output=True, timeout=30, check=True)
            text = done.stdout.decode("utf-8")
            return IdentityKey("SOPS_AGE_KEY_CMD", recipients.identity_from_text(
                text, "SOPS_AGE_KEY_CMD"))
        try:
            yield from attempt("SOPS_AGE_KEY_CMD", from_command)
        except (subprocess.SubprocessError, UnicodeDecodeError) as e:
            notes.append(f"skipped SOPS_AGE_KEY_CMD: {e.__class__.__name__}")
    default = _sops_keys_file()
    if default is not None and default.is_file():
        yield from attempt(str(default), lambda: IdentityKey(
            str(default), recipients.identity_from_file(default, explicit=True)))
    if os.environ.get("SOPS_AGE_SSH_PRIVATE_KEY_FILE"):
        path = Path(os.environ["SOPS_AGE_SSH_PRIVATE_KEY_FILE"])
        yield from attempt(f"SOPS_AGE_SSH_PRIVATE_KEY_FILE ({path})", lambda: IdentityKey(
            f"SOPS_AGE_SSH_PRIVATE_KEY_FILE ({path})",
            recipients.identity_from_file(path, explicit=True)))


_UNREAD = object()


class Keyring(Unshowable):
    """Every key source one command may use, each read at most once, in memory only."""
    def __init__(self, key_file: Path | None = None) -> None:
        self.key_file = key_file
        self._explicit: object = _UNREAD  # a KeySource, None, or the error reading it raised
        self._identities: list[KeySource] = []
        self._pending: Iterator[KeySource] | None = None
        self._user_keys: dict[Path, KeySource] = {}
        self.notes: list[str] = []

    def _shown(self) -> str:
        return f"key_file={self.key_file}"

    def explicit(self) -> KeySource | None:
        """The explicit source, or None when none is set (read once; an error reading it is
        raised again, not retried)."""
        if self._explicit is _UNREAD:
            try:
                self._explicit = _explicit(self.key_file)
            except BadKey as e:
                self._explicit = e
        if isinstance(self._explicit, BadKey):
            raise self._explicit
        return self._explicit  # type: ignore[return-value]

    def identities(self) -> Iterator[KeySource]:
        """The implicit identities, each read when first needed and then remembered."""
        yield from self._identities
        if self._pending is None:
            self._pending = _implicit_identities(self.notes)
        for source in self._pending:
            self._identities.append(source)
            yield source

    def user_key(self, path: Path) -> KeySource:
        """A per-user `kgk1_` key file (store/v1.py), read once."""
        if path not in self._user_keys:
            self._user_keys[path] = SymmetricKey(
                str(path), Key.from_text(read_secret_file(path, explicit=False), source=str(path)))
        return self._user_keys[path]

    def unwrap(self, store: StoreFile, display: str) -> FoundKey:
        """A version 2 store's data key, unwrapped by the first identity that is a recipient."""
        explicit = self.explicit()
        if isinstance(explicit, SymmetricKey):
            raise BadKey(f"{explicit.name} holds a `kgk1_` key, which opens only version 1 "
                         f"stores; {display} is version 2, opened by the identity of one of its "
                         f"recipients",
                         hint="for CI, `kortix-guard recipients add ci --generate` and put the "
                              f"identity it prints into {ENV_KEY}")
        tried = []
        for source in [explicit] if explicit is not None else self.identities():
            found = source.open(store, display)
            if found is not None:
                return found
            tried.append(source.describe())
        recipients = ", ".join(f"{n} ({line.kind} {line.fingerprint})"
                               for n, line in store.recipients.items()) or "none"
        details = f"; its recipients: {recipients}"
        if explicit is not None:
            raise BadKey(f"the identity from {explicit.describe()} is not a recipient of "
                         f"{display}{details}", hint="add it from a machine that opens the "
                         "store: `kortix-guard recipients add NAME <its recipient>`")
        details += f"; tried: {', '.join(tried) or 'no identity'}"
        details += "".join(f"; {note}" for note in self.notes)
        raise NoKey(f"no key for this store: no identity here opens {display}{details}",
                    hint=empty_env_hint() or "ask a recipient to run `kortix-guard recipients "
                         "add NAME <your recipient>` (yours: `kortix-guard identity show`; none "
                         "yet: `kortix-guard identity new`)")

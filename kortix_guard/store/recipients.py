"""The only importer of pyrage: age and SSH recipients, wrapping and unwrapping a store's
data key, and personal identities.

A wrapped key is a standard age file (X25519 or SSH recipient stanza), kept base64 on one
line, so `base64 -d | age -d -i IDENTITY` (or `rage -d`) gives the data key back: no format
of our own to trust. Recipients are public; identities are secrets and never printed, except
`identity new`'s public half and `recipients add --generate`'s one-time CI identity.
"""
from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import NamedTuple

from kortix_guard._dirs import config_dir, private_folder
from kortix_guard._fs import atomic_write, read_text
from kortix_guard.errors import BadKey, InputError, StoreError
from kortix_guard.secret import Unshowable
from kortix_guard.store.shapes import (
    AGE_IDENTITY,
    AGE_RECIPIENT,
    RECIPIENT_NAME,
    SSH_RECIPIENT,
    check_private,
    fingerprint,
    recipient_kind,
)

_PRIVATE_HINT = re.compile(r"PRIVATE KEY|AGE-SECRET-KEY-1", re.I)
_REFUSED_SSH = ("ssh-dss", "ecdsa-sha2-", "sk-ecdsa-", "sk-ssh-ed25519")


def _pyrage():
    try:
        import pyrage
    except ImportError:
        raise StoreError("age recipients need the pyrage package, which has no wheel for this "
                         "platform (musl Linux, Windows on ARM)",
                         hint="use a platform with pyrage wheels (Linux glibc, macOS, Windows "
                              "x64), or a symmetric store (`kgk1_` key)") from None
    return pyrage


class Recipient(NamedTuple):
    """A public key the data key is wrapped to. `text` is its one-line public form."""
    kind: str  # "age", "ssh-ed25519" or "ssh-rsa"
    text: str

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.text)

    @classmethod
    def stored(cls, text: str) -> Recipient:
        """A recipient as a store's line holds it (already validated by its shape)."""
        return cls(recipient_kind(text), text)

    def _pyrage_recipient(self):
        pyrage = _pyrage()
        try:
            if self.kind == "age":
                return pyrage.x25519.Recipient.from_str(self.text)
            return pyrage.ssh.Recipient.from_str(self.text)
        except Exception:
            raise InputError(f"not a valid {self.kind} recipient (a bad checksum or key)",
                             hint="copy the public key again: `kortix-guard identity show`, "
                                  "`cat ~/.ssh/id_ed25519.pub`") from None


_KEYS_URL = re.compile(r"(?:https?://)?[\w.-]+\.[a-z]{2,}/\S*|https?://\S+", re.I)


class Parsed(NamedTuple):
    recipients: list[Recipient]
    notes: list[str]  # lines skipped, each with why


def parse_recipients(value: str, *, cwd: Path, stdin_text: str | None = None) -> Parsed:
    """One recipient (`age1…`, an SSH public key line), or every supported key of a keys file
    (`-`: stdin), as `github.com/NAME.keys` serves them: ssh-ed25519 and ssh-rsa keys are
    added, ECDSA and DSA keys skipped with a note. A URL is never fetched (kortix-guard makes
    no network access): the error says how to download and check it first."""
    text = value.strip()
    if AGE_RECIPIENT.fullmatch(text) or SSH_RECIPIENT.fullmatch(text) or _PRIVATE_HINT.search(text):
        return Parsed([parse_recipient(text)], [])
    if text == "-" and stdin_text is not None:
        return _keys_file(stdin_text, "stdin")
    path = cwd / text
    if "\n" not in text and len(text) < 4096 and path.is_file():
        return _keys_file(read_text(path, what="recipient file", limit=64 * 1024), text)
    if _KEYS_URL.fullmatch(text):
        url = text if "://" in text else f"https://{text}"
        raise InputError("kortix-guard does not fetch keys from the network; nothing was stored",
                         hint=f"download them first and check their fingerprints with the "
                              f"person: `curl -fsSL {url} -o keys.pub`, `ssh-keygen -lf "
                              f"keys.pub`, then `kortix-guard recipients add NAME keys.pub` "
                              f"(or pipe them: `curl -fsSL {url} | kortix-guard recipients add "
                              f"NAME -`)")
    return Parsed([parse_recipient(text)], [])


def _keys_file(text: str, display: str) -> Parsed:
    found: list[Recipient] = []
    notes: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(_REFUSED_SSH):
            notes.append(f"{display}:{number}: skipped, {line.split()[0]} keys are not supported")
            continue
        try:
            found.append(parse_recipient(line))
        except InputError as e:
            raise InputError(f"{display}:{number}: {e.message}", hint=e.hint) from None
    if not found:
        raise InputError(f"{display}: no supported key (age1…, ssh-ed25519, ssh-rsa)"
                         + "".join(f"; {n}" for n in notes),
                         hint="ask for an ssh-ed25519 key, or an age key (`kortix-guard "
                              "identity new`, then `identity show`)")
    return Parsed(found, notes)


def parse_recipient(value: str, *, cwd: Path | None = None) -> Recipient:
    """An `age1…` key, an `ssh-ed25519`/`ssh-rsa` public key line, or a path to a file
    holding one. Refused without echoing it: a private key pasted by mistake, `ssh-dss`,
    ECDSA, anything else."""
    text = value.strip()
    if _PRIVATE_HINT.search(text):
        raise InputError("that is a private key, not a recipient; nothing was stored",
                         hint="give the public half: `kortix-guard identity show`, or "
                              "`ssh-keygen -y -f KEY`")
    if not (AGE_RECIPIENT.fullmatch(text) or SSH_RECIPIENT.fullmatch(text)):
        path = (cwd or Path.cwd()) / text
        if "\n" not in text and len(text) < 4096 and path.is_file():
            return parse_recipient(_read_small(path), cwd=None)
    if text.startswith(_REFUSED_SSH):
        raise InputError(f"{text.split()[0]} keys are not supported as recipients",
                         hint="use an ssh-ed25519 or ssh-rsa key, or an age key "
                              "(`kortix-guard identity new`)")
    if AGE_RECIPIENT.fullmatch(text):
        recipient = Recipient("age", text)
    else:
        m = SSH_RECIPIENT.fullmatch(text)
        if m is None:
            raise InputError("not a recipient: expected `age1…`, an `ssh-ed25519` or `ssh-rsa` "
                             "public key line, or a file holding one",
                             hint="`kortix-guard identity show` prints yours")
        recipient = Recipient(m.group(1), f"{m.group(1)} {m.group(2)}")
    recipient._pyrage_recipient()  # the checksum and key parse now, not at wrap time
    return recipient


def _read_small(path: Path) -> str:

    return read_text(path, what="recipient file", limit=16 * 1024).strip().splitlines()[0]


def wrap(data_key: bytes, recipient: Recipient) -> str:
    """The data key as a standard age file for this recipient, base64 on one line."""
    encrypted = _pyrage().encrypt(data_key, [recipient._pyrage_recipient()])
    return base64.b64encode(encrypted).decode("ascii")


class Identity(Unshowable):
    """A private key that may unwrap: never printed, never pickled."""
    __slots__ = ("source", "_identity", "public")

    def __init__(self, source: str, identity: object, public: Recipient | None = None) -> None:
        self.source = source  # where it came from, for messages
        self._identity = identity
        self.public = public  # its public half, when known (for fingerprints)

    def _shown(self) -> str:
        return f"from {self.source}"

    def unwrap(self, wrapped: str) -> bytes | None:
        """The data key, or None when this identity is not a recipient of it."""
        pyrage = _pyrage()
        try:
            return pyrage.decrypt(base64.b64decode(wrapped, validate=True), [self._identity])
        except (pyrage.DecryptError, ValueError):
            return None


def identity_from_text(text: str, source: str, public: Recipient | None = None) -> Identity:
    """An age identity (`AGE-SECRET-KEY-1…`, alone or in an age-keygen file) or an
    unencrypted OpenSSH ed25519/RSA private key."""
    pyrage = _pyrage()
    age = AGE_IDENTITY.search(text)
    if age is not None:
        try:
            identity = pyrage.x25519.Identity.from_str(age.group(0))
        except Exception:
            raise BadKey(f"malformed age identity in {source} (its checksum does not match)",
                         hint="copy it again whole; it is one line starting AGE-SECRET-KEY-1") \
                from None
        return Identity(source, identity, Recipient("age", str(identity.to_public())))
    if "BEGIN OPENSSH PRIVATE KEY" in text:
        if _ssh_key_is_encrypted(text):
            raise BadKey(f"{source}: a passphrase-protected SSH key, which age cannot use "
                         f"unattended", hint="use an unprotected key for kortix-guard, or an "
                                             "age identity (`kortix-guard identity new`)")
        try:
            return Identity(source, pyrage.ssh.Identity.from_buffer(text.encode()), public)
        except Exception:
            raise BadKey(f"{source}: an SSH key type age cannot use (only ed25519 and RSA)",
                         hint="use an ssh-ed25519 key or an age identity") from None
    raise BadKey(f"{source}: not a kgk1_ key, an age identity or an OpenSSH private key",
                 hint="give a file holding one of them")


def _ssh_key_is_encrypted(text: str) -> bool:
    """The OpenSSH format names its cipher right after the magic: `none` when unprotected."""
    body = "".join(line for line in text.splitlines() if line and "-----" not in line)
    try:
        raw = base64.b64decode(body)
    except ValueError:
        return False
    magic = b"openssh-key-v1\0"
    if not raw.startswith(magic):
        return False
    length = int.from_bytes(raw[len(magic):len(magic) + 4], "big")
    return raw[len(magic) + 4:len(magic) + 4 + length] != b"none"


def identity_from_file(path: Path, *, explicit: bool, text: str | None = None) -> Identity:
    check_private(path, what="identity file")
    if text is None:
        text = read_text(path, what="identity file", limit=64 * 1024, allow_pipe=explicit)
    return identity_from_text(text, str(path), _public_beside(path))


def _public_beside(path: Path) -> Recipient | None:
    """An SSH key's public half, from `KEY.pub` beside it, for fingerprints in messages."""
    pub = path.with_name(path.name + ".pub")
    try:
        line = pub.read_text(encoding="utf-8").strip() if pub.is_file() else ""
    except (OSError, UnicodeDecodeError):
        return None
    m = SSH_RECIPIENT.fullmatch(line)
    return Recipient(m.group(1), f"{m.group(1)} {m.group(2)}") if m else None


def is_protected_ssh_key(text: str) -> bool:
    return "BEGIN OPENSSH PRIVATE KEY" in text and _ssh_key_is_encrypted(text)


def check_name(name: str) -> None:
    if not RECIPIENT_NAME.fullmatch(name):
        raise InputError("a recipient NAME is 1 to 64 letters, digits and `._@+-` (`alice`, "
                         "`ci`, an email)", hint="pick a name such as `ci` or your email")


def generate() -> tuple[str, str]:
    """A new age identity: (the identity's text, its public recipient)."""
    identity = _pyrage().x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def personal_identity_path() -> Path:

    return config_dir() / "identity.txt"


def create_personal_identity() -> tuple[Path, str]:
    """Write your age identity (0600, in a 0700 folder); refuse to replace one."""
    path = personal_identity_path()
    if path.exists():
        raise StoreError(f"{path}: you already have an identity; kortix-guard never replaces it",
                         hint="`kortix-guard identity show` prints its recipient")
    private_folder("config")
    secret, public = generate()
    atomic_write(path, f"# kortix-guard personal identity\n# public key: {public}\n{secret}\n"
                 .encode("ascii"), mode=0o600)
    return path, public


def personal_recipient() -> Recipient:
    """Your personal identity's public half."""
    path = personal_identity_path()
    if not path.exists():
        raise StoreError("you have no identity yet", hint="create one: `kortix-guard identity new`")
    public = identity_from_file(path, explicit=False).public
    assert public is not None  # an age identity always knows its recipient
    return public


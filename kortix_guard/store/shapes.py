"""Facts about the store's text that need no key and no outside library: the shapes of
recipients and recipient names, public-key fingerprints, and the rule that a file holding a
key or an identity is yours alone. The file format, the recipients module and the key lookup
all build on it (it imports none of them)."""
from __future__ import annotations

import re
import stat
import sys
from pathlib import Path

from kortix_guard.errors import BadKey

# The store's own text, which the scanner recognises as not secret.
STORE_MARK = "# kortix-guard encrypted store:"  # how a store's first line starts
SEALED_PREFIX = "kg1:"  # a sealed value, format version 1
SEALED = SEALED_PREFIX + r"[A-Za-z0-9_-]+"
HEX_FIELDS = {"store_id": 32, "key_id": 16, "mac": 64}  # fixed-length public fields
PUBLIC_HEX_FIELDS = (*HEX_FIELDS, "previous_key_id", "chain", "signer", "signature")  # every hex field

AGE_RECIPIENT = re.compile(r"age1[02-9ac-hj-np-z]{58}")
AGE_IDENTITY = re.compile(r"AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}")
SSH_RECIPIENT = re.compile(r"(ssh-ed25519|ssh-rsa) (AAAA[A-Za-z0-9+/]+={0,3})(?: .*)?")
SSH_PUBLIC = re.compile(r"(?:ssh-ed25519|ssh-rsa) AAAA[A-Za-z0-9+/]+={0,3}")  # as stored
RECIPIENT_NAME = re.compile(r"[A-Za-z0-9._@+-]{1,64}")


def is_recipient_text(text: str) -> bool:
    """A recipient as a store's line holds it: `age1…`, or an SSH public key without comment."""
    return bool(AGE_RECIPIENT.fullmatch(text) or SSH_PUBLIC.fullmatch(text))


def recipient_kind(text: str) -> str:
    """"age", "ssh-ed25519" or "ssh-rsa"."""
    return "age" if text.startswith("age1") else text.split()[0]


def fingerprint(text: str) -> str:
    """`SHA256:…` of a public key, as `ssh-keygen -l` prints it (for age, of the recipient
    string)."""
    import base64
    import hashlib

    raw = text.encode() if recipient_kind(text) == "age" else base64.b64decode(text.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")


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

"""The only importer of cryptography: the key's text form, sealing values, the store's MAC.

A recipe in the manner of Fernet, around AES-256-GCM: the key is checked early (a typo is a
malformed key, not a tampered store), every sealed value carries a version, and every failure
to open collapses into one opaque error, so nothing tells a forger which part was wrong.
"""
from __future__ import annotations

import base64
import hashlib
import hmac as _hmac
import os
from collections.abc import Callable, Iterable

from kortix_guard.errors import BadKey, StoreError
from kortix_guard.secret import SecretValue, Unshowable
from kortix_guard.store import shapes

KEY_PREFIX = "kgk1_"  # kortix-guard key, text form version 1
KEY_BYTES = 32
CHECKSUM_BYTES = 4
TOKEN_PREFIX = shapes.SEALED_PREFIX
NONCE_BYTES = 12
TAG_BYTES = 16
_KEY_TEXT_LEN = len(KEY_PREFIX) + len(base64.urlsafe_b64encode(b"\0" * (KEY_BYTES + CHECKSUM_BYTES)))

Random = Callable[[int], bytes]
_REEXPORT = ("copy it again whole: `kortix-guard key export` on a machine that opens the store, "
             "then `kortix-guard key import` here (or the CI secret KORTIX_GUARD_KEY)")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _checksum(key: bytes) -> bytes:
    return hashlib.sha256(KEY_PREFIX.encode() + key).digest()[:CHECKSUM_BYTES]


def _derive(key: bytes, purpose: str, length: int = 32) -> bytes:
    """HKDF-SHA256 (RFC 5869) with no salt: the standard library's HMAC computes it, so a key's
    id and chain key need no import of cryptography (tests compare it with cryptography's
    HKDF); only sealing and opening values load it."""
    prk = _hmac.new(b"\0" * hashlib.sha256().digest_size, key, hashlib.sha256).digest()
    info, block, out = f"kortix-guard v1 {purpose}".encode(), b"", b""
    counter = 1
    while len(out) < length:
        block = _hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


class Key(Unshowable):
    """A 256-bit store key. Its repr is redacted; `text()` is for `key export` alone."""

    __slots__ = ("_raw", "id")

    def __init__(self, raw: bytes) -> None:
        if len(raw) != KEY_BYTES:
            raise BadKey("a key is 32 bytes", hint="get the key again from its source")
        self._raw = raw
        # Names the key in the store file without revealing anything about it.
        self.id = _derive(raw, "key id", 8).hex()

    @classmethod
    def generate(cls, *, random: Random = os.urandom) -> Key:
        return cls(random(KEY_BYTES))

    @classmethod
    def from_text(cls, text: str, *, source: str) -> Key:
        """Parse the text form; any typo is a 'malformed key' naming where it came from."""
        text = text.strip()
        if not text.startswith(KEY_PREFIX) or len(text) != _KEY_TEXT_LEN:
            raise BadKey(f"malformed key in {source}: a kortix-guard key is `{KEY_PREFIX}` "
                         f"and {_KEY_TEXT_LEN - len(KEY_PREFIX)} characters", hint=_REEXPORT)
        try:
            blob = _unb64(text[len(KEY_PREFIX):])
        except ValueError:
            raise BadKey(f"malformed key in {source}: not base64url", hint=_REEXPORT) from None
        raw, checksum = blob[:KEY_BYTES], blob[KEY_BYTES:]
        if not _hmac.compare_digest(checksum, _checksum(raw)):
            raise BadKey(f"malformed key in {source}: its checksum does not match (a typo?)",
                         hint=_REEXPORT)
        return cls(raw)

    def text(self) -> str:
        return KEY_PREFIX + _b64(self._raw + _checksum(self._raw))

    def material(self) -> bytes:
        """The raw 32 bytes, for wrapping to a recipient (store/recipients.py) alone."""
        return self._raw

    def chain_key(self) -> bytes:
        """The key that authenticates the next re-key's chain link. Derived: it can neither
        open a value nor compute the store's MAC, so a machine may remember it."""
        return _derive(self._raw, "re-key chain")

    def sealer(self, store_id: str, *, random: Random = os.urandom) -> Sealer:
        return Sealer(self._raw, store_id, random=random)

    def signing_key(self) -> SigningKey:
        """The Ed25519 key of this generation (version 3): derived from the data key, so every
        holder signs the store it writes and the next generation's link, and nothing a
        machine remembers (the public key) can sign."""
        return SigningKey(_derive(self._raw, "signing key"))

    def _shown(self) -> str:
        return f"id={self.id}"


class Sealer:
    """Seals and opens the values of one store, and computes its MAC."""

    __slots__ = ("_aead", "_mac_key", "_store_id", "_random")

    def __init__(self, raw: bytes, store_id: str, *, random: Random = os.urandom) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(_derive(raw, "value encryption"))
        self._mac_key = _derive(raw, "store mac")
        self._store_id = store_id
        self._random = random

    def _aad(self, name: str) -> bytes:
        # Binds a sealed value to this store and this name: moved elsewhere, it will not open.
        return b"kortix-guard v1\0" + self._store_id.encode() + b"\0" + name.encode()

    def seal(self, name: str, value: SecretValue) -> str:
        nonce = self._random(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, value.reveal().encode("utf-8"), self._aad(name))
        return TOKEN_PREFIX + _b64(nonce + sealed)

    def open(self, name: str, token: str) -> SecretValue:
        try:
            if not token.startswith(TOKEN_PREFIX):
                raise ValueError
            blob = _unb64(token[len(TOKEN_PREFIX):])
            if len(blob) < NONCE_BYTES + TAG_BYTES:
                raise ValueError
            plain = self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], self._aad(name))
            return SecretValue(plain.decode("utf-8"))
        except (ValueError, _invalid_tag(), UnicodeDecodeError):
            raise StoreError(f"the sealed value of {name} does not open: the store was "
                             f"corrupted or tampered with",
                             hint="restore the store from git (`git checkout -- <store>`)") \
                from None

    def mac(self, parts: Iterable[str]) -> str:
        """HMAC-SHA256 over a length-prefixed encoding of every part (StoreFile.mac_input)."""
        return _hmac.new(self._mac_key, _encode(parts), digestmod=hashlib.sha256).hexdigest()


class SigningKey(Unshowable):
    """An Ed25519 private key; `public` is its public key in hex, as the store records it."""

    __slots__ = ("_key", "public")

    def __init__(self, seed: bytes) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        # public_bytes_raw, not public_bytes: the serialization module costs a commit hook
        # its dataclasses import.
        self.public = self._key.public_key().public_bytes_raw().hex()

    def sign(self, parts: Iterable[str]) -> str:
        return self._key.sign(_encode(parts)).hex()

    def _shown(self) -> str:
        return f"public={self.public[:16]}…"


def verify_signature(public: str, parts: Iterable[str], signature: str) -> bool:
    """Whether signature (hex) is public's (hex) Ed25519 signature over parts."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public)).verify(
            bytes.fromhex(signature), _encode(parts))
    except (ValueError, InvalidSignature):
        return False
    return True


def link_parts(store_id: str, generation: int, key_id: str, previous_key_id: str,
               signer: str) -> list[str]:
    """What a version 3 re-key link signs: the previous generation's signing key vouches
    for the next generation's key id and public signing key."""
    return ["kortix-guard re-key v3", store_id, str(generation), key_id, previous_key_id, signer]


def _encode(parts: Iterable[str]) -> bytes:
    """Each part as its length (8 bytes, big-endian) and its UTF-8 bytes."""
    chunks: list[bytes] = []
    for part in parts:
        data = part.encode("utf-8")
        chunks += (len(data).to_bytes(8, "big"), data)
    return b"".join(chunks)


def _invalid_tag() -> type[Exception]:
    from cryptography.exceptions import InvalidTag

    return InvalidTag


def chain_link(previous_chain_key: bytes, store_id: str, key_id: str, generation: int) -> str:
    """HMAC(previous key, store id ‖ new key id ‖ generation): only a holder of the previous
    data key can make a re-key that chains from it."""
    parts = ("kortix-guard re-key", store_id, key_id, str(generation))
    return _hmac.new(previous_chain_key, _encode(parts), digestmod=hashlib.sha256).hexdigest()


def verify_mac(expected: str, actual: str) -> bool:
    return _hmac.compare_digest(expected.encode(), actual.encode())


def is_key_text(data: bytes) -> bool:
    """Whether data is a kortix-guard key in its text form (checksum verified)."""
    try:
        Key.from_text(data.decode("ascii"), source="")
    except (UnicodeDecodeError, BadKey):
        return False
    return True

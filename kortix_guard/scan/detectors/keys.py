"""Keys (all `high`): private key blocks with key material (KG321), kortix-guard keys with a
valid checksum (KG324), and age identities with a valid bech32 checksum (KG325)."""
from __future__ import annotations

from kortix_guard.scan.detectors.base import Example, H, regex_detector
from kortix_guard.scan.model import LazyPattern


def _is_key_text(data: bytes) -> bool:
    """The store's own check of a key's text (its checksum), loaded at the first candidate:
    the store's crypto module loads OpenSSL's hashes, a tenth of a clean commit hook."""
    from kortix_guard.store import is_key_text

    return is_key_text(data)


E = Example
_KEY_MATERIAL = LazyPattern(rb"[A-Za-z0-9+/=]")


_ELIDED = LazyPattern(rb"(?m)^[ \t]*(?:\.\.\.+|\xe2\x80\xa6)[ \t]*\r?$")


def _has_key_material(block: bytes) -> bool:
    """A header alone is documentation; a key has material (also inside JSON `\\n` escapes).
    A block with a line of `...` in it is an excerpt (its middle left out), not a key."""
    body = block.replace(b"\\n", b"\n")
    return len(_KEY_MATERIAL.findall(body)) >= 40 and _ELIDED.search(body) is None


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _polymod(values: list[int]) -> int:
    generator = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= generator[i] if (top >> i) & 1 else 0
    return chk


def valid_age_identity(token: bytes) -> bool:
    """Whether token is an `AGE-SECRET-KEY-1…` identity whose bech32 checksum holds."""
    text = token.decode("ascii", "replace").lower()
    hrp, _, data = text.rpartition("1")
    if hrp != "age-secret-key-" or len(data) < 7 or any(c not in _BECH32 for c in data):
        return False
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    return _polymod(expanded + [_BECH32.index(c) for c in data]) == 1


DETECTORS = [
    regex_detector(
        "private-key", "KG321", "private key", H, (rb"PRIVATE KEY", rb"PuTTY-User-Key-File-"),
        rb"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP |SSH2 ENCRYPTED )?PRIVATE KEY"
        rb"(?: BLOCK)?-----(?P<s>[\s\S]{0,20000}?)-----END[A-Z0-9 ]* PRIVATE KEY"
        rb"|PuTTY-User-Key-File-\d: [\s\S]{0,4000}?Private-Lines: \d+\r?\n(?P<p>[A-Za-z0-9+/=\r\n]{40,})",
        multiline=True, validate=_has_key_material, kind="key",
        examples=(E("deploy/id.txt", "-----BEGIN RSA PRIVATE KEY-----\n{b64:64}\n{b64:64}\n"
                                     "-----END RSA PRIVATE KEY-----"),
                  E("sa.json", '{"k": "-----BEGIN PRIVATE KEY-----\\n{b64:64}\\n'
                               '-----END PRIVATE KEY-----\\n"}'),
                  E("putty.txt", "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n"
                                 "Private-Lines: 1\n{b64:64}\n")),
        negatives=(E("docs.md", "a key starts with -----BEGIN RSA PRIVATE KEY----- and ends"),
                   E("cert.pem", "-----BEGIN CERTIFICATE-----\n{b64:64}\n-----END CERTIFICATE-----"),
                   E("admin_test.go", "keyPEM := []byte(`-----BEGIN PRIVATE KEY-----\n{b64:64}\n...\n"
                                      "-----END PRIVATE KEY-----`)"))),
    regex_detector(
        "kortix-guard-key", "KG324", "kortix-guard key", H, (rb"kgk1_",),
        rb"(?<![\w-])kgk1_[A-Za-z0-9_-]{48}(?![\w-])", validate=_is_key_text, kind="key",
        hint="rotate it: `kortix-guard key rotate`",
        examples=(E("notes.md", "the key is {kgk1}"),),
        negatives=(E("notes.md", "kgk1_{upper:48}"),)),
    regex_detector(
        "age-identity", "KG325", "age identity", H, (rb"AGE-SECRET-KEY-1",),
        rb"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}", validate=valid_age_identity,
        kind="key", hint="create a new identity and remove this one from every store's recipients",
        examples=(E("ci.txt", "KEY={age}"),),
        negatives=(E("ci.txt", "AGE-SECRET-KEY-1{bech:58}"),)),
]

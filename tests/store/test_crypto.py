"""The crypto recipe: key text form, sealing bound to store and name, opaque failures."""
from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kortix_guard.errors import BadKey, StoreError
from kortix_guard.secret import SecretValue
from kortix_guard.store.crypto import KEY_PREFIX, Key

STORE_ID = "0" * 32


def test_key_text_round_trip() -> None:
    key = Key.generate()
    text = key.text()
    assert text.startswith(KEY_PREFIX)
    assert Key.from_text(text + "\n", source="t").id == key.id
    assert text not in repr(key)


def _typo(text: str) -> str:
    i = len(text) // 2
    return text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1:]


@pytest.mark.parametrize("mangle", [
    _typo, lambda t: t[:-1], lambda t: t + "x", lambda t: "kgk2_" + t[5:], lambda t: t.upper(),
    lambda t: "", lambda t: t[:10] + "!" + t[11:],
], ids=["typo", "short", "long", "prefix", "case", "empty", "bad-char"])
def test_malformed_key_is_reported_as_such(mangle) -> None:
    text = Key.generate().text()
    with pytest.raises(BadKey, match="malformed key in here") as info:
        Key.from_text(mangle(text), source="here")
    assert text[5:] not in str(info.value)


def test_sealed_value_is_bound_to_its_name_and_store() -> None:
    key = Key.generate()
    sealer = key.sealer(STORE_ID)
    token = sealer.seal("A", SecretValue("hunter2hunter2"))
    assert sealer.open("A", token) == SecretValue("hunter2hunter2")
    with pytest.raises(StoreError, match="sealed value of B does not open"):
        sealer.open("B", token)
    with pytest.raises(StoreError):
        key.sealer("1" * 32).open("A", token)
    with pytest.raises(StoreError):
        Key.generate().sealer(STORE_ID).open("A", token)


def test_every_flipped_character_fails_to_open() -> None:
    sealer = Key.generate().sealer(STORE_ID)
    token = sealer.seal("A", SecretValue("value"))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"  # kortix-guard: allow
    # Every position of nonce, ciphertext and tag (the last character carries only some
    # bits of the final byte, so flip it to a character that differs in its top bits).
    for i in range(len("kg1:"), len(token)):
        flipped = alphabet[(alphabet.index(token[i]) + 32) % 64]
        with pytest.raises(StoreError):
            sealer.open("A", token[:i] + flipped + token[i + 1:])


def test_fresh_nonce_per_seal_and_injectable_random() -> None:
    key = Key.generate()
    sealer = key.sealer(STORE_ID)
    assert sealer.seal("A", SecretValue("v")) != sealer.seal("A", SecretValue("v"))
    counter = itertools.count()
    fixed = key.sealer(STORE_ID, random=lambda n: bytes([next(counter) % 256]) * n)
    assert fixed.seal("A", SecretValue("v")) != fixed.seal("A", SecretValue("v"))


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), st.just(""), st.just("a\r\nb\n"), st.text(alphabet="\r\n\t \x7f\x01")))
def test_round_trip_any_text(value: str) -> None:
    sealer = Key.generate().sealer(STORE_ID)
    assert sealer.open("NAME", sealer.seal("NAME", SecretValue(value))).reveal() == value


def test_round_trip_one_megabyte() -> None:
    sealer = Key.generate().sealer(STORE_ID)
    value = "é\n" * (512 * 1024)
    assert sealer.open("BIG", sealer.seal("BIG", SecretValue(value))).reveal() == value


def test_secret_value_never_prints() -> None:
    value = SecretValue("hunter2-planted")
    for shown in (repr(value), str(value), f"{value}", f"{value!r}", "%s" % value, str([value])):  # noqa: UP031 (the %-format must redact too)
        assert "hunter2" not in shown
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(value)


@given(st.binary(min_size=32, max_size=32), st.text(max_size=40), st.integers(1, 80))
def test_the_key_derivation_is_hkdf_sha256(raw: bytes, purpose: str, length: int) -> None:
    """Key ids and chain keys are derived with the standard library's HMAC (no cryptography
    import for them): the same bytes as cryptography's HKDF, salt-less, SHA-256."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    from kortix_guard.store.crypto import _derive

    expected = HKDF(algorithm=hashes.SHA256(), length=length, salt=None,
                    info=f"kortix-guard v1 {purpose}".encode()).derive(raw)
    assert _derive(raw, purpose, length) == expected

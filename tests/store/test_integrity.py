"""Every failure to open exits 2 with one clear message and changes nothing on disk."""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from kortix_guard.store.crypto import Key
from tests.conftest import kg, kg_proc
from tests.store.conftest import STORE, forget_user_keys

SECRET = "planted-Value-9f8e7d"  # kortix-guard: allow


def _flip(text: str, pattern: str, offset: int = 0) -> str:
    """Change one base64url/hex character of the first match of pattern."""
    m = re.search(pattern, text, re.MULTILINE)
    assert m
    i = m.start(1) + offset
    c = text[i]
    return text[:i] + ("b" if c != "b" else "c") + text[i + 1:]


def _swap(text: str) -> str:
    a = re.search(r'^A_ONE = "(.*)"$', text, re.MULTILINE)
    b = re.search(r'^B_TWO = "(.*)"$', text, re.MULTILINE)
    assert a and b
    return text.replace(a.group(1), "@@").replace(b.group(1), a.group(1)).replace("@@", b.group(1))


TAMPERING: list[tuple[str, Callable[[str], str], str]] = [
    ("nonce", lambda t: _flip(t, r'^A_ONE = "kg1:(.)', 2), "MAC does not verify"),
    ("ciphertext", lambda t: _flip(t, r'^A_ONE = "kg1:(.)', 20), "MAC does not verify"),
    ("tag", lambda t: _flip(t, r'^A_ONE = "kg1:.*(.)..."$'), "MAC does not verify"),
    ("mac", lambda t: _flip(t, r'^mac = "(.)'), "MAC does not verify"),
    ("swapped entries", _swap, "MAC does not verify"),
    ("deleted entry", lambda t: re.sub(r"^B_TWO = .*\n", "", t, flags=re.MULTILINE),
     "MAC does not verify"),
    ("added entry", lambda t: t + re.search(r'^A_ONE = "(.*)"$', t, re.M).group(0)
     .replace("A_ONE", "C_NEW") + "\n", "MAC does not verify"),
    ("key id", lambda t: _flip(t, r'^key_id = "(.)'), "wrong key"),
    ("version", lambda t: t.replace("version = 1", "version = 7"),
     "store version 7; this kortix-guard reads versions 1 to 3"),
    ("broken toml", lambda t: t.replace("[secrets]", "[secrets"), "not a valid store"),
    ("conflict markers", lambda t: t.replace("[secrets]\n", "[secrets]\n<<<<<<< HEAD\n"),
     "conflict markers"),
    ("not utf-8", lambda t: t.replace("[secrets]", "[secrets]\udcff"), "not UTF-8"),
]


@pytest.fixture
def filled(store_project: Path) -> Path:
    assert kg("secrets", "set", f"A_ONE={SECRET}", "B_TWO=other-planted", cwd=store_project).code == 0
    return store_project


@pytest.mark.parametrize(("tamper", "message"), [t[1:] for t in TAMPERING],
                         ids=[t[0] for t in TAMPERING])
def test_tampered_store(filled: Path, tamper: Callable[[str], str], message: str) -> None:
    path = filled / STORE
    data = tamper(path.read_text()).encode("utf-8", "surrogateescape")
    path.write_bytes(data)
    for args in (["secrets", "set", "NEW=x"], ["key", "export"], ["secrets", "rm", "A_ONE"]):
        result = kg_proc(*args, cwd=filled)
        assert result.code == 2, (args, result.err)
        assert message in result.err
        assert "Traceback" not in result.all
        assert SECRET not in result.all
        assert path.read_bytes() == data


@pytest.mark.parametrize(("env", "message"), [
    ({"KORTIX_GUARD_KEY": Key.generate().text()}, "wrong key: the key from KORTIX_GUARD_KEY"),
    ({"KORTIX_GUARD_KEY": "kgk1_short"}, "malformed key in KORTIX_GUARD_KEY"),
    ({"KORTIX_GUARD_KEY_FILE": "/nonexistent/key"}, "/nonexistent/key: no such key file"),
], ids=["wrong", "malformed", "missing-file"])
def test_bad_keys(filled: Path, env: dict[str, str], message: str) -> None:
    before = (filled / STORE).read_bytes()
    result = kg_proc("secrets", "set", "NEW=x", cwd=filled, env=env)
    assert result.code == 2
    assert message in result.err
    assert (filled / STORE).read_bytes() == before


def test_no_key(filled: Path, user_config: Path) -> None:
    forget_user_keys(user_config)
    result = kg_proc("key", "export", cwd=filled)
    assert result.code == 2
    assert "no key for this store" in result.err
    assert "hint:" in result.err


def test_no_store(project: Path) -> None:
    result = kg_proc("secrets", "set", "A=1", cwd=project)
    assert result.code == 2
    assert "no store here" in result.err


def _store_files():
    from hypothesis import strategies as st

    from kortix_guard.store.fileformat import EntryMeta, RecipientLine, StoreFile

    hexes = lambda n: st.text("0123456789abcdef", min_size=n, max_size=n)  # noqa: E731
    names = st.from_regex(r"[A-Z_][A-Z0-9_]{0,20}", fullmatch=True)
    tokens = st.from_regex(r"kg1:[A-Za-z0-9_-]{10,40}", fullmatch=True)
    recipient = st.sampled_from(["age1" + "q" * 58, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI+/x",
                                 "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ=="])
    def team(version, sid, kid, mac, gen, entries, recips, marks, signed_link):
        signed = version == 3
        return StoreFile(
            sid, kid, mac, {n: t for n, t in entries.items()}, version=version, generation=gen,
            previous_key_id=kid if gen > 1 else "",
            chain=(mac * 2 if signed and signed_link else mac) if gen > 1 else "",
            recipients={n: RecipientLine(r, "2026-11-29T02:24:00Z", "YWdl+/==")
                        for n, r in recips.items()},
            meta={n: EntryMeta("2026-11-29T02:24:00Z", marks if signed else marks[:1])
                  for n in entries},
            signer=mac if signed else "", signature=mac * 2 if signed else "")

    v2 = st.builds(
        team, st.sampled_from([2, 3]), hexes(32), hexes(16), hexes(64), st.integers(1, 10**6),
        st.dictionaries(names, tokens, max_size=5),
        st.dictionaries(st.from_regex(r"[A-Za-z0-9._@+-]{1,64}", fullmatch=True), recipient,
                        max_size=4),
        st.sampled_from([(), ("rotate",), ("carried",), ("rotate", "carried")]), st.booleans())
    v1 = st.builds(lambda sid, kid, mac, entries: StoreFile(sid, kid, mac, entries),
                   hexes(32), hexes(16), hexes(64), st.dictionaries(names, tokens, max_size=5))
    return st.one_of(v1, v2)


def test_the_fast_reader_agrees_with_tomllib() -> None:
    """The line-by-line reader of canonical files returns exactly what tomllib returns, for
    every file kortix-guard can write (all three versions), and parses back to the same store."""
    from hypothesis import given, settings

    from kortix_guard.store.fileformat import _canonical_loads, parse
    from tests.conftest import tomllib

    @settings(max_examples=300, deadline=None)
    @given(_store_files())
    def check(sf) -> None:
        text = sf.render().decode()
        assert _canonical_loads(text) == tomllib.loads(text)
        assert parse(text, "s") == sf  # and it is canonical: accepted byte for byte

    check()

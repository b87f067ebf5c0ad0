"""Every failure to open exits 2 with one clear message and changes nothing on disk."""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from kortix_guard.store.crypto import Key
from tests.conftest import kg, kg_proc, make_v1_store
from tests.store.conftest import STORE, forget_user_keys

SECRET = "planted-Value-9f8e7d"  # kortix-guard: allow


def _flip(text: str, pattern: str, offset: int = 0) -> str:
    """Change one base64url/hex character of the first match of pattern."""
    m = re.search(pattern, text, re.MULTILINE)
    assert m
    i = m.start(1) + offset
    c = text[i]
    return text[:i] + ("b" if c != "b" else "c") + text[i + 1:]


_VALUE = r'^{name} = (?:\{{ value = )?"'  # a sealed value's line, version 1 or later


def _swap(text: str) -> str:
    a = re.search(_VALUE.format(name="A_ONE") + '([^"]*)"', text, re.MULTILINE)
    b = re.search(_VALUE.format(name="B_TWO") + '([^"]*)"', text, re.MULTILINE)
    assert a and b
    return text.replace(a.group(1), "@@").replace(b.group(1), a.group(1)).replace("@@", b.group(1))


def _added(text: str) -> str:
    line = re.search(_VALUE.format(name="A_ONE") + ".*$", text, re.MULTILINE)
    assert line
    return text + line.group(0).replace("A_ONE", "C_NEW") + "\n"


A_ONE = _VALUE.format(name="A_ONE")
TAMPERING: list[tuple[str, Callable[[str], str], str]] = [
    ("nonce", lambda t: _flip(t, A_ONE + "kg1:(.)", 2), "MAC does not verify"),
    ("ciphertext", lambda t: _flip(t, A_ONE + "kg1:(.)", 20), "MAC does not verify"),
    ("tag", lambda t: _flip(t, A_ONE + 'kg1:[^"]*(.)..."'), "MAC does not verify"),
    ("mac", lambda t: _flip(t, r'^mac = "(.)'), "MAC does not verify"),
    ("swapped entries", _swap, "MAC does not verify"),
    ("deleted entry", lambda t: re.sub(r"^B_TWO = .*\n", "", t, flags=re.MULTILINE),
     "MAC does not verify"),
    ("added entry", _added, "MAC does not verify"),
    ("key id", lambda t: _flip(t, r'^key_id = "(.)'), "KEY ID"),
    ("version", lambda t: re.sub(r"^version = [0-9]+$", "version = 7", t, count=1, flags=re.M),
     "store version 7; this kortix-guard reads versions 1 to 4"),
    ("broken toml", lambda t: t.replace("[secrets]", "[secrets"), "not a valid store"),
    ("conflict markers", lambda t: t.replace("[secrets]\n", "[secrets]\n<<<<<<< HEAD\n"),
     "conflict markers"),
    ("not utf-8", lambda t: t.replace("[secrets]", "[secrets]\udcff"), "not UTF-8"),
]
# A changed key id: version 1 looks for another key; from version 2 the data key a recipient
# unwraps is not the key the file names.
KEY_ID = {"v1": "wrong key", "current": "is not the store's key"}
# What each format's commands that open the store are: version 1 has `key export`.
OPENING = {"v1": ["key", "export"], "current": ["inject", "--check"]}


@pytest.fixture(params=["current", "v1"])
def filled(request: pytest.FixtureRequest, project: Path) -> tuple[Path, str]:
    if request.param == "v1":
        make_v1_store(project)
    else:
        assert kg("key", "new", cwd=project).code == 0
    assert kg("secrets", "set", f"A_ONE={SECRET}", "B_TWO=other-planted", cwd=project).code == 0
    return project, request.param


@pytest.mark.parametrize(("tamper", "message"), [t[1:] for t in TAMPERING],
                         ids=[t[0] for t in TAMPERING])
def test_tampered_store(filled: tuple[Path, str], tamper: Callable[[str], str],
                        message: str) -> None:
    root, kind = filled
    path = root / STORE
    data = tamper(path.read_text()).encode("utf-8", "surrogateescape")
    path.write_bytes(data)
    message = KEY_ID[kind] if message == "KEY ID" else message
    for args in (["secrets", "set", "NEW=x"], OPENING[kind], ["secrets", "rm", "A_ONE"],
                 ["secrets", "ls"]):
        result = kg_proc(*args, cwd=root)
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
def test_bad_keys(filled: tuple[Path, str], env: dict[str, str], message: str) -> None:
    root, kind = filled
    if kind == "current" and message.startswith("wrong key"):
        message = "holds a `kgk1_` key, which opens only version 1 stores"
    before = (root / STORE).read_bytes()
    result = kg_proc("secrets", "set", "NEW=x", cwd=root, env=env)
    assert result.code == 2
    assert message in result.err
    assert (root / STORE).read_bytes() == before


def test_no_key(filled: tuple[Path, str], user_config: Path) -> None:
    root, kind = filled
    forget_user_keys(user_config)
    result = kg_proc(*OPENING[kind], cwd=root)
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
    def team(version, sid, kid, mac, gen, entries, recips, marks, signed_link, revision):
        signed = version >= 3
        return StoreFile(
            sid, kid, mac, {n: t for n, t in entries.items()}, version=version, generation=gen,
            previous_key_id=kid if gen > 1 else "",
            chain=(mac * 2 if signed and signed_link else mac) if gen > 1 else "",
            recipients={n: RecipientLine(r, "2026-11-29T02:24:00Z", "YWdl+/==",
                                         n if version >= 4 else "")
                        for n, r in recips.items()},
            meta={n: EntryMeta("2026-11-29T02:24:00Z", marks if signed else marks[:1])
                  for n in entries},
            signer=mac if signed else "", signature=mac * 2 if signed else "",
            revision=revision if version >= 4 else 0)

    v2 = st.builds(
        team, st.sampled_from([2, 3, 4]), hexes(32), hexes(16), hexes(64), st.integers(1, 10**6),
        st.dictionaries(names, tokens, max_size=5),
        st.dictionaries(st.from_regex(r"[A-Za-z0-9._@+-]{1,64}", fullmatch=True), recipient,
                        max_size=4),
        st.sampled_from([(), ("rotate",), ("carried",), ("rotate", "carried")]), st.booleans(),
        st.integers(1, 10**6))
    v1 = st.builds(lambda sid, kid, mac, entries: StoreFile(sid, kid, mac, entries),
                   hexes(32), hexes(16), hexes(64), st.dictionaries(names, tokens, max_size=5))
    return st.one_of(v1, v2)


def test_the_fast_reader_agrees_with_tomllib() -> None:
    """The line-by-line reader of canonical files returns exactly what tomllib returns, for
    every file kortix-guard can write (all four versions), and parses back to the same store."""
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

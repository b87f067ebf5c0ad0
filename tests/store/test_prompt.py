"""`secrets set NAME` on a terminal prompts without echo (a real pseudo-terminal)."""
from __future__ import annotations

import os
from pathlib import Path

from tests.store.test_secrets import values
from tests.terminal import finish as _finish
from tests.terminal import read_until as _read_until
from tests.terminal import spawn as _spawn

VALUE = "typed-at-the-prompt-7f3a"


def test_prompt_hides_the_value_and_asks_twice(store_project: Path) -> None:
    pid, fd = _spawn(store_project, "secrets", "set", "DATABASE_URL")
    before = _read_until(fd, b"(not shown): ")
    assert b"Value for DATABASE_URL" in before
    os.write(fd, b"\n")  # Enter on an empty prompt: told why it asks again
    empty = _read_until(fd, b"(not shown): ")
    assert b"an empty value is not stored" in empty
    os.write(fd, VALUE.encode() + b"\n")
    assert b"Again, to confirm DATABASE_URL" in _read_until(fd, b"confirm DATABASE_URL: ")
    os.write(fd, VALUE.encode() + b"\n")
    code, after = _finish(pid, fd, b"1/1 set")
    assert code == 0, after
    assert VALUE.encode() not in before + empty + after  # never echoed
    assert values(store_project) == {"DATABASE_URL": VALUE}


def test_values_that_differ_store_nothing(store_project: Path) -> None:
    pid, fd = _spawn(store_project, "secrets", "set", "DATABASE_URL")
    _read_until(fd, b"(not shown): ")
    os.write(fd, VALUE.encode() + b"\n")
    _read_until(fd, b"confirm DATABASE_URL: ")
    os.write(fd, b"something-else\n")
    code, out = _finish(pid, fd, b"nothing was stored")
    assert code == 2 and b"differ" in out
    assert values(store_project) == {}


def test_a_multi_line_paste_is_refused_and_nothing_is_left_for_the_shell(
        store_project: Path) -> None:
    """The bug: pasting a three-line PEM stored its first line and printed ✓."""
    pid, fd = _spawn(store_project, "secrets", "set", "DATABASE_URL")
    _read_until(fd, b"(not shown): ")
    os.write(fd, b"-----BEGIN PRIVATE KEY-----\nMIIEplantedLine\n-----END PRIVATE KEY-----\n")
    code, out = _finish(pid, fd, b"< FILE")
    assert code == 2, out
    assert b"more than one line was pasted" in out
    assert b"secrets set DATABASE_URL=- < FILE" in out
    assert b"MIIEplantedLine" not in out
    assert values(store_project) == {}


def test_key_import_prompts_without_echo(v1_store_project: Path) -> None:
    from tests.conftest import kg

    key = kg("key", "export", cwd=v1_store_project).out.strip()
    pid, fd = _spawn(v1_store_project, "key", "import")
    before = _read_until(fd, b"(not shown): ")
    assert b"Paste the key" in before
    os.write(fd, key.encode() + b"\n")
    code, after = _finish(pid, fd, b"imported the key")
    assert code == 0, after
    assert key.encode() not in before + after

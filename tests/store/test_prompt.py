"""`secrets set NAME` on a terminal prompts without echo (a real pseudo-terminal)."""
from __future__ import annotations

import os
import pty
import sys
import time
from pathlib import Path

from tests.store.test_secrets import values

VALUE = "typed-at-the-prompt-7f3a"


def _read_until(fd: int, marker: bytes, timeout: float = 30) -> bytes:
    data, deadline = b"", time.monotonic() + timeout
    while marker not in data and time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data


def test_prompt_hides_the_value(store_project: Path) -> None:
    pid, fd = pty.fork()
    if pid == 0:  # the child: kortix-guard on the terminal
        os.chdir(store_project)
        os.execv(sys.executable, [sys.executable, "-m", "kortix_guard", "secrets", "set",
                                  "DATABASE_URL"])
    before = _read_until(fd, b"DATABASE_URL:")
    assert b"DATABASE_URL:" in before
    os.write(fd, VALUE.encode() + b"\n")
    after = _read_until(fd, b"1/1 set")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, after
    assert VALUE.encode() not in before + after  # not echoed
    assert b"1/1 set" in after
    assert values(store_project) == {"DATABASE_URL": VALUE}

"""kortix-guard on a real pseudo-terminal: what a person at a prompt sees and types."""
from __future__ import annotations

import os
import pty
import sys
import time
from pathlib import Path


def read_until(fd: int, marker: bytes, timeout: float = 30) -> bytes:
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


def spawn(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, int]:
    pid, fd = pty.fork()
    if pid == 0:  # the child: kortix-guard on the terminal
        os.chdir(root)
        os.execve(sys.executable, [sys.executable, "-m", "kortix_guard", *args],
                  {**os.environ, **(env or {})})
    return pid, fd


def finish(pid: int, fd: int, marker: bytes, timeout: float = 30) -> tuple[int, bytes]:
    """The child's exit code and output; a child still waiting at a prompt is killed (the
    test then fails) instead of hanging the suite."""
    import signal

    out = read_until(fd, marker)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            break
        time.sleep(0.05)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out

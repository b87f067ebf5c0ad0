"""A long scan shows one progress line on a terminal: its time left is the run's average
pace (it does not swing), the cursor is never hidden, and SIGTERM clears the line and exits
143 (click's bar hid the cursor and left it hidden when the scan was killed)."""
from __future__ import annotations

import os
import signal

from tests.conftest import git, git_init, kg, write
from tests.terminal import finish, read_until, spawn

HIDE_CURSOR = b"\x1b[?25l"


def _many_files(root, n: int) -> None:
    write(root, {f"src/m{i:05}.py": f"value_{i} = {i}\n" * 200 for i in range(n)})
    git("add", "-A", cwd=root)


def test_a_tree_scan_shows_its_progress_on_a_terminal(tmp_path) -> None:
    root = git_init(tmp_path / "repo")
    _many_files(root, 400)
    pid, fd = spawn(root, "scan", "--all-files")
    code, out = finish(pid, fd, b"no secrets")
    assert code == 0, out
    assert b"scanning the index: 400/400 (100%)" in out
    assert HIDE_CURSOR not in out
    # Not on a terminal: no progress line at all.
    piped = kg("scan", "--all-files", cwd=root)
    assert piped.code == 0 and "scanning the index" not in piped.err


def test_a_history_scan_counts_what_git_lists_as_it_goes(tmp_path) -> None:
    """A history is scanned while git lists it: the line ends on the whole count, never on a
    share of a count that was still growing."""
    root = git_init(tmp_path / "repo")
    for n in range(3):
        write(root, {f"src/c{n}_{i:03}.py": f"value_{n}_{i} = {i}\n" for i in range(40)})
        git("add", "-A", cwd=root)
        git("commit", "-qm", f"commit {n}", cwd=root)
    pid, fd = spawn(root, "scan", "--history")
    code, out = finish(pid, fd, b"no secrets")
    assert code == 0, out
    # 120 files; the names and messages in which nothing triggers are left out at once.
    assert b"scanning history: 120/120 (100%)" in out, out
    assert b"listed so far" not in out.rsplit(b"\r", 1)[-1]


def test_sigterm_clears_the_line_and_exits_143(tmp_path) -> None:
    root = git_init(tmp_path / "repo")
    _many_files(root, 6000)
    pid, fd = spawn(root, "scan", "--all-files", env={"KORTIX_GUARD_NO_HYPERSCAN": "1"})
    seen = read_until(fd, b"scanning the index: ", timeout=60)
    assert b"scanning the index: " in seen, seen
    os.kill(pid, signal.SIGTERM)
    code, out = finish(pid, fd, b"terminated")
    assert code == 143, seen + out
    assert b"kortix-guard: terminated" in out
    assert HIDE_CURSOR not in seen + out

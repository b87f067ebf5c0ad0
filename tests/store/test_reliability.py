"""Locked, atomic writes: concurrent writers lose nothing; SIGKILL never leaves a torn store."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kortix_guard.store import open_store
from tests.store.conftest import STORE

WRITER = """
import sys
from kortix_guard.cli.main import main
prefix, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    assert main(["secrets", "set", f"{prefix}_{i}=value-{i}"]) == 0
"""


def _writer(root: Path, prefix: str, count: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, prefix, str(count)], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_two_processes_each_setting_50_names(store_project: Path) -> None:
    procs = [_writer(store_project, prefix, 50) for prefix in ("P", "Q")]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    names = set(open_store(store_project / STORE).values())
    assert names == {f"{p}_{i}" for p in "PQ" for i in range(50)}


# The writer stops at one step of the atomic write (the temp file written, synced, renamed)
# and says so on stdout; the test kills it there. Every moment of the write is reached,
# deterministically: no sleeps, no timing.
STOPPING_WRITER = """
import os, sys, time
from kortix_guard.cli.main import main

step, value = sys.argv[1], sys.argv[2]
real = {"fsync": os.fsync, "replace": os.replace}

def stop_here():
    sys.stdout.write("ready\\n"); sys.stdout.flush()
    time.sleep(600)

def fsync(fd):
    if step == "before-fsync":
        stop_here()
    real["fsync"](fd)
    if step == "after-fsync":
        stop_here()

def replace(src, dst):
    if step == "before-rename":
        stop_here()
    real["replace"](src, dst)
    if step == "after-rename" and str(dst).endswith("secrets.enc.toml"):
        stop_here()

os.fsync, os.replace = fsync, replace
main(["secrets", "set", f"DATABASE_URL={value}"])
"""


@pytest.mark.parametrize("step", ["before-fsync", "after-fsync", "before-rename",
                                  "after-rename"])
def test_sigkill_at_any_step_of_a_write_leaves_an_openable_store(store_project: Path,
                                                                  step: str) -> None:
    assert subprocess.run([sys.executable, "-c", WRITER, "OLD", "1"], cwd=store_project,
                          capture_output=True).returncode == 0
    before = {n: v.reveal() for n, v in open_store(store_project / STORE).values().items()}
    proc = subprocess.Popen([sys.executable, "-c", STOPPING_WRITER, step, "postgres://new"],
                            cwd=store_project, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    after = {n: v.reveal() for n, v in open_store(store_project / STORE).values().items()}
    new = {**before, "DATABASE_URL": "postgres://new"}
    assert after == (new if step == "after-rename" else before)  # the old store or the new

"""Locked, atomic writes: concurrent writers lose nothing; SIGKILL never leaves a torn store."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
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


@pytest.mark.slow
def test_sigkill_at_any_moment_leaves_an_openable_store(store_project: Path) -> None:
    rng = random.Random(1234)
    seen = 0
    for round_ in range(8):
        proc = _writer(store_project, f"K{round_}", 1000)
        time.sleep(rng.uniform(0.2, 0.8))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        opened = open_store(store_project / STORE)  # the MAC verifies: old or new, never torn
        values = opened.values()
        assert all(v.reveal() == f"value-{n.rsplit('_', 1)[1]}" for n, v in values.items())
        assert len(values) >= seen
        seen = len(values)
    assert seen > 0

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Result

CHECKOUT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pre-commit cache for the session, so the hook environment installs once."""
    return tmp_path_factory.mktemp("pre-commit-home")


def try_repo(repo: Path, hook: str, *args: str, home: Path) -> Result:
    """The real framework: `pre-commit try-repo <this checkout> HOOK` inside repo."""
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(CHECKOUT), hook, *args],
        cwd=repo, capture_output=True, text=True, env=env, timeout=600,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.conftest import Result, git, git_init
from tests.kortix.conftest import kortix  # noqa: F401  (the stand-in Kortix API, for the action)

CHECKOUT = Path(__file__).resolve().parents[2]


class HookEnv(NamedTuple):
    """pre-commit's cache for the session and one snapshot of this checkout at a fixed
    commit: `try-repo` on a dirty work tree makes a new commit, and so a new hook
    environment, every time; at a fixed commit pre-commit installs the hooks once."""
    home: Path
    source: Path
    rev: str


def _snapshot(dest: Path) -> str:
    """This checkout's files as they are now (committed or not, ignored ones left out),
    committed in a fresh repository at dest."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=CHECKOUT, check=True, capture_output=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = CHECKOUT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    git_init(dest)
    git("add", "-A", cwd=dest)
    git("commit", "-qm", "snapshot", cwd=dest)
    return git("rev-parse", "HEAD", cwd=dest).strip()


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> HookEnv:
    source = tmp_path_factory.mktemp("checkout")
    rev = _snapshot(source)
    return HookEnv(tmp_path_factory.mktemp("pre-commit-home"), source, rev)


def _pre_commit(repo: Path, home: HookEnv, *args: str) -> Result:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home.home), "PRE_COMMIT_COLOR": "never"}
    proc = subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=repo,
                          capture_output=True, text=True, env=env, timeout=600)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def run_hook(repo: Path, hook: str, *args: str, home: HookEnv) -> Result:
    """The real framework running one of this checkout's hooks inside repo, as a user's
    `.pre-commit-config.yaml` pinned to a commit would: `pre-commit run -c CONFIG HOOK`.
    Unlike `try-repo`, which installs into a throw-away store each time, this reuses the
    session's store, so each hook's environment is built once."""
    config = home.home / f"{hook}.yaml"
    config.write_text(f"repos:\n  - repo: {home.source}\n    rev: {home.rev}\n"
                      f"    hooks:\n      - id: {hook}\n")
    return _pre_commit(repo, home, "run", "-c", str(config), hook, *args)


def try_repo(repo: Path, hook: str, *args: str, home: HookEnv) -> Result:
    """`pre-commit try-repo <this checkout> HOOK` inside repo: the command the docs give
    a hook author; a fresh hook environment every call, so one test uses it."""
    return _pre_commit(repo, home, "try-repo", str(home.source), hook, "--ref", home.rev, *args)

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

STORE = ".kortix/secrets.enc.toml"
ROOT = Path(__file__).resolve().parents[2]
RELEASE_0_3_3 = "f08bbdf"  # "Release 0.3.3": the last release that writes version 3


@pytest.fixture(scope="session")
def release_0_3_3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """kortix-guard 0.3.3, checked out of this repository's own history."""
    if not (ROOT / ".git").exists():
        pytest.skip("needs this repository's git history")
    from tests.conftest import git

    folder = tmp_path_factory.mktemp("v033") / "tree"
    git("worktree", "add", "--detach", str(folder), RELEASE_0_3_3, cwd=ROOT)
    yield folder
    git("worktree", "remove", "--force", str(folder), cwd=ROOT)


def old_cli(tree: Path, *args: str, cwd: Path, env: dict[str, str],
            input: str | None = None) -> subprocess.CompletedProcess:
    """An older kortix-guard (a checked-out tree) as a subprocess."""
    return subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv.pop(1)); "
                           "from kortix_guard.cli.main import cli; cli()", str(tree), *args],
                          cwd=cwd, env={**os.environ, **env}, input=input, capture_output=True,
                          text=True, timeout=120)


def store_id(root: Path) -> str:
    from tests.conftest import tomllib

    return tomllib.loads((root / STORE).read_text())["store_id"]


def forget_user_keys(config: Path) -> None:
    """Remove every per-user key and the personal identity, as on a machine that never had
    the key."""
    keys = config / "kortix-guard" / "keys"
    for key_file in keys.iterdir() if keys.is_dir() else ():
        key_file.unlink()
    (config / "kortix-guard" / "identity.txt").unlink(missing_ok=True)

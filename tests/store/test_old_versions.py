"""What an older kortix-guard says when it meets this version's store: version 0.2.0, checked
out of this repository's own history, reads the version 3 store that `identity new` and `init`
make today, and stops with a clear message (exit 2, no traceback, nothing written)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import git, git_init, kg

ROOT = Path(__file__).resolve().parents[2]
RELEASE_0_2_0 = "350e267"  # "Version 0.2.0: the store format gained version 2"


@pytest.fixture(scope="module")
def kortix_guard_0_2_0(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (ROOT / ".git").exists():
        pytest.skip("needs this repository's git history")
    folder = tmp_path_factory.mktemp("v020") / "tree"
    git("worktree", "add", "--detach", str(folder), RELEASE_0_2_0, cwd=ROOT)
    yield folder
    git("worktree", "remove", "--force", str(folder), cwd=ROOT)


def test_0_2_0_refuses_a_version_3_store_clearly(tmp_path: Path, kortix_guard_0_2_0: Path) -> None:
    repo = git_init(tmp_path / "repo")
    assert kg("identity", "new", cwd=repo).code == 0
    assert kg("init", cwd=repo).code == 0
    assert kg("secrets", "set", "DATABASE_URL=-", cwd=repo, input="postgres://x\n").code == 0
    store = repo / ".kortix" / "secrets.enc.toml"
    before = store.read_bytes()
    assert b"version = 3" in before
    for args in (["secrets", "ls"], ["secrets", "set", "DATABASE_URL=other"], ["check"]):
        old = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv.pop(1));"
                              " from kortix_guard.cli.main import cli; cli()",
                              str(kortix_guard_0_2_0), *args], cwd=repo, capture_output=True,
                             text=True, timeout=120)
        assert old.returncode != 0, (args, old.stdout)
        assert "store version 3; this kortix-guard reads versions 1 and 2" in old.stderr + old.stdout
        assert "upgrade kortix-guard" in old.stderr + old.stdout
        assert "Traceback" not in old.stderr
    assert store.read_bytes() == before

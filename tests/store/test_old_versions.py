"""What an older kortix-guard says when it meets this version's store: versions 0.2.0 and
0.3.3, checked out of this repository's own history, read the version 4 store that
`identity new` and `init` make today, and stop with a clear message (exit 2, no traceback,
nothing written)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MANIFEST, git, git_init, kg, write

ROOT = Path(__file__).resolve().parents[2]
RELEASES = {
    "0.2.0": ("350e267", "versions 1 and 2"),  # "Version 0.2.0: the store format gained version 2"
    "0.3.3": ("f08bbdf", "versions 1 to 3"),  # "Release 0.3.3", the release before version 4
}


@pytest.fixture(scope="module", params=sorted(RELEASES))
def old_release(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    if not (ROOT / ".git").exists():
        pytest.skip("needs this repository's git history")
    commit, reads = RELEASES[request.param]
    folder = tmp_path_factory.mktemp(request.param) / "tree"
    git("worktree", "add", "--detach", str(folder), commit, cwd=ROOT)
    yield folder, reads
    git("worktree", "remove", "--force", str(folder), cwd=ROOT)


def test_an_older_release_refuses_a_version_4_store_clearly(
        tmp_path: Path, old_release: tuple[Path, str]) -> None:
    tree, reads = old_release
    repo = git_init(tmp_path / "repo")
    write(repo, {"kortix.toml": MANIFEST})  # the manifest older releases read
    assert kg("identity", "new", cwd=repo).code == 0
    assert kg("init", cwd=repo).code == 0
    assert kg("secrets", "set", "DATABASE_URL=-", cwd=repo, input="postgres://x\n").code == 0
    store = repo / ".kortix" / "secrets.enc.toml"
    before = store.read_bytes()
    assert b"\nversion = 4\n" in before
    for args in (["secrets", "ls"], ["secrets", "set", "DATABASE_URL=other"], ["check"],
                 ["inject", "--format", "dotenv"]):
        old = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv.pop(1));"
                              " from kortix_guard.cli.main import cli; cli()",
                              str(tree), *args], cwd=repo, capture_output=True,
                             text=True, timeout=120)
        said = old.stderr + old.stdout
        assert old.returncode != 0, (args, old.stdout)
        assert f"store version 4; this kortix-guard reads {reads}" in said
        assert "upgrade kortix-guard" in said
        assert "Traceback" not in old.stderr
        assert "postgres://x" not in said
    assert store.read_bytes() == before

"""The kortix-manifest hook through the real pre-commit framework."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MANIFEST, git, git_init, write
from tests.e2e.conftest import HookEnv, run_hook, try_repo

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("manifest", "passes"), [
    (MANIFEST, True),
    (MANIFEST.replace('"DATABASE_URL"', '"KORTIX_DB"'), False),
], ids=["good-manifest-passes", "reserved-name-fails"])
def test_kortix_manifest_hook(tmp_path: Path, pre_commit_home: HookEnv, manifest: str,
                              passes: bool) -> None:
    repo = git_init(tmp_path / "repo")
    write(repo, {"kortix.toml": manifest, "README.md": "hello\n"})
    git("add", ".", cwd=repo)
    result = run_hook(repo, "kortix-manifest", "--all-files", home=pre_commit_home)
    assert (result.code == 0) is passes, result.out + result.err
    if not passes:
        assert "kortix.toml:5:13: KG120" in result.out


def test_try_repo_runs_the_hook_from_the_checkout(tmp_path: Path, pre_commit_home: HookEnv) -> None:
    """`pre-commit try-repo`, the way a hook author tries a change before pinning it."""
    repo = git_init(tmp_path / "repo")
    write(repo, {"kortix.toml": MANIFEST.replace('"DATABASE_URL"', '"KORTIX_DB"')})
    git("add", ".", cwd=repo)
    result = try_repo(repo, "kortix-manifest", "--all-files", home=pre_commit_home)
    assert result.code == 1, result.out + result.err
    assert "kortix.toml:5:13: KG120" in result.out

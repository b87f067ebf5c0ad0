"""The kortix-manifest hook through the real pre-commit framework."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MANIFEST, MANIFEST_YAML, git, git_init, write
from tests.e2e.conftest import HookEnv, run_hook, try_repo

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("name", "manifest", "passes", "where"), [
    ("kortix.toml", MANIFEST, True, ""),
    ("kortix.toml", MANIFEST.replace('"DATABASE_URL"', '"KORTIX_DB"'), False, "5:13"),
    ("kortix.yaml", MANIFEST_YAML, True, ""),
    ("kortix.yaml", MANIFEST_YAML.replace('"DATABASE_URL"', '"KORTIX_DB"'), False, "6:14"),
    ("kortix.yml", MANIFEST_YAML.replace('"DATABASE_URL"', '"KORTIX_DB"'), False, "6:14"),
], ids=["toml-passes", "toml-reserved-fails", "yaml-passes", "yaml-reserved-fails",
        "yml-reserved-fails"])
def test_kortix_manifest_hook(tmp_path: Path, pre_commit_home: HookEnv, name: str, manifest: str,
                              passes: bool, where: str) -> None:
    repo = git_init(tmp_path / "repo")
    write(repo, {name: manifest, "README.md": "hello\n"})
    git("add", ".", cwd=repo)
    result = run_hook(repo, "kortix-manifest", "--all-files", home=pre_commit_home)
    assert (result.code == 0) is passes, result.out + result.err
    if not passes:
        assert f"{name}:{where}: KG120" in result.out


def test_the_hook_says_an_old_kortix_toml_is_ignored(tmp_path: Path,
                                                     pre_commit_home: HookEnv) -> None:
    """A project moved to kortix.yaml and kept its kortix.toml: a commit touching only the old
    file is told Kortix no longer reads it (a warning: the commit goes through)."""
    repo = git_init(tmp_path / "repo")
    write(repo, {"kortix.yaml": MANIFEST_YAML, "kortix.toml": MANIFEST})
    git("add", ".", cwd=repo)
    result = run_hook(repo, "kortix-manifest", "--verbose", "--files", "kortix.toml",
                      home=pre_commit_home)  # a passing hook's output shows with --verbose
    assert result.code == 0, result.out + result.err
    assert "kortix.toml:1:1: KG102 " in result.out


def test_try_repo_runs_the_hook_from_the_checkout(tmp_path: Path, pre_commit_home: HookEnv) -> None:
    """`pre-commit try-repo`, the way a hook author tries a change before pinning it."""
    repo = git_init(tmp_path / "repo")
    write(repo, {"kortix.toml": MANIFEST.replace('"DATABASE_URL"', '"KORTIX_DB"')})
    git("add", ".", cwd=repo)
    result = try_repo(repo, "kortix-manifest", "--all-files", home=pre_commit_home)
    assert result.code == 1, result.out + result.err
    assert "kortix.toml:5:13: KG120" in result.out

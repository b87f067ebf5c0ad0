"""The kortix-check hook through the real pre-commit framework, in a repository after init."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MANIFEST_YAML, git, git_init, kg, write
from tests.e2e.conftest import HookEnv, run_hook
from tests.scan.conftest import TOKENS

pytestmark = pytest.mark.slow


def test_kortix_check_hook(tmp_path: Path, pre_commit_home: HookEnv, user_config: Path) -> None:
    repo = git_init(tmp_path / "repo")
    assert kg("init", cwd=repo).code == 0
    write(repo, {"kortix.yaml": MANIFEST_YAML})
    kg("secrets", "set", "DATABASE_URL=-", cwd=repo, input="postgres://x")
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "init", cwd=repo)
    passing = run_hook(repo, "kortix-check", home=pre_commit_home)
    assert passing.code == 0, passing.out + passing.err
    write(repo, {"app.py": f'token = "{TOKENS["slack"]}"\n'})
    git("add", "app.py", cwd=repo)
    failing = run_hook(repo, "kortix-check", home=pre_commit_home)
    assert failing.code == 1
    assert "✗ secrets: 1 secret(s) staged" in failing.out

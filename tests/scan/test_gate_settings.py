"""A change may not loosen its own gate: in `--range` (CI's pull-request scan) and
`--pre-push`, `[guard] exclude`, the baseline, `min_confidence` and `public_by_design` are
read from the base commit, not from the change under review."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import git, git_init, kg, write
from tests.push.test_push_protection import push
from tests.scan.conftest import TOKENS, rules_found
from tests.scan.test_modes import commit_all

SECRET = TOKENS["github-classic"]
MANIFEST = '[project]\nname = "x"\n[env]\nrequired = []\n'
MEDIUM = 'DB_PASSWORD = "q8Zr4kLm2Vx9Tp3W"\n'


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = git_init(tmp_path / "repo")
    write(root, {"kortix.toml": MANIFEST, "README.md": "hello\n"})
    commit_all(root, "init")
    return root


def _baseline_for(repo: Path) -> None:
    """Accept everything the work tree holds now, as `scan --update-baseline` does."""
    assert kg("scan", "--update-baseline", cwd=repo).code == 0


@pytest.mark.parametrize("loosen", ["exclude", "baseline", "min_confidence"])
def test_a_pull_request_cannot_loosen_its_own_scan(repo: Path, loosen: str) -> None:
    base = git("rev-parse", "HEAD", cwd=repo).strip()
    write(repo, {"src/settings.py": MEDIUM, "src/app.py": f'token = "{SECRET}"\n'})
    if loosen == "exclude":
        write(repo, {"kortix.toml": MANIFEST + '[guard]\nexclude = ["src/*"]\n'})
    elif loosen == "min_confidence":
        write(repo, {"kortix.toml": MANIFEST + '[guard]\nmin_confidence = "high"\n',
                     "src/app.py": ""})
    else:
        _baseline_for(repo)
    commit_all(repo, "loosen the scan")
    # The work tree's own scan obeys the change (it is the developer's own setting) ...
    assert rules_found(repo, "--all-files") == []
    # ... the gate obeys the base.
    assert rules_found(repo, "--range", f"{base}..HEAD") != []


def test_settings_on_the_base_still_apply(repo: Path) -> None:
    write(repo, {"kortix.toml": MANIFEST + '[guard]\nexclude = ["fixtures/*"]\n'})
    base = commit_all(repo, "exclude fixtures")
    write(repo, {"fixtures/token.txt": f"{SECRET}\n", "src/x.py": "x = 1\n"})
    commit_all(repo, "a fixture")
    assert rules_found(repo, "--range", f"{base}..HEAD") == []


def test_pre_push_reads_settings_from_the_remotes_default_branch(tmp_path: Path,
                                                                  repo: Path) -> None:
    server = tmp_path / "server.git"
    git("init", "-q", "--bare", str(server), cwd=tmp_path)
    git("remote", "add", "origin", f"file://{server}", cwd=repo)
    assert push(repo, "origin", "HEAD:refs/heads/main").returncode == 0
    git("remote", "set-head", "origin", "main", cwd=repo)
    assert kg("hook", "install", "--pre-push", cwd=repo).code == 0
    write(repo, {"kortix.toml": MANIFEST + '[guard]\nexclude = ["src/*"]\n',
                 "src/app.py": f'token = "{SECRET}"\n'})
    commit_all(repo, "exclude and a token")
    result = push(repo, "origin", "HEAD:refs/heads/main")
    assert result.returncode != 0, result.stderr
    assert "src/app.py:1:10: KG320" in result.stdout + result.stderr

"""The kortix-scan hook through the real pre-commit framework."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import git, git_init, make_v1_store, write
from tests.e2e.conftest import HookEnv, run_hook
from tests.scan.conftest import TOKENS

pytestmark = pytest.mark.slow
TOKEN = TOKENS["github-classic"]


@pytest.mark.parametrize(("content", "passes"), [
    (f'token = "{TOKEN}"\n', False),
    (f'token = "{TOKEN}"  # kortix-guard: allow\n', True),
    ("token = None\n", True),
], ids=["planted-token-blocked", "allowed-token-passes", "clean-passes"])
def test_kortix_scan_hook(tmp_path: Path, pre_commit_home: HookEnv, content: str, passes: bool) -> None:
    repo = git_init(tmp_path / "repo")
    write(repo, {"app.py": content})
    git("add", "app.py", cwd=repo)
    result = run_hook(repo, "kortix-scan", home=pre_commit_home)
    assert (result.code == 0) is passes, result.out + result.err
    if not passes:
        assert "app.py:1:10: KG320 [high] GitHub token `ghp_…` (40 chars)" in result.out
        assert TOKEN[4:] not in result.out + result.err


def test_all_files_scans_every_tracked_file(tmp_path: Path, pre_commit_home: HookEnv) -> None:
    repo = git_init(tmp_path / "repo")
    write(repo, {"old.py": f'token = "{TOKEN}"\n'})
    git("add", "old.py", cwd=repo)
    git("commit", "-qm", "old", cwd=repo)
    result = run_hook(repo, "kortix-scan", "--all-files", home=pre_commit_home)
    assert result.code == 1
    assert "old.py:1:10: KG320" in result.out


def test_known_store_value_blocked(tmp_path: Path, pre_commit_home: HookEnv) -> None:
    """A value of the project's store, in a shape no pattern knows, is blocked by the hook."""
    from tests.conftest import MANIFEST, kg

    repo = git_init(tmp_path / "repo")
    write(repo, {"kortix.toml": MANIFEST})
    assert kg("key", "new", cwd=repo).code == 0
    value = "plain words but real 42"
    assert kg("secrets", "set", f"DATABASE_URL={value}", cwd=repo).code == 0
    write(repo, {"notes.txt": f"remember: {value}\n"})
    git("add", "notes.txt", cwd=repo)
    result = run_hook(repo, "kortix-scan", home=pre_commit_home)
    assert result.code == 1, result.out + result.err
    assert "notes.txt:1:11: KG300 [high] the store's value of DATABASE_URL" in result.out
    assert value not in result.out + result.err


@pytest.mark.parametrize("version", [1, 4])
def test_the_projects_own_store_never_trips_its_hook(tmp_path: Path, pre_commit_home: HookEnv,
                                                     version: int) -> None:
    """A committed store whose names kortix.toml declares: the commit hook passes, and
    `check --all-files` finds no secret in it (a version 2 line `NAME = { value = … }` was
    read as the literal `{`)."""
    import json

    from tests.conftest import MANIFEST, kg

    repo = git_init(tmp_path / "repo")
    write(repo, {"kortix.toml": MANIFEST})
    if version == 4:
        assert kg("key", "new", cwd=repo).code == 0
    else:
        make_v1_store(repo)
    assert kg("secrets", "set", "DATABASE_URL=postgres://app:Zq8-real@db.corp.io/app",
              "OPENAI_API_KEY=-", cwd=repo, input="sk-" + "proj-" + "Q" * 48).code == 0
    store = ".kortix/secrets.enc.toml"
    assert f"version = {version}\n" in (repo / store).read_text()
    git("add", "kortix.toml", store, cwd=repo)
    result = run_hook(repo, "kortix-scan", home=pre_commit_home)
    assert result.code == 0, result.out + result.err
    git("commit", "-qm", "store", cwd=repo)
    checked = json.loads(kg("check", "--all-files", "--format", "json", cwd=repo).out)
    assert {r["name"]: r["status"] for r in checked}["secrets"] == "pass", checked


def test_the_system_hook_runs_the_installed_kortix_guard(tmp_path: Path, pre_commit_home: HookEnv,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """`kortix-scan-system`, as gitleaks ships its system hook: no environment to build, the
    kortix-guard on PATH runs it and says which one when it fails; `check` warns when that
    version is not the config's rev."""
    import sys

    from kortix_guard._meta import version
    from tests.conftest import MANIFEST, kg

    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    repo = git_init(tmp_path / "repo")
    write(repo, {"app.py": f'token = "{TOKEN}"\n'})
    git("add", "app.py", cwd=repo)
    result = run_hook(repo, "kortix-scan-system", home=pre_commit_home)
    assert result.code == 1, result.out + result.err
    assert "app.py:1:10: KG320" in result.out
    assert f"kortix-guard-scan {version()} (the kortix-guard on PATH" in result.out
    assert TOKEN[4:] not in result.out + result.err
    write(repo, {"kortix.toml": MANIFEST, ".pre-commit-config.yaml": (
        "repos:\n  - repo: https://github.com/kortix-guard/kortix-guard\n    rev: v0.0.1\n"
        "    hooks:\n      - id: kortix-manifest-system\n      - id: kortix-scan-system\n")})
    checked = kg("check", "--all-files", cwd=repo)
    assert (f"pins kortix-guard v0.0.1, but its -system hooks run the installed {version()}"
            in checked.out), checked.out

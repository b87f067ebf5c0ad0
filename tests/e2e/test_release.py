"""The recorded release is what a user gets: this test cannot pass while the pin is stale.

The commit kortix_guard/_release.py records (the one `init`, the README, the docs and the
examples pin) is checked out of this repository's own history, and *its* action.yml, *its*
reusable workflow and *its* pre-commit hooks are run, the way the runner and pre-commit run
them, against a project made by *this* code's `identity new` and `init`. When this code makes
something the release cannot handle (a new store format, a new command in the workflow it
writes), the fix is to cut a release: `.venv/bin/python scripts/release X.Y.Z`."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kortix_guard import _release
from tests.conftest import git, git_init, kg, write
from tests.e2e.conftest import CHECKOUT
from tests.e2e.runner import run_steps
from tests.e2e.test_workflow_steps import _stand_ins

pytestmark = [pytest.mark.slow, pytest.mark.network]
FIX = (f"the recorded release {_release.COMMIT[:12]} (v{_release.VERSION}) cannot handle what "
       f"this code makes: cut a release, `.venv/bin/python scripts/release X.Y.Z` "
       f"(docs/releasing.md)")


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The recorded release's tree, from this repository's history."""
    known = subprocess.run(["git", "cat-file", "-e", f"{_release.COMMIT}^{{commit}}"],
                           cwd=CHECKOUT, capture_output=True)
    assert known.returncode == 0, (f"the recorded release {_release.COMMIT} is not in this "
                                   f"repository's history: {FIX}")
    tree = tmp_path_factory.mktemp("release") / "tree"
    git("worktree", "add", "--detach", str(tree), _release.COMMIT, cwd=CHECKOUT)
    yield tree
    git("worktree", "remove", "--force", str(tree), cwd=CHECKOUT)


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, str]:
    """What a new user makes today: `identity new`, `init`, a required secret, CI's identity."""
    repo = git_init(tmp_path / "repo")
    assert kg("identity", "new", cwd=repo).code == 0
    assert kg("init", cwd=repo).code == 0
    manifest = (repo / "kortix.yaml").read_text()  # as init made it; the user declares a name
    write(repo, {"kortix.yaml": manifest.replace("required: []", 'required: ["DATABASE_URL"]')})
    assert kg("secrets", "set", "DATABASE_URL=-", cwd=repo, input="postgres://release-test\n").code == 0
    identity = kg("recipients", "add", "ci", "--generate", cwd=repo).out.split()[-1]
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "a project as init makes it", cwd=repo)
    return repo, identity


def test_the_released_action_injects_a_store_made_today(released: Path, project, tmp_path: Path
                                                        ) -> None:
    repo, identity = project
    action = yaml.safe_load((released / "action.yml").read_text())
    inputs = {k: str(v.get("default", "")) for k, v in action["inputs"].items()} | {"key": identity}
    context = {"github.action_path": str(released), **{f"inputs.{k}": v for k, v in inputs.items()}}
    results, files = run_steps(action["runs"]["steps"], repo, tmp_path / "runner", context,
                               _stand_ins(released, repo))
    assert all(r.returncode == 0 for r in results), (FIX, results[-1].stdout, results[-1].stderr)
    assert "DATABASE_URL" in files["GITHUB_ENV"].read_text(), FIX


@pytest.mark.parametrize("event", ["push", "pull_request"])
def test_the_released_workflow_checks_a_project_made_today(released: Path, project,
                                                           tmp_path: Path, event: str) -> None:
    repo, identity = project
    base = git("rev-parse", "HEAD", cwd=repo).strip()
    write(repo, {"app.py": "print('a change')\n"})
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "a pull request", cwd=repo)
    head = git("rev-parse", "HEAD", cwd=repo).strip()
    job = yaml.safe_load((released / ".github" / "workflows" / "kortix-guard.yml").read_text())
    context = {"github.event_name": event, "github.event.pull_request.base.sha": base,
               "github.event.pull_request.head.sha": head, "inputs.min-confidence": "medium",
               "inputs.working-directory": ".", "secrets.key": identity,
               "job.workflow_repository": "kortix-guard/kortix-guard",
               "job.workflow_sha": _release.COMMIT}
    results, _ = run_steps(job["jobs"]["check"]["steps"], repo, tmp_path / "runner", context,
                           _stand_ins(released, repo))
    assert results and all(r.returncode == 0 for r in results), (
        FIX, results[-1].stdout, results[-1].stderr)


def test_the_released_hooks_accept_a_project_made_today(released: Path, project,
                                                        tmp_path: Path) -> None:
    repo, _ = project
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    for hook in ("kortix-manifest", "kortix-scan"):
        proc = subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(released), hook,
                               "--all-files"], cwd=repo, capture_output=True, text=True, env=env,
                              timeout=900)
        assert proc.returncode == 0, (FIX, hook, proc.stdout[-3000:], proc.stderr[-3000:])

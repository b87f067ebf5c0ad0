"""The reusable workflow's steps and the action's, run as the runner runs them on a checkout
whose pull request brings its own `click.py` and `kortix_guard/`: each step must run the
installed kortix-guard, never the pull request's code (`python -m` would: it puts the
working directory first on sys.path)."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import MANIFEST, git, git_init, kg, write
from tests.e2e.conftest import CHECKOUT, HookEnv
from tests.e2e.runner import run_steps
from tests.push.test_push_protection import HIJACK
from tests.scan.conftest import TOKENS

pytestmark = [pytest.mark.slow, pytest.mark.network]
WORKFLOW = CHECKOUT / ".github" / "workflows" / "kortix-guard.yml"


def _stand_ins(source: Path, workdir: Path):
    def uses(step: dict, context: dict[str, str]) -> None:
        if step["uses"].startswith("actions/checkout@"):
            path = step.get("with", {}).get("path")
            if path:  # kortix-guard's own source, at the workflow's commit
                shutil.copytree(source, workdir / path, ignore=shutil.ignore_patterns(".git"))
        elif step["uses"].startswith("actions/setup-python@"):
            context[f"steps.{step['id']}.outputs.python-path"] = sys.executable
        else:
            raise AssertionError(f"no stand-in for {step['uses']}")
    return uses


@pytest.fixture
def pull_request(tmp_path: Path) -> tuple[Path, str, str]:
    """A project with a clean base commit and a head commit that adds a token beside its
    own `click.py` and `kortix_guard/` package."""
    repo = git_init(tmp_path / "repo")
    write(repo, {"kortix.toml": MANIFEST, "README.md": "hello\n"})
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "base", cwd=repo)
    base = git("rev-parse", "HEAD", cwd=repo).strip()
    write(repo, {**HIJACK, "app.py": f'token = "{TOKENS["github-classic"]}"\n'})
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "head", cwd=repo)
    return repo, base, git("rev-parse", "HEAD", cwd=repo).strip()


@pytest.mark.parametrize("event", ["pull_request", "push"])
def test_reusable_workflow_runs_the_installed_kortix_guard(
        pull_request: tuple[Path, str, str], tmp_path: Path, pre_commit_home: HookEnv,
        event: str) -> None:
    repo, base, head = pull_request
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["check"]
    context = {"github.event_name": event, "github.event.pull_request.base.sha": base,
               "github.event.pull_request.head.sha": head, "inputs.min-confidence": "medium",
               "inputs.working-directory": ".", "secrets.key": "",
               "job.workflow_repository": "kortix-guard/kortix-guard",
               "job.workflow_sha": pre_commit_home.rev}
    results, _ = run_steps(job["steps"], repo, tmp_path / "runner",
                           context, _stand_ins(pre_commit_home.source, repo))
    assert [r.returncode for r in results[:-1]] == [0] * (len(results) - 1), results[-2].stderr
    assert results[-1].returncode == 1, results[-1].stdout + results[-1].stderr
    assert "app.py:1:10" in results[-1].stdout + results[-1].stderr


def test_action_runs_the_installed_kortix_guard(project: Path, tmp_path: Path) -> None:
    """The inject step has the key in its environment: a `kortix_guard/` in the job's
    checkout must not receive it."""
    from tests.e2e.test_action import run_action

    write(project, {
                    **{name: text.replace("sys.exit(0)", "open('stolen', 'w').write("
                                          "__import__('os').environ.get('KORTIX_GUARD_KEY', ''))")
                       for name, text in HIJACK.items()}})
    me = {"XDG_CONFIG_HOME": str(tmp_path / "me")}
    assert kg("key", "new", cwd=project, env=me).code == 0
    identity = kg("recipients", "add", "ci", "--generate", cwd=project, env=me).out.split()[-1]
    kg("secrets", "set", "DATABASE_URL=-", cwd=project, input="postgres://ci-planted-2", env=me)
    results, files = run_action(project, tmp_path / "runner", {"key": identity})
    assert [r.returncode for r in results] == [0, 0], results[-1].stderr
    assert "DATABASE_URL" in files["GITHUB_ENV"].read_text()
    assert not (project / "stolen").exists()

"""The GitLab template's jobs, run as a GitLab runner's shell executor runs them: the job's
`script:` lines (anchors and nested lists flattened, as GitLab does) in one bash with `set -eo
pipefail`, the template's and the job's `variables:` and the predefined CI variables in the
environment, kortix-guard vendored at vendor/kortix-guard (a submodule in a real project)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import MANIFEST_YAML, git, git_init, kg, write
from tests.e2e.conftest import CHECKOUT, HookEnv
from tests.scan.conftest import TOKENS

pytestmark = [pytest.mark.slow, pytest.mark.network]
TEMPLATE = CHECKOUT / "examples" / "gitlab" / "kortix-guard.gitlab-ci.yml"


def _flatten(script: list) -> list[str]:
    return [line for item in script for line in (_flatten(item) if isinstance(item, list) else [item])]


def run_job(name: str, repo: Path, tmp: Path, predefined: dict[str, str]
            ) -> subprocess.CompletedProcess:
    pipeline = yaml.safe_load(TEMPLATE.read_text())
    job = pipeline[name]
    variables = {**pipeline.get("variables", {}), **job.get("variables", {})}
    variables["KORTIX_GUARD_VENV"] = str(tmp / "venv")  # /opt in the image; a temp folder here
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp), "CI": "true", "GITLAB_CI": "true",
           "CI_PROJECT_DIR": str(repo), "XDG_CONFIG_HOME": str(tmp / "config"),
           **{k: str(v) for k, v in variables.items()}, **predefined}
    script = "set -eo pipefail\n" + "\n".join(_flatten(job["script"]))
    return subprocess.run(["bash", "--noprofile", "--norc", "-c", script], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.fixture
def project(tmp_path: Path, pre_commit_home: HookEnv) -> tuple[Path, str, str]:
    """A project set up as the README says, with CI's identity; kortix-guard vendored."""
    repo = git_init(tmp_path / "repo")
    me = {"XDG_CONFIG_HOME": str(tmp_path / "me")}
    assert kg("identity", "new", cwd=repo, env=me).code == 0
    assert kg("init", cwd=repo, env=me).code == 0
    write(repo, {"kortix.yaml": MANIFEST_YAML, "README.md": "hello\n"})
    assert kg("secrets", "set", "DATABASE_URL=-", cwd=repo, input="postgres://gitlab\n",
              env=me).code == 0
    identity = kg("recipients", "add", "ci", "--generate", cwd=repo, env=me).out.split()[-1]
    shutil.copytree(pre_commit_home.source, repo / "vendor" / "kortix-guard",
                    ignore=shutil.ignore_patterns(".git"))
    # A submodule's files are not in the project's index (a gitlink is): the same here.
    with open(repo / ".git" / "info" / "exclude", "a") as exclude:
        exclude.write("/vendor/\n")
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "base", cwd=repo)
    return repo, git("rev-parse", "HEAD", cwd=repo).strip(), identity


def test_the_check_job_on_a_branch_and_on_a_merge_request(project, tmp_path: Path) -> None:
    repo, base, identity = project
    branch = run_job("kortix-guard", repo, tmp_path / "job1",
                     {"CI_COMMIT_SHA": base, "CI_COMMIT_BRANCH": "main",
                      "KORTIX_GUARD_KEY": identity})
    assert branch.returncode == 0, branch.stdout + branch.stderr
    assert "kortix-guard check: 5/5 passed" in branch.stdout + branch.stderr
    write(repo, {"app.py": f'token = "{TOKENS["github-classic"]}"\n'})
    git("add", "app.py", cwd=repo)
    git("commit", "-qm", "a merge request adds a token", cwd=repo)
    head = git("rev-parse", "HEAD", cwd=repo).strip()
    merge_request = run_job("kortix-guard", repo, tmp_path / "job2",
                            {"CI_COMMIT_SHA": head, "CI_MERGE_REQUEST_DIFF_BASE_SHA": base,
                             "CI_PIPELINE_SOURCE": "merge_request_event",
                             "KORTIX_GUARD_KEY": identity})
    assert merge_request.returncode == 1, merge_request.stdout + merge_request.stderr
    assert "app.py:1:10: KG320" in merge_request.stdout


def test_the_test_job_runs_the_command_with_the_secrets(project, tmp_path: Path) -> None:
    repo, _, identity = project
    (repo / "run-tests.sh").write_text('#!/bin/sh\necho "db=$DATABASE_URL" > seen.txt\n')
    (repo / "run-tests.sh").chmod(0o755)
    job = run_job("test", repo, tmp_path / "job", {"KORTIX_GUARD_KEY": identity,
                                                   "CI_COMMIT_BRANCH": "main"})
    assert job.returncode == 0, job.stdout + job.stderr
    assert (repo / "seen.txt").read_text() == "db=postgres://gitlab\n"
    # Nothing in the log shows the value (GitLab would not mask it), and the vendored source
    # is left as it was (built from a copy: no build/ or *.egg-info in it).
    assert "postgres://gitlab" not in job.stdout + job.stderr
    vendored = repo / "vendor" / "kortix-guard"
    assert not (vendored / "build").exists() and not list(vendored.glob("*.egg-info"))

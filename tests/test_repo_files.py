"""The repository's own files agree with the code: hooks in the README, generated docs."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from kortix_guard._docs import pin, pinned_files, render

ROOT = Path(__file__).resolve().parents[1]


def test_hooks_declare_their_stages_and_the_pre_commit_they_need() -> None:
    """Without `stages`, the commit hooks also ran at pre-push; `pre-commit` as a stage name
    needs pre-commit 3.2."""
    import subprocess
    import sys

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    for hook in hooks:
        assert hook["stages"], hook["id"]
        assert hook["minimum_pre_commit_version"] == "3.2.0", hook["id"]
    assert {h["id"]: h["stages"] for h in hooks}["kortix-scan-push"] == ["pre-push"]
    proc = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest",
                           str(ROOT / ".pre-commit-hooks.yaml")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_hook_id_is_in_the_readme() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    readme = (ROOT / "README.md").read_text()
    assert hooks
    for hook in hooks:
        assert f"id: {hook['id']}" in readme, hook["id"]


@pytest.mark.parametrize("page", sorted((ROOT / "docs").glob("*.md")), ids=lambda p: p.name)
def test_generated_docs_are_current(page: Path) -> None:
    text = page.read_text()
    assert render(text) == text, "stale generated block: run python -m kortix_guard._docs"


def test_manifest_page_has_the_rules_block() -> None:
    assert "<!-- generated: manifest-rules -->" in (ROOT / "docs" / "manifest.md").read_text()


def test_readme_pins_the_recorded_release_for_pre_commit() -> None:
    """pre-commit's frozen form: a commit (a tag that was never pushed would break `pre-commit
    install`), the version as a comment."""
    from kortix_guard import _release
    from kortix_guard._meta import repository_url

    readme = (ROOT / "README.md").read_text()
    assert (f"repo: {repository_url()}\n    rev: {_release.COMMIT}  # frozen: "
            f"v{_release.VERSION}\n") in readme


@pytest.mark.parametrize("path", pinned_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_pin_comes_from_the_one_source(path: Path) -> None:
    """This repository's commit (kortix_guard/_release.py) and each action's commit (this
    repository's own workflow) everywhere a user copies a pin: never a tag, never a second
    spelling that could go stale alone."""
    text = path.read_text()
    assert pin(text) == text, "a stale pin: run python -m kortix_guard._docs"
    import re

    assert not re.search(r"uses: [\w./-]+@v\d", text), "an action pinned by a tag"


def test_there_are_pins_to_check() -> None:
    import re

    texts = "".join(p.read_text() for p in pinned_files())
    assert len(re.findall(r"kortix-guard/kortix-guard[\w./-]*@[0-9a-f]{40}", texts)) >= 4
    assert re.search(r"actions/checkout@[0-9a-f]{40}  # v", texts)


def test_the_repository_holds_no_secret_by_its_own_scanner() -> None:
    """`kortix-guard scan --all-files` on this checkout is clean: planted test values carry an
    inline allow, so the tool's own hook would accept every commit here."""
    import subprocess
    import sys

    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    proc = subprocess.run([sys.executable, "-m", "kortix_guard", "scan", "--all-files"],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_sdist_holds_the_package_and_what_its_tests_read(tmp_path: Path) -> None:
    import subprocess
    import sys
    import tarfile

    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "site", "build",
                                                                "*.egg-info", "__pycache__"))
    proc = subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation",
                           "--outdir", str(tmp_path / "dist"), str(source)],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 and "No module named build" in proc.stderr:
        pytest.skip("the `build` package is not installed")
    assert proc.returncode == 0, proc.stderr
    (sdist,) = (tmp_path / "dist").glob("*.tar.gz")
    names = [n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n]
    assert "LICENSE" in names and "README.md" in names
    for kept in ("tests/conftest.py", "examples/demo/run.sh", "docs/scan.md", "action.yml",
                 "requirements/action.lock", ".pre-commit-hooks.yaml", "mkdocs.yml"):
        assert kept in names, kept
    assert not [n for n in names if n.startswith("bench/") or "__pycache__" in n]


def test_a_hint_names_the_branch_the_repository_uses(tmp_path: Path) -> None:
    """Not `main` where the repository's branch is `trunk`, and not the feature branch one
    is on (issue 29, item 12): origin's HEAD, else the usual names that exist, else the
    current branch."""
    from kortix_guard.git import Repo
    from tests.conftest import git, git_init

    repo = git_init(tmp_path / "repo")
    git("checkout", "-qb", "trunk", cwd=repo)
    (repo / "a.txt").write_text("a\n")
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "a", cwd=repo)
    git("branch", "-qD", "main", cwd=repo) if "main" in git("branch", cwd=repo) else None
    git("checkout", "-qb", "feature/x", cwd=repo)
    assert Repo(repo).default_branch_name() == "trunk"
    clone = tmp_path / "clone"
    git("clone", "-q", str(repo), str(clone), cwd=tmp_path)  # origin's HEAD: feature/x
    assert Repo(clone).default_branch_name() == "feature/x"
    lone = git_init(tmp_path / "lone")
    git("checkout", "-qb", "work", cwd=lone)
    assert Repo(lone).default_branch_name() == "work"

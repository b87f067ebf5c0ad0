"""The repository's own files agree with the code: hooks in the README, generated docs."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kortix_guard._docs import render

ROOT = Path(__file__).resolve().parents[1]


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


def test_readme_names_the_repository_and_version_from_metadata() -> None:
    from kortix_guard._meta import repository_url, version

    readme = (ROOT / "README.md").read_text()
    assert f"repo: {repository_url()}\n    rev: v{version()}\n" in readme


def test_every_pinned_reference_is_the_one_pinned_commit() -> None:
    """Workflows, examples and docs pin this repository by one commit (kortix_guard/_release.py),
    never by a movable tag."""
    import re

    from kortix_guard._release import PINNED_COMMIT

    files = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"),
             *(ROOT / "examples").rglob("*.yml")]
    refs = [(p.name, ref) for p in files
            for ref in re.findall(r"kortix-guard/kortix-guard[\w./-]*@([\w.-]+)", p.read_text())]
    assert refs
    assert [r for r in refs if r[1] != PINNED_COMMIT] == []


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

"""Every fail-fast recipe docs/ci.md documents, run in `bash -e` (as CI shells run) against a
store whose required secret is missing: nothing after inject may run."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MANIFEST, kg, write

ROOT = Path(__file__).resolve().parents[2]


def _recipes() -> list[str]:
    text = (ROOT / "docs" / "ci.md").read_text()
    block = text.split("<!-- fail-fast recipes -->\n```sh\n", 1)[1].split("```", 1)[0]
    lines = [re.sub(r"\s+#.*$", "", line).rstrip() for line in block.splitlines()]
    return [r.strip() for r in "\n".join(lines).split("\n\n") if r.strip()]


def test_the_docs_hold_the_recipes_and_no_unsafe_shape() -> None:
    recipes = _recipes()
    assert len(recipes) >= 4
    assert not any("eval" in r or "$(kortix-guard" in r or "inject" in r and "&&" in r
                   for r in recipes)


@pytest.mark.parametrize("recipe", _recipes(), ids=lambda r: r.splitlines()[0][:40])
def test_recipe_stops_on_a_missing_secret(store_project: Path, tmp_path: Path,
                                          recipe: str) -> None:
    write(store_project, {"kortix.toml": MANIFEST})  # DATABASE_URL is required and not set
    assert kg("secrets", "set", "OPENAI_API_KEY=sk-not-required", cwd=store_project).code == 0
    marker = tmp_path / "ran"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("run-tests.sh", "deploy.sh", "docker"):  # what would run after inject
        tool = bin_dir / name
        tool.write_text(f"#!/bin/sh\ntouch {marker}\n")
        tool.chmod(0o755)
    script = recipe.replace("./run-tests.sh", "run-tests.sh").replace("./deploy.sh", "deploy.sh")
    env = {**os.environ, "TMP": str(tmp_path),
           "PATH": f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}"}
    proc = subprocess.run(["bash", "-e", "-c", script + f"\ntouch {marker}\n"],
                          cwd=store_project, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode != 0, proc.stderr
    assert "1 required secret(s) missing" in proc.stderr
    assert not marker.exists(), f"the job went on after: {recipe}"

"""zizmor (offline, default persona) and actionlint report nothing on the action, the
reusable workflow, the examples and the workflow `init` writes."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kortix_guard.init import workflow_text
from tests.e2e.conftest import CHECKOUT

BIN = Path(sys.executable).parent
WORKFLOWS = [CHECKOUT / ".github" / "workflows" / "kortix-guard.yml",
             *sorted((CHECKOUT / "examples" / "workflows").glob("*.yml"))]


@pytest.fixture
def generated(tmp_path: Path) -> Path:
    path = tmp_path / ".github" / "workflows" / "kortix-guard.yml"
    path.parent.mkdir(parents=True)
    path.write_text(workflow_text())
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("persona", ["regular", "pedantic"])
def test_zizmor_reports_nothing(generated: Path, persona: str) -> None:
    proc = _run(BIN / "zizmor", "--offline", "--no-progress", "--persona", persona,
                CHECKOUT / "action.yml", *WORKFLOWS, generated)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings" in proc.stdout + proc.stderr


@pytest.mark.parametrize(("schema", "files"), [
    ("vendor.github-workflows", [*WORKFLOWS]),
    ("vendor.github-actions", [CHECKOUT / "action.yml"]),
    ("vendor.gitlab-ci", sorted((CHECKOUT / "examples" / "gitlab").glob("*.yml"))),
    ("vendor.dependabot", [CHECKOUT / ".github" / "dependabot.yml"]),
])
def test_every_ci_file_fits_its_hosts_schema(generated: Path, schema: str, files: list) -> None:
    """check-jsonschema ships the hosts' own schemas: GitLab rejected the template's
    `- pip install … --only-binary :all: …` (YAML read it as a mapping)."""
    extra = [generated] if schema == "vendor.github-workflows" else []
    assert files
    proc = _run(BIN / "check-jsonschema", "--builtin-schema", schema, *files, *extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_reports_nothing(generated: Path) -> None:
    proc = _run(BIN / "actionlint", "-no-color", *WORKFLOWS, generated)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_action_is_pinned_by_a_current_commit() -> None:
    import re

    for path in [CHECKOUT / "action.yml", *WORKFLOWS]:
        for ref in re.findall(r"uses:\s*([^\s#]+)", path.read_text()):
            if ref.startswith("./"):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), (path.name, ref)
            assert "11bd71901bbe5b1630ceea73d27597364c9af683" not in ref  # checkout v4.2.2: Node 20

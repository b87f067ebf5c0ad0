"""Each JSON output has a JSON Schema in docs/schemas/, with a `version`: real outputs of
the real CLI validate against them (a history's findings with their locations, a conflict-free
check, a manifest with problems, a store's list), so a field added or renamed fails here."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import git, git_init, kg, write
from tests.scan.conftest import TOKENS

jsonschema = pytest.importorskip("jsonschema")
SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schemas"


def _valid(name: str, output: str) -> list:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    assert schema["version"] == 1 and schema["$id"].endswith(f"{name}.schema.json")
    data = json.loads(output)
    jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)
    return data


def test_scan_and_a_history(tmp_path: Path) -> None:
    repo = git_init(tmp_path / "repo")
    token = TOKENS["github-classic"]
    for i in range(3):
        write(repo, {"app.py": f'token = "{token}"\n# {i}\n', "b.py": f"x = {i}\n"})
        git("add", "-A", cwd=repo)
        git("commit", "-qm", f"c{i}", cwd=repo)
    found = _valid("scan", kg("scan", "--history", "--format", "json", cwd=repo).out)
    assert found and found[0]["occurrences"] == 3
    assert _valid("scan", kg("scan", "--format", "json", cwd=repo).out)


def test_check_manifest_check_and_secrets_ls(store_project: Path, tmp_path: Path) -> None:
    kg("secrets", "set", "DATABASE_URL=-", cwd=store_project, input="postgres://x\n")
    checks = _valid("check", kg("check", "--format", "json", cwd=store_project).out)
    assert {c["name"] for c in checks} >= {"manifest", "store", "secrets"}
    listed = _valid("secrets-ls", kg("secrets", "ls", "--format", "json", cwd=store_project).out)
    assert any(row["status"] == "set" for row in listed)
    bad = tmp_path / "bad"
    write(bad, {"kortix.yaml": "kortix_version: 3\ndefault_agent: kortix\nenv:\n  required: "
                              "[lower_case, KORTIX_X]\nagents:\n  kortix: {runtime: opencode, "
                              "secrets: all}\n"})
    problems = _valid("manifest-check", kg("manifest", "check", "--format", "json", cwd=bad).out)
    assert {p["code"] for p in problems} >= {"KG111", "KG120"}

"""Every manifest rule: code, line and exit status, one table row per case."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from kortix_guard.rules import RULES
from tests.conftest import assert_exit, kg

HEAD = '[project]\nname = "demo"\n'

# (manifest text, expected (code, line) pairs, exit code)
CASES = [
    ("valid", HEAD + '[env]\nrequired = ["DATABASE_URL"]\noptional = ["OPENAI_API_KEY"]\n', [], 0),
    ("no env at all", HEAD, [], 0),
    ("empty file", "", [("KG103", 1)], 1),
    ("bad toml", HEAD + '[env]\nrequired = ["A",\n', [("KG100", 4)], 1),
    # tomlkit stops at the next line; the report names the line left open.
    ("bad toml, next line", HEAD + '[env]\nrequired = ["A",\noptional = []\n', [("KG100", 4)], 1),
    ("version 1 int", "kortix_version = 1\n" + HEAD, [], 0),
    ("version 1 str", 'kortix_version = "1"\n' + HEAD, [], 0),
    ("version 2", "kortix_version = 2\n" + HEAD + '[env]\nrequired = ["bad"]\n', [("KG101", 1)], 1),
    ("version true", "kortix_version = true\n" + HEAD, [("KG101", 1)], 1),
    ("project not table", 'project = "x"\n', [("KG103", 1)], 1),
    ("project name empty", '[project]\nname = ""\n', [("KG103", 2)], 1),
    ("project name missing", "[project]\ndescription = \"d\"\n", [("KG103", 1)], 1),
    ("env not table", 'env = "A"\n' + HEAD, [("KG104", 1)], 1),
    ("required not array", HEAD + '[env]\nrequired = "A"\n', [("KG104", 4)], 1),
    ("unknown env key", HEAD + "[env]\nrequried = []\n", [("KG105", 4)], 1),
    ("value in env", HEAD + '[env]\nOPENAI_API_KEY = "sk-abc"\n', [("KG106", 4)], 1),  # kortix-guard: allow
    ("invalid char", HEAD + '[env]\nrequired = ["API-KEY"]\n', [("KG110", 4)], 1),
    ("leading digit", HEAD + '[env]\nrequired = ["1ABC"]\n', [("KG110", 4)], 1),
    ("lower case", HEAD + '[env]\nrequired = ["api_key"]\n', [("KG111", 4)], 1),
    ("too long", HEAD + f'[env]\nrequired = ["{"A" * 65}"]\n', [("KG112", 4)], 1),
    ("64 is fine", HEAD + f'[env]\nrequired = ["{"A" * 64}"]\n', [], 0),
    ("spaces", HEAD + '[env]\nrequired = [" API_KEY"]\n', [("KG113", 4)], 1),
    ("empty name", HEAD + '[env]\nrequired = [""]\n', [("KG114", 4)], 1),
    ("non-string", HEAD + "[env]\nrequired = [42]\n", [("KG115", 4)], 1),
    ("reserved", HEAD + '[env]\nrequired = ["KORTIX_TOKEN"]\n', [("KG120", 4)], 1),
    ("dropped", HEAD + '[env]\noptional = ["PORT"]\n', [("KG121", 4)], 1),
    ("dropped prefix", HEAD + '[env]\noptional = ["OPENCODE_X"]\n', [("KG121", 4)], 1),
    ("changes loading", HEAD + '[env]\noptional = ["BASH_ENV"]\n', [("KG123", 4)], 1),
    ("github warning", HEAD + '[env]\noptional = ["GITHUB_TOKEN"]\n', [("KG122", 4)], 0),
    ("runner warning", HEAD + '[env]\noptional = ["RUNNER_X"]\n', [("KG122", 4)], 0),
    ("duplicate", HEAD + '[env]\nrequired = [\n  "A",\n  "A",\n]\n', [("KG130", 6)], 1),
    ("in both", HEAD + '[env]\nrequired = ["A"]\noptional = ["A"]\n', [("KG131", 5)], 1),
    ("case duplicate", HEAD + '[env]\nrequired = ["A", "a"]\n', [("KG111", 4), ("KG130", 4)], 1),
    ("trigger undeclared",
     HEAD + '[[triggers]]\ntype = "webhook"\nsecret_env = "HOOK"\n', [("KG140", 5)], 1),
    ("trigger alias declared",
     HEAD + '[env]\nrequired = ["HOOK"]\n[[triggers]]\ntype = "webhook"\nsecretEnv = "HOOK"\n', [], 0),
    ("trigger bad name",
     HEAD + '[env]\nrequired = ["HOOK"]\n[[triggers]]\nsecret_env = "hook-x"\n',  # kortix-guard: allow
     [("KG110", 6)], 1),
    ("connector undeclared",
     HEAD + '[[connectors]]\nname = "x"\n[connectors.auth]\ntype = "bearer"\nsecret = "TOK"\n',
     [("KG141", 7)], 1),
    ("connector declared",
     HEAD + '[env]\noptional = ["TOK"]\n[[connectors]]\nauth = { type = "bearer", secret = "TOK" }\n',
     [], 0),
    ("app env bad name", HEAD + '[[apps]]\n[apps.env]\n"my-var" = "x"\n', [("KG142", 5)], 1),
    ("app env bad value", HEAD + "[[apps]]\n[apps.env]\nLEVEL = 3\n", [("KG142", 5)], 1),
    ("app env fine", HEAD + '[[apps]]\n[apps.env]\nlog_level = "debug"\n', [], 0),
    ("unknown table", HEAD + "[sandboxx]\ncpu = 2\n", [("KG150", 3)], 0),
    ("known tables", HEAD + "[sandbox]\ncpu = 2\n[opencode]\nconfig_dir = \".o\"\n", [], 0),
    ("guard ok", HEAD + '[guard]\nstore = "s.toml"\nexclude = ["*.md"]\nbaseline = "b.json"\n'
                        "min_known_length = 12\n", [], 0),
    ("guard unknown key", HEAD + '[guard]\nstroe = "x"\n', [("KG151", 4)], 1),
    ("guard bad type", HEAD + '[guard]\nmin_known_length = "8"\n', [("KG152", 4)], 1),
    ("guard bool int", HEAD + "[guard]\nmin_known_length = true\n", [("KG152", 4)], 1),
    ("guard exclude type", HEAD + "[guard]\nexclude = [1]\n", [("KG152", 4)], 1),
]


@pytest.mark.parametrize(("text", "expected", "exit_code"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(tmp_path: Path, text: str, expected: list[tuple[str, int]], exit_code: int) -> None:
    (tmp_path / "kortix.toml").write_text(text)
    result = kg("manifest", "check", "--format", "json", cwd=tmp_path)
    found = [(p["code"], p["line"]) for p in json.loads(result.out)]
    assert found == expected
    assert result.code == exit_code


def test_every_manifest_rule_has_a_case() -> None:
    covered = {code for case in CASES for code, _ in case[2]}
    manifest_rules = {c for c in RULES if c.startswith("KG1") and c != "KG102"}
    assert manifest_rules <= covered


def test_text_format_is_path_line_col_code(tmp_path: Path) -> None:
    (tmp_path / "kortix.toml").write_text(HEAD + '[env]\nrequired = ["DB", "api_key"]\n')
    result = kg("manifest", "check", cwd=tmp_path)
    assert result.out == ("kortix.toml:4:19: KG111 'api_key' is not upper case; "
                          "Kortix stores it as 'API_KEY'\n")
    assert result.code == 1


def test_did_you_mean(tmp_path: Path) -> None:
    (tmp_path / "kortix.toml").write_text(HEAD + '[env]\nrequried = ["A"]\nrequired = ["API-KEY"]\n')
    out = kg("manifest", "check", cwd=tmp_path).out
    assert "did you mean 'required'?" in out
    assert "did you mean 'API_KEY'?" in out


def test_yaml_beside_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "kortix.toml").write_text(HEAD)
    (tmp_path / "kortix.yaml").write_text("version: 2\n")
    result = kg("manifest", "check", cwd=tmp_path)
    assert result.out.startswith("kortix.toml:1:1: KG102 ")
    assert result.code == 0
    assert_exit(kg("manifest", "check", "--strict", cwd=tmp_path), 1, "KG102")


def test_value_is_never_repeated(tmp_path: Path) -> None:
    value = "sk-proj-Zq8veryprivatevalue93"  # kortix-guard: allow
    for text in (HEAD + f'[env]\nOPENAI_API_KEY = "{value}"\n',
                 HEAD + f"[env]\nOPENAI_API_KEY = {value}\n",
                 HEAD + f'[env]\nrequired = "{value}"\n'):
        (tmp_path / "kortix.toml").write_text(text)
        for fmt in ("text", "json"):
            result = kg("manifest", "check", "--format", fmt, cwd=tmp_path)
            assert result.code == 1
            assert value not in result.all
            assert "sk-proj" not in result.all


def test_several_files_and_exit_code(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "kortix.toml").write_text(HEAD)
    (tmp_path / "b" / "kortix.toml").write_text(HEAD + '[env]\nrequired = ["PATH"]\n')
    result = kg("manifest", "check", "a/kortix.toml", "b/kortix.toml", cwd=tmp_path)
    assert result.out.startswith("b/kortix.toml:4:")
    assert result.code == 1

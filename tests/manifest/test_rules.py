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


V3 = "kortix_version: 3\ndefault_agent: kortix\nruntimes: {opencode: {}}\n"
AGENT = "agents:\n  kortix: {runtime: opencode, secrets: all}\n"
ENV_A = "env:\n  required: [A]\n"

# The same, for kortix.yaml (versions 2 and 3).
YAML_CASES = [
    ("v3 valid", V3 + "env:\n  required: [DATABASE_URL]\n  optional: [OPENAI_API_KEY]\n" + AGENT,
     [], 0),
    ("v2 valid", "kortix_version: 2\ndefault_agent: kortix\n" + ENV_A +
     "agents:\n  kortix: {secrets: [a]}\n", [], 0),
    ("no version", ENV_A, [("KG101", 1)], 1),
    ("version 1 is toml's", "kortix_version: 1\n", [("KG101", 1)], 1),
    ("version 4", "kortix_version: 4\n", [("KG101", 1)], 1),
    ("version as string", 'kortix_version: "3"\n', [("KG101", 1)], 1),
    ("bad yaml", V3 + "env:\n  required: [A\n", [("KG107", 6)], 1),
    ("tab", V3 + "env:\n\trequired: [A]\n", [("KG107", 5)], 1),
    ("duplicate key", V3 + ENV_A + "env:\n  optional: [B]\n", [("KG107", 6)], 1),
    ("top level a list", "- a\n", [("KG107", 1)], 1),
    ("alias bomb", V3 + AGENT + "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
     + "".join(f"{n}: &{n} [{', '.join(['*' + p] * 10)}]\n" for p, n in zip("abcd", "bcde", strict=True))
     + "f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n", [("KG107", 6)], 1),
    ("value in env", V3 + AGENT + "env:\n  OPENAI_API_KEY: sk-abc\n",  # kortix-guard: allow
     [("KG106", 7)], 1),
    ("other env keys are kortix's", V3 + AGENT + ENV_A + "  description: the names\n", [], 0),
    ("NO stays a string", V3 + AGENT + "env:\n  required: [NO]\n", [], 0),
    ("env not a mapping", V3 + AGENT + "env: [A]\n", [("KG104", 6)], 1),
    ("bad name", V3 + AGENT + "env:\n  required: [API-KEY]\n", [("KG110", 7)], 1),
    ("reserved", V3 + AGENT + "env:\n  required: [KORTIX_TOKEN]\n", [("KG120", 7)], 1),
    ("in both", V3 + AGENT + ENV_A + "  optional: [A]\n", [("KG131", 8)], 1),
    ("trigger undeclared", V3 + AGENT + "triggers:\n  - type: webhook\n    secret_env: HOOK\n",
     [("KG140", 8)], 1),
    ("connector auth.secret", V3 + AGENT + "connectors:\n  - slug: x\n    auth:\n"
     "      type: bearer\n      secret: TOK\n", [("KG141", 10)], 1),
    ("app secret undeclared", "kortix_version: 2\ndefault_agent: k\nagents: {k: {}}\n"
     "apps:\n  web:\n    secrets: {DB: DATABASE_URL}\n", [("KG143", 6)], 1),
    ("app secret declared", "kortix_version: 2\ndefault_agent: k\nagents: {k: {}}\n"
     "env: {required: [DATABASE_URL]}\napps:\n  web:\n    secrets: {DB: DATABASE_URL}\n", [], 0),
    ("app secret bad env name", "kortix_version: 2\ndefault_agent: k\nagents: {k: {}}\n"
     + ENV_A + "apps:\n  web:\n    secrets: {my-db: A}\n", [("KG142", 8)], 1),
    ("no apps in v3", V3 + AGENT + "apps:\n  web: {}\n", [("KG143", 6)], 1),
    ("grant undeclared", V3 + ENV_A + "agents:\n  kortix: {runtime: opencode, secrets: [B]}\n",
     [("KG160", 7)], 0),
    ("all on a specialist", V3 + "agents:\n  kortix: {secrets: none}\n  helper: {secrets: all}\n",
     [("KG161", 6)], 0),
    ("all on a disabled agent", V3 + "agents:\n  kortix: {secrets: none}\n"
     "  old: {secrets: all, enabled: false}\n", [], 0),
    ("grant invalid", V3 + "agents:\n  kortix: {secrets: everything}\n", [("KG162", 5)], 1),
    ("no default agent", "kortix_version: 3\nagents:\n  kortix: {}\n", [("KG163", 1)], 1),
    ("default agent typo", "kortix_version: 3\ndefault_agent: kortx\nagents:\n  kortix: {}\n",
     [("KG163", 2)], 1),
    ("default agent disabled",
     "kortix_version: 3\ndefault_agent: kortix\nagents:\n  kortix: {enabled: false}\n",
     [("KG163", 2)], 1),
    ("environment means env", V3 + AGENT + "environment:\n  required: [A]\n", [("KG150", 6)], 0),
    ("near miss of env", V3 + AGENT + "enviroment:\n  required: [A]\n", [("KG150", 6)], 0),
    ("other keys are kortix's", V3 + AGENT + "sandbox: {cpu: 2}\nfoo: 1\n", [], 0),
    ("guard ok", V3 + AGENT + "x-kortix-guard:\n  store: s.toml\n  exclude: ['*.md']\n", [], 0),
    ("guard unknown key", V3 + AGENT + "x-kortix-guard:\n  stroe: s.toml\n", [("KG151", 7)], 1),
    ("guard bad type", V3 + AGENT + "x-kortix-guard:\n  min_known_length: '8'\n",
     [("KG152", 7)], 1),
]


def _check(tmp_path: Path, file_name: str, text: str) -> tuple[list[tuple[str, int]], int]:
    (tmp_path / file_name).write_text(text)
    result = kg("manifest", "check", "--format", "json", cwd=tmp_path)
    return [(p["code"], p["line"]) for p in json.loads(result.out)], result.code


@pytest.mark.parametrize(("text", "expected", "exit_code"),
                         [c[1:] for c in YAML_CASES], ids=[c[0] for c in YAML_CASES])
def test_yaml_rule(tmp_path: Path, text: str, expected: list[tuple[str, int]],
                   exit_code: int) -> None:
    assert _check(tmp_path, "kortix.yaml", text) == (expected, exit_code)


def test_toml_rules_hold_in_kortix_yml(tmp_path: Path) -> None:
    """kortix.yml is read as kortix.yaml is."""
    assert _check(tmp_path, "kortix.yml", V3 + AGENT + "env:\n  required: [a]\n") \
        == ([("KG111", 7)], 1)


@pytest.mark.parametrize(("text", "expected", "exit_code"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(tmp_path: Path, text: str, expected: list[tuple[str, int]], exit_code: int) -> None:
    (tmp_path / "kortix.toml").write_text(text)
    result = kg("manifest", "check", "--format", "json", cwd=tmp_path)
    found = [(p["code"], p["line"]) for p in json.loads(result.out)]
    assert found == expected
    assert result.code == exit_code


def test_every_manifest_rule_has_a_case_in_each_version_it_applies_to() -> None:
    toml = {code for case in CASES for code, _ in case[2]}
    yaml_ = {code for case in YAML_CASES for code, _ in case[2]}
    for code, r in RULES.items():
        if not code.startswith("KG1") or code == "KG102":
            continue
        if 1 in r.versions:
            assert code in toml, code
        if r.versions != (1,) and code not in ("KG112", "KG113", "KG114", "KG115", "KG121",
                                               "KG122", "KG123", "KG130", "KG111"):
            assert code in yaml_, code  # the name rules are one function, tested on TOML


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


def test_toml_beside_yaml_is_a_warning(tmp_path: Path) -> None:
    """Kortix reads kortix.yaml first: the kortix.toml beside it is ignored, and said so."""
    (tmp_path / "kortix.toml").write_text(HEAD + '[env]\nrequired = ["A"]\n')
    (tmp_path / "kortix.yaml").write_text(V3 + AGENT)
    result = kg("manifest", "check", cwd=tmp_path)
    assert result.out.startswith("kortix.toml:1:1: KG102 ")
    assert result.code == 0
    assert_exit(kg("manifest", "check", "--strict", cwd=tmp_path), 1, "KG102")
    (tmp_path / "kortix.yml").write_text(V3 + AGENT)
    out = kg("manifest", "check", cwd=tmp_path).out
    assert "kortix.yml:1:1: KG102 " in out and "kortix.toml:1:1: KG102 " in out


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

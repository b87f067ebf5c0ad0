"""--fix changes only what is safe, keeps every other byte, and follows pre-commit's exit rule."""
from __future__ import annotations

from pathlib import Path

from tests.conftest import kg

BEFORE = """\
# Our project. This comment, the spacing and the order below must survive --fix.
[project]
name   =   "demo"   # inline comment

[env]
required = [
    "database_url",   # the main DB
    " API_KEY ",
    "DATABASE_URL",
    "PORT",
]
optional = ['OPENAI_API_KEY']  # literal string stays literal
"""

AFTER = """\
# Our project. This comment, the spacing and the order below must survive --fix.
[project]
name   =   "demo"   # inline comment

[env]
required = [
    "DATABASE_URL",   # the main DB
    "API_KEY",
    "PORT",
]
optional = ['OPENAI_API_KEY']  # literal string stays literal
"""


def test_fix_rewrites_only_the_names(tmp_path: Path) -> None:
    manifest = tmp_path / "kortix.toml"
    manifest.write_text(BEFORE)
    result = kg("manifest", "check", "--fix", cwd=tmp_path)
    assert manifest.read_text() == AFTER
    assert result.code == 1  # changed the file
    assert "KG111 fixed: 'database_url' -> 'DATABASE_URL'" in result.err
    assert "KG113 fixed: ' API_KEY ' -> 'API_KEY'" in result.err
    assert "KG130 fixed: dropped the second DATABASE_URL" in result.err
    # What cannot be fixed safely is still reported.
    assert "KG121" in result.out


def test_fix_on_a_clean_file_changes_nothing(tmp_path: Path) -> None:
    manifest = tmp_path / "kortix.toml"
    manifest.write_text(AFTER.replace('"PORT",\n', ""))
    before = manifest.read_bytes()
    mtime = manifest.stat().st_mtime_ns
    result = kg("manifest", "check", "--fix", cwd=tmp_path)
    assert result.code == 0
    assert manifest.read_bytes() == before
    assert manifest.stat().st_mtime_ns == mtime


def test_fix_leaves_unfixable_and_invalid_toml_alone(tmp_path: Path) -> None:
    manifest = tmp_path / "kortix.toml"
    manifest.write_text('[project]\nname = "d"\n[env]\nrequired = ["A",\n')
    before = manifest.read_bytes()
    result = kg("manifest", "check", "--fix", cwd=tmp_path)
    assert result.code == 1
    assert "KG100" in result.out
    assert manifest.read_bytes() == before


YAML_BEFORE = """\
# Our project. Comments, spacing, quoting and order must survive --fix.
kortix_version: 3
default_agent: kortix
runtimes: {opencode: {harness: opencode}}
env:
  required: [DATABASE_URL, PORT, 'database_url', " true "]   # flow, with a comment
  optional:
    - OPENAI_API_KEY
    - api_key          # block item, comment kept
    - "OPENAI_API_KEY" # dropped with its line
    - null_x
agents:
    kortix: {runtime: opencode, secrets: all}   # four spaces here, kept
triggers:
  - {type: webhook, secret_env: " HOOK "}
"""

YAML_AFTER = """\
# Our project. Comments, spacing, quoting and order must survive --fix.
kortix_version: 3
default_agent: kortix
runtimes: {opencode: {harness: opencode}}
env:
  required: [DATABASE_URL, PORT, "TRUE"]   # flow, with a comment
  optional:
    - OPENAI_API_KEY
    - API_KEY          # block item, comment kept
    - NULL_X
agents:
    kortix: {runtime: opencode, secrets: all}   # four spaces here, kept
triggers:
  - {type: webhook, secret_env: " HOOK "}
"""


def test_fix_in_yaml_changes_the_names_characters_only(tmp_path: Path) -> None:
    manifest = tmp_path / "kortix.yaml"
    manifest.write_text(YAML_BEFORE)
    result = kg("manifest", "check", "--fix", cwd=tmp_path)
    assert manifest.read_text() == YAML_AFTER
    assert result.code == 1
    assert "kortix.yaml:6:34: KG130 fixed: dropped the second DATABASE_URL in `required`" in result.err
    assert "KG113 fixed: ' true ' -> 'TRUE'" in result.err  # quoted: plain TRUE is a boolean
    assert "kortix.yaml:9:7: KG111 fixed: 'api_key' -> 'API_KEY'" in result.err
    # A trigger's name is reported, not fixed, and not counted as fixable.
    assert "KG113 ' HOOK ' has spaces around it" in result.out
    assert "fixable" not in result.err
    again = kg("manifest", "check", "--fix", cwd=tmp_path)
    assert manifest.read_text() == YAML_AFTER and "fixed:" not in again.err


def test_fix_in_yaml_leaves_what_it_cannot_edit_exactly(tmp_path: Path) -> None:
    """A duplicate sharing its line with another key, or a name in a block scalar, is left to
    its author: the file is untouched rather than rewritten by guess."""
    manifest = tmp_path / "kortix.yaml"
    for text in ("kortix_version: 3\ndefault_agent: k\nagents: {k: {}}\nenv:\n  required:\n"
                 "  - A\n  - A\n  optional: [>-\n      b\n    ]\n",
                 "kortix_version: 3\ndefault_agent: k\nagents: {k: {}}\nenv:\n  required:\n"
                 "  - A\n  - {x: 1}\n  - A\n  optional: [|\n      b\n    ]\n"):
        manifest.write_text(text)
        result = kg("manifest", "check", "--fix", cwd=tmp_path)
        assert manifest.read_text() == text
        assert result.code == 1 and "fixed:" not in result.err

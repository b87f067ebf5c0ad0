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

"""Unreadable input: one clear message naming the file and its next step, exit 2, no
traceback, nothing changed."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import assert_cannot_run, kg_proc

CASES = [
    ("non-utf8", b'[project]\nname = "caf\xe9"\n', "kortix.toml:2:12: not UTF-8 text"),
    ("binary", b"\x00\x01\x02", "kortix.toml: binary data"),
    ("too big", b"#" * (10 * 1024 * 1024 + 1), "bytes; a manifest is at most"),
]


@pytest.mark.parametrize(("content", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_unreadable_manifest(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "kortix.toml").write_bytes(content)
    result = kg_proc("manifest", "check", cwd=tmp_path)
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.all
    message_line, hint = result.err.strip().splitlines()  # the message, then what to do
    assert message_line.startswith("kortix-guard: error: ") and hint.startswith("  hint: ")
    assert (tmp_path / "kortix.toml").read_bytes() == content


def test_directory_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "dir.toml").mkdir()
    assert_cannot_run(kg_proc("manifest", "check", "dir.toml", cwd=tmp_path),
                      "error: dir.toml: is a directory")
    assert_cannot_run(kg_proc("manifest", "check", "nope.toml", cwd=tmp_path),
                      "nope.toml: no such manifest")


def test_no_manifest_in_project(tmp_path: Path) -> None:
    assert_cannot_run(kg_proc("manifest", "check", cwd=tmp_path), "no such manifest")

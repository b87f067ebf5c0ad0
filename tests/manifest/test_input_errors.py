"""Unreadable input: one clear message naming the file and its next step, exit 2, no
traceback, nothing changed."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import assert_cannot_run, kg_proc

CASES = [
    ("non-utf8", b'[project]\nname = "caf\xe9"\n', "{name}:2:12: not UTF-8 text"),
    ("binary", b"\x00\x01\x02", "{name}: binary data"),
    ("too big", b"#" * (10 * 1024 * 1024 + 1), "bytes; a manifest is at most"),
]


@pytest.mark.parametrize("name", ["kortix.toml", "kortix.yaml"])
@pytest.mark.parametrize(("content", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_unreadable_manifest(tmp_path: Path, content: bytes, message: str, name: str) -> None:
    (tmp_path / name).write_bytes(content)
    for args in (["manifest", "check"], ["inject", "--check"], ["secrets", "ls"]):
        result = kg_proc(*args, cwd=tmp_path)
        assert result.code == 2, (args, result.all)
        assert message.format(name=name) in result.err
        assert "Traceback" not in result.all
        message_line, hint = result.err.strip().splitlines()  # the message, then what to do
        assert message_line.startswith("kortix-guard: error: ") and hint.startswith("  hint: ")
        assert (tmp_path / name).read_bytes() == content


def test_a_fifo_is_refused_not_read(tmp_path: Path) -> None:
    """A named pipe where the manifest should be: refused at once (reading it would hang)."""
    import os

    os.mkfifo(tmp_path / "kortix.yaml")
    assert_cannot_run(kg_proc("manifest", "check", cwd=tmp_path, timeout=30),
                      "kortix.yaml: not a regular file")


def test_bad_yaml_stops_every_command_that_reads_it(tmp_path: Path) -> None:
    """Manifest check reports it (exit 1, like invalid TOML); a command that needs the names
    cannot run (exit 2), naming the line."""
    (tmp_path / "kortix.yaml").write_text("kortix_version: 3\nenv:\n\trequired: [A]\n")
    result = kg_proc("manifest", "check", cwd=tmp_path)
    assert result.code == 1 and "kortix.yaml:3:1: KG107 not valid YAML: a tab character" \
        in result.out
    assert_cannot_run(kg_proc("inject", "--check", cwd=tmp_path),
                      "kortix.yaml:3:1: KG107 not valid YAML: a tab character")


def test_directory_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "dir.toml").mkdir()
    assert_cannot_run(kg_proc("manifest", "check", "dir.toml", cwd=tmp_path),
                      "error: dir.toml: is a directory")
    assert_cannot_run(kg_proc("manifest", "check", "nope.toml", cwd=tmp_path),
                      "nope.toml: no such manifest")


def test_no_manifest_in_project(tmp_path: Path) -> None:
    assert_cannot_run(kg_proc("manifest", "check", cwd=tmp_path), "no such manifest")

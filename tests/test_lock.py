"""The action's hash-locked requirements match pyproject.toml: regenerating them with the
documented command (uv keeps the pins it already has) changes nothing."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "action.lock"


def _command() -> list[str]:
    header = LOCK.read_text().splitlines()[1].lstrip("#").strip()
    assert header.startswith("uv pip compile "), header
    return header.split()


@pytest.mark.network
def test_lock_matches_pyproject(tmp_path: Path) -> None:
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "requirements", tmp_path / "requirements")
    uv = Path(sys.executable).with_name("uv")
    command = [str(uv), *_command()[1:], "--custom-compile-command", " ".join(_command()), "-q"]
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "requirements" / "action.lock").read_text() == LOCK.read_text(), (
        "requirements/action.lock is stale: run the command in its header")


def test_lock_pins_every_dependency_with_hashes() -> None:
    text = LOCK.read_text()
    pinned = {line.split("==")[0] for line in text.splitlines() if "==" in line}
    for name in ("click", "cryptography", "pygit2", "tomlkit", "python-dotenv", "filelock",
                 "platformdirs", "hyperscan", "setuptools"):
        assert name in pinned, name
    assert text.count("--hash=sha256:") > len(pinned)

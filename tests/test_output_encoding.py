"""Every command's output on a console that is not UTF-8: `PYTHONIOENCODING=cp1252` (a
Windows pipe), `ascii`, and `LANG=C`. Symbols fall back to ASCII stand-ins from one table
in `_out`; nothing stops half done."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import git, git_init
from tests.scan.conftest import TOKENS

COMMANDS = [
    ["identity", "new"], ["init"], ["secrets", "set", "DATABASE_URL=-"], ["secrets", "ls"],
    ["secrets", "get", "DATABASE_URL"], ["check"], ["check", "--format", "json"],
    ["manifest", "check"], ["recipients", "ls"], ["scan", "--all-files"], ["scan", "leak.py"],
    ["env", "pull"], ["store", "upgrade"], ["inject", "--check"], ["key", "rotate"],
    ["secrets", "ls"], ["init"], ["--help"], ["recipients", "add", "--help"], ["--version"],
]


@pytest.mark.parametrize("environment", [{"PYTHONIOENCODING": "cp1252"},
                                         {"PYTHONIOENCODING": "ascii"},
                                         {"LANG": "C", "LC_ALL": "C", "PYTHONIOENCODING": ""}],
                         ids=["cp1252", "ascii", "LANG=C"])
def test_every_command_under_a_non_utf8_console(tmp_path: Path, environment: dict) -> None:
    repo = git_init(tmp_path / "repo")
    (repo / "leak.py").write_text(f'token = "{TOKENS["github-classic"]}"  # \u00e9t\u00e9 \u2192\n')
    env = {**os.environ, **environment}
    encoding = environment.get("PYTHONIOENCODING") or "utf-8"
    for args in COMMANDS:
        result = subprocess.run([sys.executable, "-m", "kortix_guard", *args], cwd=repo,
                                input=b"postgres://x\n", capture_output=True, env=env,
                                timeout=120)
        out, err = result.stdout.decode(encoding), result.stderr.decode(encoding)
        assert result.returncode in (0, 1), (args, out, err)
        assert "internal error" not in err and "Traceback" not in err, (args, err)
        if args[:2] == ["secrets", "set"]:
            # The check mark where it can be encoded, its ASCII stand-in where not.
            assert out.startswith("\u2713 DATABASE_URL" if encoding == "utf-8" else "+ DATABASE_URL")
        if args == ["scan", "leak.py"]:
            assert "KG320" in out
    assert (repo / ".github" / "workflows" / "kortix-guard.yml").exists()  # init finished
    git("status", "--short", cwd=repo)

"""A file name is chosen by whoever commits: one holding a newline could put a runner's
workflow command (`::stop-commands::`, `::notice …`, `::add-mask::`) at the start of a line of
kortix-guard's text output, before its own annotations. Text output quotes such a path as
git's `core.quotePath` does (the third review, low)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kortix_guard._out import quote_path
from tests.conftest import commit, kg_proc, write
from tests.scan.conftest import TOKENS

EVIL = "notes\n::stop-commands::pwned\n::error title=fake::all good.txt"


@pytest.mark.parametrize(("path", "shown"), [
    ("src/app.py", "src/app.py"),
    ("a\nb", '"a\\nb"'),
    ("tab\tq\"b\\", '"tab\\tq\\"b\\\\"'),
    ("line\u2028sep", '"line\\342\\200\\250sep"'),
    ("café.txt", "café.txt"),
])
def test_paths_are_quoted_as_git_quotes_them(path: str, shown: str) -> None:
    assert quote_path(path) == shown


@pytest.mark.skipif(sys.platform == "win32", reason="a newline in a file name")
@pytest.mark.parametrize("args", [["scan", "--all-files"], ["check", "--all-files"]])
def test_a_file_name_cannot_start_a_workflow_command(project: Path, args: list[str]) -> None:
    commit(project, {EVIL: f'token = "{TOKENS["github-classic"]}"\n'})
    write(project, {".gitignore": ".env\n.env.*\n"})
    result = kg_proc(*args, cwd=project, env={"GITHUB_ACTIONS": "true"})
    assert result.code == 1
    ours = ("::error ", "::warning ", "::notice ")  # kortix-guard's own annotations, escaped
    for line in result.out.splitlines() + result.err.splitlines():
        assert not line.startswith("::") or line.startswith(ours), line
    assert '"notes\\n::stop-commands::pwned' in result.out

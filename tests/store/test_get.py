"""`secrets get NAME`: one value, byte for byte, into a pipe (a terminal only with --reveal),
as `op read` and `sops -d --extract` give one; in CI with KORTIX_GUARD_KEY."""
from __future__ import annotations

import os
import pty
import sys
from pathlib import Path

from tests.conftest import MANIFEST_YAML, assert_cannot_run, git_init, kg, kg_proc, write
from tests.terminal import finish as _finish

VALUE = "postgres://app:Zq8-v4lue@db/app\twith a tab, no newline"  # kortix-guard: allow


def _project(tmp_path: Path) -> Path:
    repo = git_init(tmp_path / "repo")
    assert kg("identity", "new", cwd=repo).code == 0 and kg("init", cwd=repo).code == 0
    write(repo, {"kortix.yaml": MANIFEST_YAML})
    assert kg("secrets", "set", "DATABASE_URL=-", cwd=repo, input=VALUE).code == 0
    return repo


def test_get_prints_the_value_byte_for_byte_into_a_pipe(tmp_path: Path) -> None:
    repo = _project(tmp_path)
    result = kg_proc("secrets", "get", "DATABASE_URL", cwd=repo)
    assert result.code == 0, result.err
    assert result.out == VALUE  # no newline added
    assert result.err == ""


def test_get_in_ci_with_the_key_in_the_environment(tmp_path: Path) -> None:
    repo = _project(tmp_path)
    made = kg("recipients", "add", "ci", "--generate", cwd=repo)
    identity = made.out.strip().splitlines()[-1]
    result = kg_proc("secrets", "get", "DATABASE_URL", cwd=repo,
                     env={"KORTIX_GUARD_KEY": identity, "HOME": str(tmp_path / "ci"),
                          "XDG_CONFIG_HOME": str(tmp_path / "ci-config")})
    assert result.code == 0 and result.out == VALUE, result.err


def test_unset_or_undeclared_names_exit_1_with_the_name(tmp_path: Path) -> None:
    repo = _project(tmp_path)
    unset = kg_proc("secrets", "get", "OPENAI_API_KEY", cwd=repo)
    assert unset.code == 1 and unset.out == ""
    assert "OPENAI_API_KEY is declared but not set" in unset.err
    undeclared = kg_proc("secrets", "get", "DATABSE_URL", cwd=repo)
    assert undeclared.code == 1 and undeclared.out == ""
    assert "DATABSE_URL" in undeclared.err and "DATABASE_URL" in undeclared.err  # did you mean


def _on_a_terminal(repo: Path, *args: str) -> tuple[int, bytes]:
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(repo)
        os.execv(sys.executable, [sys.executable, "-m", "kortix_guard", "secrets", "get", *args])
    return _finish(pid, fd, b"\n")


def test_a_terminal_gets_the_value_only_with_reveal(tmp_path: Path) -> None:
    repo = _project(tmp_path)
    code, shown = _on_a_terminal(repo, "DATABASE_URL")
    assert code == 2, shown
    assert b"stdout is a terminal" in shown and b"--reveal" in shown
    assert VALUE.split("\t")[0].encode() not in shown
    code, shown = _on_a_terminal(repo, "DATABASE_URL", "--reveal")
    assert code == 0 and VALUE.split("\t")[0].encode() in shown


def test_get_refuses_what_inject_refuses(tmp_path: Path) -> None:
    """A stale store is refused for a single value too, unless --allow-stale."""
    repo = _project(tmp_path)
    from tests.conftest import git

    git("add", "-A", cwd=repo)
    git("commit", "-qm", "v1", cwd=repo)
    assert kg("key", "rotate", cwd=repo).code == 0
    git("commit", "-qam", "rotated", cwd=repo)
    git("checkout", "-q", "HEAD~1", "--", ".kortix/secrets.enc.toml", cwd=repo)
    stale = kg_proc("secrets", "get", "DATABASE_URL", cwd=repo)
    assert_cannot_run(stale, "older than generation")
    assert stale.out == ""
    assert kg_proc("secrets", "get", "--allow-stale", "DATABASE_URL", cwd=repo).out == VALUE

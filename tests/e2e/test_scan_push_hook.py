"""The kortix-scan-push hook through the real pre-commit framework (stage pre-push)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import git_init
from tests.e2e.conftest import HookEnv, run_hook
from tests.push.test_push_protection import TOKEN, commit

pytestmark = pytest.mark.slow


def test_kortix_scan_push(tmp_path: Path, pre_commit_home: HookEnv) -> None:
    client = git_init(tmp_path / "client")
    base = commit(client, {"README.md": "hello\n"}, "init")
    clean = commit(client, {"ok.py": "x = 1\n"})
    passed = run_hook(client, "kortix-scan-push", "--hook-stage", "pre-push",
                      "--from-ref", base, "--to-ref", clean, home=pre_commit_home)
    assert passed.code == 0, passed.out + passed.err
    leaked = commit(client, {"app.py": f'token = "{TOKEN}"\n'})
    blocked = run_hook(client, "kortix-scan-push", "--hook-stage", "pre-push",
                       "--from-ref", clean, "--to-ref", leaked, home=pre_commit_home)
    assert blocked.code == 1, blocked.out + blocked.err
    assert "app.py:1:10: KG320" in blocked.out
    assert TOKEN[4:] not in blocked.out

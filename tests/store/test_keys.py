"""The key's life: export to CI, a teammate's import, rotation, lookup order."""
from __future__ import annotations

from pathlib import Path

import pytest

from kortix_guard.store.crypto import Key
from tests.conftest import kg, kg_proc
from tests.store.conftest import STORE

VALUE = "planted-rotating-value-42"


def test_export_then_teammate_imports(store_project: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    kg("secrets", "set", f"DATABASE_URL={VALUE}", cwd=store_project)
    export = kg("key", "export", cwd=store_project)
    assert export.code == 0
    assert "anyone holding it reads every value" in export.err
    key_text = export.out.strip()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "teammate"))
    assert kg_proc("key", "export", cwd=store_project).code == 2  # the teammate has no key yet
    imported = kg_proc("key", "import", cwd=store_project, input=key_text + "\n")
    assert imported.code == 0, imported.err
    assert key_text not in imported.all
    assert kg_proc("secrets", "set", "OPENAI_API_KEY=x", cwd=store_project).code == 0
    wrong = kg_proc("key", "import", cwd=store_project, input=Key.generate().text())
    assert (wrong.code, "wrong key" in wrong.err) == (2, True)


def test_rotate(store_project: Path) -> None:
    kg("secrets", "set", f"DATABASE_URL={VALUE}", "OPENAI_API_KEY=second", cwd=store_project)
    old_key = kg("key", "export", cwd=store_project).out.strip()
    result = kg_proc("key", "rotate", cwd=store_project)
    assert result.code == 0, result.err
    assert "update CI" in result.err
    assert VALUE not in result.all
    new_key = kg("key", "export", cwd=store_project).out.strip()
    assert new_key != old_key
    stale = kg_proc("key", "export", cwd=store_project, env={"KORTIX_GUARD_KEY": old_key})
    assert (stale.code, "wrong key" in stale.err) == (2, True)
    from kortix_guard.store import open_store

    values = {n: v.reveal() for n, v in open_store(store_project / STORE).values().items()}
    assert values == {"DATABASE_URL": VALUE, "OPENAI_API_KEY": "second"}  # kortix-guard: allow


def test_lookup_order(store_project: Path, tmp_path: Path) -> None:
    real = kg("key", "export", cwd=store_project).out.strip()
    other = Key.generate().text()
    key_file = tmp_path / "k"
    key_file.write_text(real)
    bad_file = tmp_path / "bad"
    bad_file.write_text(other)
    key_file.chmod(0o600)
    bad_file.chmod(0o600)
    # --key-file wins over KORTIX_GUARD_KEY, which wins over KORTIX_GUARD_KEY_FILE and the user key.
    assert kg_proc("--key-file", str(key_file), "key", "export", cwd=store_project,
                   env={"KORTIX_GUARD_KEY": other}).code == 0
    assert kg_proc("key", "export", cwd=store_project, env={"KORTIX_GUARD_KEY": other}).code == 2
    assert kg_proc("key", "export", cwd=store_project,
                   env={"KORTIX_GUARD_KEY": real, "KORTIX_GUARD_KEY_FILE": str(bad_file)}).code == 0
    assert kg_proc("key", "export", cwd=store_project,
                   env={"KORTIX_GUARD_KEY_FILE": str(bad_file)}).code == 2


def test_key_is_never_a_command_line_value(store_project: Path) -> None:
    result = kg("--key", "kgk1_x", "key", "export", cwd=store_project)
    assert result.code == 2

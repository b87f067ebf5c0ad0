from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import kg

STORE = ".kortix/secrets.enc.toml"


@pytest.fixture(autouse=True)
def user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Per-user key files go to a temporary config folder; no key comes from the real env."""
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.delenv("KORTIX_GUARD_KEY", raising=False)
    monkeypatch.delenv("KORTIX_GUARD_KEY_FILE", raising=False)
    return config


@pytest.fixture
def store_project(project: Path) -> Path:
    """A project with an empty store and its key saved as the per-user key."""
    result = kg("key", "new", cwd=project)
    assert result.code == 0, result.err
    return project


def store_id(root: Path) -> str:
    import tomllib

    return tomllib.loads((root / STORE).read_text())["store_id"]


def forget_user_keys(config: Path) -> None:
    """Remove every per-user key, as on a machine that never had the key."""
    for key_file in (config / "kortix-guard" / "keys").iterdir():
        key_file.unlink()

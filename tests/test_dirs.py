"""The per-user folders: on Linux computed without platformdirs, and the same as its answer."""
from __future__ import annotations

import sys

import pytest

from kortix_guard import _dirs


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux rule")
@pytest.mark.parametrize("value", ["/tmp/xdg-here", "", "relative/dir", None])
def test_same_folders_as_platformdirs(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    import platformdirs

    for variable in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        if value is None:
            monkeypatch.delenv(variable, raising=False)
        else:
            monkeypatch.setenv(variable, value)
    assert str(_dirs.config_dir()) == platformdirs.user_config_dir("kortix-guard")
    assert str(_dirs.cache_dir()) == platformdirs.user_cache_dir("kortix-guard")

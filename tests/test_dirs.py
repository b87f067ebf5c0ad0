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


def _under_umask_0000(*args: str, cwd, input: str | None = None):
    """kortix-guard as a real process started under `umask 0000`."""
    import os
    import subprocess

    return subprocess.run([sys.executable, "-m", "kortix_guard", *args], cwd=cwd, input=input,
                          capture_output=True, text=True, preexec_fn=lambda: os.umask(0),
                          timeout=120)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_nothing_per_user_is_open_to_others_under_umask_0000(tmp_path) -> None:
    """Under `umask 0000` the config and cache folders (keys, marks, the compiled rule
    cache, manifest verdicts, locks) were 0777 and the cache files 0666: another user could
    swap in a rule database that matches nothing. Every folder is 0700, every file 0600."""
    import os

    from tests.conftest import git_init

    repo = git_init(tmp_path / "repo")
    (repo / "app.py").write_text("x = 1\n")
    for args in (("identity", "new"), ("init",), ("secrets", "set", "API_KEY=-"),
                 ("scan", "--all-files"), ("check", "--all-files")):
        result = _under_umask_0000(*args, cwd=repo, input="a-value-of-ours\n")
        assert result.returncode in (0, 1), (args, result.stderr)
    seen = 0
    # kortix-guard's own folders: the session's cache also holds other tools' (pre-commit's
    # virtualenv wheels), made by other tests in this worker.
    for base in (os.environ["XDG_CONFIG_HOME"], os.environ["XDG_CACHE_HOME"]):
        for folder, dirs, files in os.walk(os.path.join(base, "kortix-guard")):
            for name in [*dirs, *files]:
                mode = os.lstat(os.path.join(folder, name)).st_mode & 0o777
                assert mode & 0o077 == 0, (os.path.join(folder, name), oct(mode))
                seen += 1
    assert seen >= 5  # the identity, the rule cache, the manifest verdict, a mark, a lock


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_a_cache_folder_open_to_others_is_not_read(tmp_path) -> None:
    """What another user could have put there stays unread: the scan runs without the cache
    (same findings), says why, and names the fix."""
    import os

    from tests.conftest import git_init
    from tests.scan.conftest import TOKENS

    cache = _dirs.cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    os.chmod(cache, 0o777)
    repo = git_init(tmp_path / "repo")
    (repo / "app.py").write_text(f'token = "{TOKENS["github-classic"]}"\n')
    before = sorted(cache.rglob("*"))
    try:
        result = _under_umask_0000("scan", "app.py", cwd=repo)
        assert result.returncode == 1 and "KG320" in result.stdout
        assert f"chmod 700 {cache}" in result.stderr and "without the cache" in result.stderr
        assert os.stat(cache).st_mode & 0o777 == 0o777
        assert sorted(cache.rglob("*")) == before  # nothing written into it either
    finally:
        os.chmod(cache, 0o700)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_a_folder_only_readable_by_others_is_closed_and_kept() -> None:
    """0.2 made ~/.config/kortix-guard 0755 (a parent of its keys folder): nobody else could
    write in it, so it is kept, and closed to 0700."""
    import os

    config = _dirs.config_dir()
    config.mkdir(parents=True, exist_ok=True)
    os.chmod(config, 0o755)
    assert _dirs.private_folder("config", "keys") == config / "keys"
    assert os.stat(config).st_mode & 0o777 == 0o700

"""The only importer of platformdirs: the per-user folders kortix-guard keeps things in.

On Linux the XDG rule is computed here (the same folders platformdirs gives: an absolute
`$XDG_CONFIG_HOME`/`$XDG_CACHE_HOME`, else `~/.config`/`~/.cache`), because importing
platformdirs costs a commit hook more than its whole scan of a typical commit; elsewhere
platformdirs decides.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "kortix-guard"


def _xdg(variable: str, default: str) -> Path:
    value = os.environ.get(variable, "")
    return Path(value if os.path.isabs(value) else os.path.expanduser(default)) / APP


def config_dir() -> Path:
    """Per-user configuration: keys and identities (never in a repository)."""
    if sys.platform.startswith("linux"):
        return _xdg("XDG_CONFIG_HOME", "~/.config")
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP))


def cache_dir() -> Path:
    """Per-user cache: the compiled scanner rules (they hold no secret)."""
    if sys.platform.startswith("linux"):
        return _xdg("XDG_CACHE_HOME", "~/.cache")
    from platformdirs import user_cache_dir

    return Path(user_cache_dir(APP))


def private_folder(kind: str, *parts: str) -> Path:
    """A folder under the per-user config or cache (`kind`), created 0700, and refused when
    it is another user's or writable by others, as ssh refuses an unprotected key: under
    `umask 0000` another user could otherwise swap what is in it (a rule cache that matches
    nothing, a mark, a lock), and tightening it afterwards would keep what they put there.
    One that is only readable by others (0755, as 0.2 made them) is closed to 0700."""
    from kortix_guard.errors import InputError

    base = config_dir() if kind == "config" else cache_dir()
    folder = base.joinpath(*parts)
    for path in (base, folder):
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if sys.platform != "win32":
            info = path.stat()
            if info.st_uid != os.getuid() or info.st_mode & 0o022:
                raise InputError(f"{path}: must be yours alone (owner uid {info.st_uid}, mode "
                                 f"{info.st_mode & 0o777:04o})",
                                 hint=f"remove it if it is not yours, or `chmod 700 {path}`")
            if info.st_mode & 0o077:
                os.chmod(path, 0o700)  # only readable by others: nobody else wrote in it
    return folder


def private_cache(*parts: str) -> Path | None:
    """private_folder("cache", *parts), or None with a warning when it cannot be had (open to
    others, another user's, not writable): a cache is only speed, so the caller works
    without one rather than read a file someone else could have put there."""
    from kortix_guard._out import echo
    from kortix_guard.errors import InputError

    try:
        return private_folder("cache", *parts)
    except InputError as e:
        if e.message not in _WARNED:  # the manifest's cache and the rules' share the folder
            _WARNED.add(e.message)
            echo(f"kortix-guard: warning: {e.message}; scanning without the cache ({e.hint})",
                 err=True)
    except OSError:
        pass
    return None


_WARNED: set[str] = set()


def cache_key(what: str, size: int = 16) -> str:
    """A cache file's name for what it was built from (a release's patterns, markers): the
    same input, the same name. BLAKE2b from hashlib's own module: `import hashlib` loads
    OpenSSL, a tenth of a commit hook's start-up, for two names read on every commit."""
    try:
        from _blake2 import blake2b
    except ImportError:  # an interpreter without CPython's module
        from hashlib import blake2b
    return blake2b(what.encode(), digest_size=size).hexdigest()

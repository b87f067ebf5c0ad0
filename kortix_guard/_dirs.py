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

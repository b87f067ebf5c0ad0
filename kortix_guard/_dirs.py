"""The only importer of platformdirs: the per-user folders kortix-guard keeps things in."""
from __future__ import annotations

from pathlib import Path


def config_dir() -> Path:
    """Per-user configuration: keys and identities (never in a repository)."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("kortix-guard"))


def cache_dir() -> Path:
    """Per-user cache: the compiled scanner rules (they hold no secret)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("kortix-guard"))

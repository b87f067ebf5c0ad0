from __future__ import annotations

from pathlib import Path

STORE = ".kortix/secrets.enc.toml"


def store_id(root: Path) -> str:
    import tomllib

    return tomllib.loads((root / STORE).read_text())["store_id"]


def forget_user_keys(config: Path) -> None:
    """Remove every per-user key, as on a machine that never had the key."""
    for key_file in (config / "kortix-guard" / "keys").iterdir():
        key_file.unlink()

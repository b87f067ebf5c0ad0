from __future__ import annotations

from pathlib import Path

STORE = ".kortix/secrets.enc.toml"


def store_id(root: Path) -> str:
    from tests.conftest import tomllib

    return tomllib.loads((root / STORE).read_text())["store_id"]


def forget_user_keys(config: Path) -> None:
    """Remove every per-user key and the personal identity, as on a machine that never had
    the key."""
    keys = config / "kortix-guard" / "keys"
    for key_file in keys.iterdir() if keys.is_dir() else ():
        key_file.unlink()
    (config / "kortix-guard" / "identity.txt").unlink(missing_ok=True)

"""The encrypted store, as a library with one front door: other rooms import what they need
from `kortix_guard.store` only (tests/test_house.py holds them to it), and the command line
calls the commands in `kortix_guard.store.commands`.

Open and verify (`open_store`), then judge (`judge`: refused? stale? carried? as a record the
caller reads), then record what this clone accepted (`remember`); `open_trusted` does the
three for a command, `transaction` changes a store under its lock, `against_base` is CI's
comparison with the base branch. The names are loaded on first use, so that a commit hook
that only needs the store's public shapes does not load its cryptography.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kortix_guard.store.base import BASE_MISSING, BaseStorePath, Comparison, against_base
    from kortix_guard.store.commands.key import create_store
    from kortix_guard.store.core import (
        Allow,
        Draft,
        OpenedStore,
        Verdict,
        create,
        judge,
        missing_store_hint,
        open_store,
        open_trusted,
        read_names,
        read_public,
        rekey,
        remember,
        tracked,
        transaction,
    )
    from kortix_guard.store.crypto import Key, is_key_text
    from kortix_guard.store.fileformat import (
        CURRENT,
        MARKS,
        MAX_VALUE_BYTES,
        MERGE_FAILED,
        EntryMeta,
        StoreFile,
        conflicted,
        parse,
        parse_time,
    )
    from kortix_guard.store.keys import ENV_KEY, IDENTITY_VARIABLES, Keyring
    from kortix_guard.store.shapes import (
        HEX_FIELDS,
        PUBLIC_HEX_FIELDS,
        SEALED,
        SEALED_PREFIX,
        STORE_MARK,
    )

_HOMES = {
    "base": ("BASE_MISSING", "BaseStorePath", "Comparison", "against_base"),
    "commands.key": ("create_store",),
    "core": ("Allow", "Draft", "OpenedStore", "Verdict", "create", "judge",
             "missing_store_hint", "open_store", "open_trusted", "read_names", "read_public",
             "rekey", "remember", "tracked", "transaction"),
    "crypto": ("Key", "is_key_text"),
    "fileformat": ("CURRENT", "MARKS", "MAX_VALUE_BYTES", "MERGE_FAILED", "EntryMeta",
                   "StoreFile", "conflicted", "parse", "parse_time"),
    "keys": ("IDENTITY_VARIABLES", "ENV_KEY", "Keyring"),
    "shapes": ("HEX_FIELDS", "PUBLIC_HEX_FIELDS", "SEALED", "SEALED_PREFIX", "STORE_MARK"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}
__all__ = [
    "BASE_MISSING", "CURRENT", "ENV_KEY", "HEX_FIELDS", "IDENTITY_VARIABLES", "MARKS",
    "MAX_VALUE_BYTES", "MERGE_FAILED", "PUBLIC_HEX_FIELDS", "SEALED", "SEALED_PREFIX",
    "STORE_MARK", "Allow", "BaseStorePath", "Comparison", "Draft", "EntryMeta", "Key", "Keyring",
    "OpenedStore", "StoreFile", "Verdict", "against_base", "conflicted", "create",
    "create_store", "is_key_text", "judge", "missing_store_hint", "open_store", "open_trusted",
    "parse", "parse_time", "read_names", "read_public", "rekey", "remember", "tracked",
    "transaction",
]


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value

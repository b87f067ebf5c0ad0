"""The commands of version 1 stores (store/v1.py): `key export`, `key import`, a version 1
`key rotate`, and a new version 1 store where no age library is at hand."""
from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from kortix_guard import errors
from kortix_guard._fs import read_stdin
from kortix_guard._out import echo
from kortix_guard.project import Project
from kortix_guard.store import fileformat, trust
from kortix_guard.store.core import create, judge, open_store, open_trusted, rekey, remember
from kortix_guard.store.crypto import Key
from kortix_guard.store.fileformat import StoreFile
from kortix_guard.store.keys import ENV_KEY, ENV_KEY_FILE
from kortix_guard.store.v1 import NEXT_SUFFIX, retire, save_user_key, user_key_path

CI_HINT = ("put it into CI as the secret KORTIX_GUARD_KEY, e.g. "
           "`kortix-guard key export | gh secret set KORTIX_GUARD_KEY`")


def create_with_new_key(project: Project) -> tuple[StoreFile, str, Path]:
    """A new key, saved as the per-user key, and the empty version 1 store sealed for it.

    Returns the store, the key id and where the key was saved (never the key itself)."""
    key = Key.generate()
    sf = create(project, key)
    return sf, key.id, save_user_key(key, sf.store_id)


def refuse_recipients_store(sf: StoreFile, display: str, command: str, instead: str) -> None:
    """`key export|import` handle a version 1 store's one shared key, nothing else."""
    if sf.has_recipients:
        raise errors.StoreError(f"`{command}` applies to version 1 stores; {display} is version "
                                f"2, opened by its recipients' own identities",
                                hint=f"instead, give each person or job {instead}")


def export_key(project: Project) -> int:
    store = project.store_path()
    display = project.display(store)
    if store.exists():
        refuse_recipients_store(fileformat.read(store, display), display, "key export",
                                "an identity of its own for CI: "
                                "`kortix-guard recipients add ci --generate`")
    opened, _ = open_trusted(project, nothing="nothing was printed")
    echo("warning: this prints the store's key; anyone holding it reads every value. "
         f"{CI_HINT}", err=True)
    echo(opened.key.text())  # the one place a key is printed: the user asked for it
    return errors.CLEAN


def import_key(project: Project, stdin: BinaryIO) -> int:
    store = project.store_path()
    display = project.display(store)
    sf = fileformat.read(store, display)
    refuse_recipients_store(sf, display, "key import", "ask a recipient to add you: "
                            "`kortix-guard recipients add NAME <your recipient>` (yours: "
                            "`kortix-guard identity show`)")
    key = Key.from_text(read_stdin(stdin), source="stdin")
    if key.id != sf.key_id:
        raise errors.BadKey(f"wrong key: key id {key.id} does not open {display}, which needs "
                            f"key id {sf.key_id}", hint="ask for the current key (`key export`)")
    if trust.is_retired(sf.store_id, key.id):
        raise errors.StoreError(f"{display}: " + trust.RETIRED.format(kid=key.id),
                                hint=trust.RETIRED_HINT.format(store=display))
    # Saved under its own store id and key id: an import never replaces, retires or deletes
    # a key of another key id, so a wrong or malicious store cannot cost a working key.
    saved = save_user_key(key, sf.store_id, NEXT_SUFFIX)
    try:
        opened = open_store(store, display, key_file=saved)  # the MAC must verify with it too
        verdict = judge(opened, project)
        verdict.require(nothing="the key was not imported")
    except errors.Error:
        saved.unlink()
        raise
    remember(opened, verdict, project)  # this project's store, as version 1, on this machine
    final = user_key_path(sf.store_id, key.id)
    saved.replace(final)
    echo(f"imported the key for {display} into {final}")
    if os.environ.get(ENV_KEY) or os.environ.get(ENV_KEY_FILE):
        echo(f"note: {ENV_KEY} or {ENV_KEY_FILE} is set in this shell and is used instead of "
             f"the per-user key; unset it to use the imported key", err=True)
    return errors.CLEAN


def rotate(project: Project, old: StoreFile) -> int:
    """`key rotate` of a version 1 store: the next key is on disk before the store changes
    (a crash before the new store is durably written leaves the old key, after it the `.next`
    one), and the old key is retired on this machine (recorded, then deleted): a revert of
    this rotation, or a stale branch, is refused instead of opening with it."""
    display = project.display(project.store_path())
    new = Key.generate()
    pending = save_user_key(new, old.store_id, NEXT_SUFFIX)
    try:
        _, sf = rekey(project, new)
    except BaseException:
        pending.unlink(missing_ok=True)
        raise
    pending.replace(user_key_path(old.store_id, new.id))
    retire(old.store_id, old.key_id)
    echo(f"re-sealed {len(sf.entries)} value(s) in {display} under key id {new.id}; "
         f"key id {old.key_id} is retired on this machine")
    echo(f"next: commit {display}; update CI: {CI_HINT}; teammates need the new key "
         f"(`kortix-guard key import`)", err=True)
    return errors.CLEAN

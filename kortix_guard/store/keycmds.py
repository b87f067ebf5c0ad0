"""`key new|export|import|rotate`: the key's life cycle."""
from __future__ import annotations

import os
from typing import BinaryIO

from kortix_guard import errors
from kortix_guard._out import echo
from kortix_guard.project import Project

CI_HINT = ("put it into CI as the secret KORTIX_GUARD_KEY, e.g. "
           "`kortix-guard key export | gh secret set KORTIX_GUARD_KEY`")


def new_key(project: Project) -> int:
    store = project.store_path()
    display = project.display(store)
    for line in create_store(project, store, display):
        echo(line, err=line.startswith("next:"))
    return errors.CLEAN


def create_store(project: Project, store, display: str) -> list[str]:
    """A new store: wrapped to you (version 2) when you have a personal identity, else with a
    new symmetric key saved as your per-user key. Returns what to tell the user."""
    from kortix_guard.store import create, create_with_new_key
    from kortix_guard.store.crypto import Key
    from kortix_guard.store.recipientcmds import own_name, own_recipient

    try:
        mine = own_recipient()
    except errors.StoreError:  # no pyrage on this platform: a symmetric store
        mine = None
    if mine is not None:
        name = own_name(project)
        sf = create(store, Key.generate(), display, recipients={name: mine})
        return [(f"created {display} (store id {sf.store_id}, version 2), wrapped to your "
                 f"identity as recipient {name}"),
                (f"next: commit {display}; for CI, `kortix-guard recipients add ci --generate`; "
                 f"teammates send you their recipient (`kortix-guard identity show`) and you "
                 f"run `kortix-guard recipients add NAME RECIPIENT`")]
    sf, key_id, saved = create_with_new_key(store, display)  # refuses when a store exists
    return [(f"created {display} (store id {sf.store_id}, key id {key_id}); saved the key to "
             f"{saved} (mode 0600), never into git"),
            f"next: commit {display}; {CI_HINT}; teammates run `kortix-guard key import`"]


def export_key(project: Project) -> int:
    from kortix_guard.store import file as store_file
    from kortix_guard.store import open_store

    store = project.store_path()
    display = project.display(store)
    if store.exists():
        _refuse_recipients_store(store_file.read(store, display), display, "key export",
                                 "an identity of its own for CI: "
                                 "`kortix-guard recipients add ci --generate`")
    opened = open_store(store, display, key_file=project.key_file)
    echo("warning: this prints the store's key; anyone holding it reads every value. "
               f"{CI_HINT}", err=True)
    echo(opened.key.text())  # the one place a key is printed: the user asked for it
    return errors.CLEAN


def import_key(project: Project, stdin: BinaryIO) -> int:
    from kortix_guard.store import file as store_file
    from kortix_guard.store import keys, open_store
    from kortix_guard.store.crypto import Key

    store = project.store_path()
    display = project.display(store)
    from kortix_guard.store.commands import read_stdin

    sf = store_file.read(store, display)
    _refuse_recipients_store(sf, display, "key import", "ask a recipient to add you: "
                             "`kortix-guard recipients add NAME <your recipient>` (yours: "
                             "`kortix-guard identity show`)")
    key = Key.from_text(read_stdin(stdin), source="stdin")
    if key.id != sf.key_id:
        raise errors.BadKey(f"wrong key: key id {key.id} does not open {display}, which needs "
                            f"key id {sf.key_id}", hint="ask for the current key (`key export`)")
    if keys.is_retired(sf.store_id, key.id):
        raise errors.StoreError(f"{display}: " + keys.STALE.format(kid=key.id),
                                hint=keys.STALE_HINT.format(store=display))
    # Saved under its own store id and key id: an import never replaces, retires or deletes
    # a key of another key id, so a wrong or malicious store cannot cost a working key.
    saved = keys.save_user_key(key, sf.store_id, keys.NEXT_SUFFIX)
    try:
        open_store(store, display, key_file=saved)  # the MAC must verify with it too
    except errors.Error:
        saved.unlink()
        raise
    final = keys.user_key_path(sf.store_id, key.id)
    saved.replace(final)
    echo(f"imported the key for {display} into {final}")
    if os.environ.get(keys.ENV_KEY) or os.environ.get(keys.ENV_KEY_FILE):
        echo(f"note: {keys.ENV_KEY} or {keys.ENV_KEY_FILE} is set in this shell and is "
                   f"used instead of the per-user key; unset it to use the imported key",
                   err=True)
    return errors.CLEAN


def _refuse_recipients_store(sf, display: str, command: str, instead: str) -> None:
    """`key export|import` handle a version 1 store's one shared key, nothing else."""
    if sf.has_recipients:
        raise errors.StoreError(f"`{command}` applies to version 1 stores; {display} is version "
                                f"2, opened by its recipients' own identities",
                                hint=f"instead, give each person or job {instead}")


def rotate_key(project: Project) -> int:
    from kortix_guard.store import file as store_file
    from kortix_guard.store import keys, rekey
    from kortix_guard.store.crypto import Key

    store = project.store_path()
    display = project.display(store)
    old = store_file.read(store, display)
    new = Key.generate()
    if old.has_recipients:  # nobody imports anything: the new key is wrapped to everyone
        _, sf = rekey(store, new, display, key_file=project.key_file)
        echo(f"re-sealed {len(sf.entries)} value(s) in {display} under a new key "
                   f"(generation {sf.generation}, key id {new.id}), wrapped to "
                   f"{len(sf.recipients)} recipient(s)")
        echo(f"next: commit {display} and push", err=True)
        return errors.CLEAN
    # The next key is on disk before the store changes: a crash before the new store is
    # durably written leaves the old key, after it the `.next` one (find_key tries both).
    pending = keys.save_user_key(new, old.store_id, keys.NEXT_SUFFIX)
    try:
        _, sf = rekey(store, new, display, key_file=project.key_file)
    except BaseException:
        pending.unlink(missing_ok=True)
        raise
    pending.replace(keys.user_key_path(old.store_id, new.id))
    # The old key is retired on this machine (recorded, then deleted): a revert of this
    # rotation, or a stale branch, is refused instead of opening with it.
    keys.retire(old.store_id, old.key_id)
    echo(f"re-sealed {len(sf.entries)} value(s) in {display} under key id {new.id}; "
               f"key id {old.key_id} is retired on this machine")
    echo(f"next: commit {display}; update CI: {CI_HINT}; teammates need the new key "
               f"(`kortix-guard key import`)", err=True)
    return errors.CLEAN

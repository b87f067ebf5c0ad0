"""`key new|export|import|rotate`: the key's life cycle."""
from __future__ import annotations

from typing import BinaryIO

import click

from kortix_guard import errors
from kortix_guard.project import Project

CI_HINT = ("put it into CI as the secret KORTIX_GUARD_KEY, e.g. "
           "`kortix-guard key export | gh secret set KORTIX_GUARD_KEY`")


def new_key(project: Project) -> int:
    from kortix_guard.store import create_with_new_key

    store = project.store_path()
    display = project.display(store)
    sf, key_id, saved = create_with_new_key(store, display)  # refuses when a store exists
    click.echo(f"created {display} (store id {sf.store_id}, key id {key_id})")
    click.echo(f"saved the key to {saved} (mode 0600); it never goes into git", err=True)
    click.echo(f"next: commit {display}; {CI_HINT}; teammates run `kortix-guard key import`",
               err=True)
    return errors.CLEAN


def export_key(project: Project) -> int:
    from kortix_guard.store import open_store

    store = project.store_path()
    opened = open_store(store, project.display(store), key_file=project.key_file)
    click.echo("warning: this prints the store's key; anyone holding it reads every value. "
               f"{CI_HINT}", err=True)
    click.echo(opened.key.text())  # the one place a key is printed: the user asked for it
    return errors.CLEAN


def import_key(project: Project, stdin: BinaryIO) -> int:
    from kortix_guard.store import file as store_file
    from kortix_guard.store import keys, open_store
    from kortix_guard.store.crypto import Key

    store = project.store_path()
    display = project.display(store)
    from kortix_guard.store.commands import read_stdin

    key = Key.from_text(read_stdin(stdin), source="stdin")
    sf = store_file.read(store, display)
    if key.id != sf.key_id:
        raise errors.BadKey(f"wrong key: key id {key.id} does not open {display}, which needs "
                            f"key id {sf.key_id}", hint="ask for the current key (`key export`)")
    saved = keys.save_user_key(key, sf.store_id, ".key.next")
    try:
        open_store(store, display, key_file=saved)  # the MAC must verify with it too
    except errors.Error:
        saved.unlink()
        raise
    saved.replace(keys.user_key_path(sf.store_id))
    click.echo(f"imported the key for {display} into {keys.user_key_path(sf.store_id)}")
    return errors.CLEAN


def rotate_key(project: Project) -> int:
    from kortix_guard.store import file as store_file
    from kortix_guard.store import keys, rekey
    from kortix_guard.store.crypto import Key

    store = project.store_path()
    display = project.display(store)
    store_id = store_file.read(store, display).store_id
    new = Key.generate()
    # The next key is on disk before the store changes, the old one kept after: a crash at
    # any point leaves a per-user key that opens the store (keys.find_key tries all three).
    keys.save_user_key(new, store_id, ".key.next")
    sf = rekey(store, new, display, key_file=project.key_file)
    current = keys.user_key_path(store_id)
    if current.exists():
        current.replace(keys.user_key_path(store_id, ".key.old"))
    keys.user_key_path(store_id, ".key.next").replace(current)
    click.echo(f"re-sealed {len(sf.entries)} value(s) in {display} under key id {new.id}")
    click.echo(f"next: commit {display}; update CI: {CI_HINT}; teammates need the new key "
               f"(`kortix-guard key import`)", err=True)
    return errors.CLEAN

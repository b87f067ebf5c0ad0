"""`key new|rotate` (and, for version 1 stores, `key export|import`: store/commands/v1.py)."""
from __future__ import annotations

from kortix_guard import errors
from kortix_guard._out import echo
from kortix_guard.project import Project
from kortix_guard.store import fileformat, recipients
from kortix_guard.store.commands import v1 as v1cmds
from kortix_guard.store.commands.recipients import own_name, own_recipient
from kortix_guard.store.core import create, rekey
from kortix_guard.store.crypto import Key


def new_key(project: Project) -> int:
    for line in create_store(project):
        echo(line, err=line.startswith(("next:", "note:")))
    return errors.CLEAN


def create_store(project: Project) -> list[str]:
    """A new store wrapped to you, creating your identity first when you have none. Where
    pyrage has no wheel (musl Linux, Windows on ARM), a version 1 store with a new key saved
    as your per-user key. Returns what to tell the user."""

    display = project.display(project.store_path())
    said = []
    try:
        mine = own_recipient()
        if mine is None:
            path, public = recipients.create_personal_identity()
            said.append(f"note: created your identity in {path} (mode 0600); its recipient, "
                        f"to share: {public}")
            mine = recipients.parse_recipient(public)
    except errors.StoreError:  # no pyrage on this platform: a version 1 store
        sf, key_id, saved = v1cmds.create_with_new_key(project)  # refuses an existing one
        return [(f"created {display} (store id {sf.store_id}, key id {key_id}, version 1: this "
                 f"platform has no age library); saved the key to {saved} (mode 0600), never "
                 f"into git"),
                f"next: commit {display}; {v1cmds.CI_HINT}; teammates run `kortix-guard key import`"]
    name = own_name(project)
    sf = create(project, Key.generate(), recipients={name: mine})
    return [(f"created {display} (store id {sf.store_id}, version {sf.version}), wrapped to "
             f"your identity as recipient {name}"), *said,
            (f"next: commit {display}; for CI, `kortix-guard recipients add ci --generate`; "
             f"teammates send you their recipient (`kortix-guard identity show`) and you run "
             f"`kortix-guard recipients add NAME RECIPIENT`")]


def rotate_key(project: Project) -> int:

    store = project.store_path()
    display = project.display(store)
    old = fileformat.read(store, display)
    if not old.has_recipients:
        return v1cmds.rotate(project, old)
    new = Key.generate()  # nobody imports anything: the new key is wrapped to everyone
    _, sf = rekey(project, new)
    echo(f"re-sealed {len(sf.entries)} value(s) in {display} under a new key "
         f"(generation {sf.generation}, key id {new.id}), wrapped to "
         f"{len(sf.recipients)} recipient(s)")
    echo(f"next: commit {display} and push", err=True)
    return errors.CLEAN

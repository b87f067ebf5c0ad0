"""`recipients add|ls|rm`, `store upgrade|trust`: who can open a store with recipients."""
from __future__ import annotations

import getpass
import json
import os
from collections.abc import Callable

from kortix_guard import errors
from kortix_guard._out import echo
from kortix_guard.git import GitError, Repo
from kortix_guard.project import Project
from kortix_guard.store import (
    fileformat,
    missing_store_hint,
    open_store,
    recipients,
    rekey,
    transaction,
    v1,
)
from kortix_guard.store import trust as trust_
from kortix_guard.store.chain import Mark
from kortix_guard.store.crypto import Key
from kortix_guard.store.fileformat import SIGNED_SINCE
from kortix_guard.store.recipients import Recipient
from kortix_guard.store.shapes import RECIPIENT_NAME

UPGRADED = ("upgraded {store} to version 3 (recipients): teammates need kortix-guard {version} or "
            "later, and the old `kgk1_` key no longer opens it (CI too: `kortix-guard recipients "
            "add ci --generate`, then put the identity into KORTIX_GUARD_KEY)")


def own_name(project: Project) -> str:
    """How the person running this is named among recipients: git's user.email, else $USER."""
    try:
        email = Repo(project.cwd).config("user.email")
    except GitError:
        email = None
    for candidate in (email, os.environ.get("USER"), _login()):
        if candidate and RECIPIENT_NAME.fullmatch(candidate):
            return candidate
    return "me"


def _login() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def own_recipient():
    """Your personal identity's recipient, or None when you have no identity."""
    if not recipients.personal_identity_path().exists():
        return None
    return recipients.personal_recipient()


def add(project: Project, name: str, recipient_text: str | None, *, generate: bool,
        stdin_text: str | None = None) -> int:

    recipients.check_name(name)
    store, display = _store(project)
    identity = None
    if generate:
        identity, public = recipients.generate()
        found = [recipients.parse_recipient(public)]
    else:
        parsed = recipients.parse_recipients(recipient_text or "", cwd=project.cwd,
                                             stdin_text=stdin_text)
        found = parsed.recipients
        for note in parsed.notes:
            echo(f"note: {note}", err=True)
    # One name per key: a keys file with several gets NAME, NAME-2, NAME-3, ...
    chosen = {name if i == 0 else f"{name}-{i + 1}": r for i, r in enumerate(found)}
    for each in chosen:
        recipients.check_name(each)
    sf = fileformat.read(store, display)
    if not sf.has_recipients:
        _upgrade(project, store, display, extra=chosen)
    else:
        with transaction(store, display, key_file=project.key_file) as draft:
            for each, recipient in chosen.items():
                _refuse_duplicate({n: line.recipient for n, line in draft.recipients.items()},
                                  each, recipient)
                draft.add_recipient(each, recipient)
    for each, recipient in chosen.items():
        echo(f"✓ {each}: {recipient.kind} {recipient.fingerprint} can open {display}")
    echo(f"next: commit {display}", err=True)
    if identity is not None:
        echo(f"warning: the identity below opens {display}, and this is the only time it is "
                   f"shown: nothing of it is stored. Put it into CI as the secret "
                   f"KORTIX_GUARD_KEY (e.g. `gh secret set KORTIX_GUARD_KEY`), then clear your "
                   f"terminal", err=True)
        echo(identity)  # the user asked for it, once
    return errors.CLEAN


def _refuse_duplicate(existing: dict[str, str], name: str, recipient) -> None:
    """existing: name → recipient text."""
    if name in existing:
        raise errors.InputError(f"a recipient named {name} exists already",
                                hint="pick another name, or `kortix-guard recipients rm "
                                     f"{name}` first")
    for other, text in existing.items():
        if text == recipient.text:
            raise errors.InputError(f"that key is a recipient already, named {other}",
                                    hint="`kortix-guard recipients ls` lists them")


def _upgrade(project: Project, store, display: str, *, extra: dict | None = None) -> None:
    """Version 1 → 2: a new data key, wrapped to you (and extra), chained from the old key."""
    mine = own_recipient()
    if mine is None:
        raise errors.StoreError(f"{display} is a version 1 store; converting it wraps its key to "
                                f"recipients, starting with you, and you have no identity yet",
                                hint="create one with `kortix-guard identity new`, then rerun")
    chosen = dict(extra or {})
    if all(recipient.text != mine.text for recipient in chosen.values()):
        me = own_name(project)
        _refuse_duplicate({n: r.text for n, r in chosen.items()}, me, mine)
        chosen[me] = mine
    old, _ = rekey(store, Key.generate(), display, key_file=project.key_file, recipients=chosen)
    v1.retire(old.store_id, old.key_id, "`kortix-guard store upgrade`")
    echo(UPGRADED.format(store=display, version=SIGNED_SINCE), err=True)


def ls(project: Project, *, as_json: bool = False) -> int:
    """Needs no key: recipients are public."""
    store, display = _store(project)
    sf = fileformat.read(store, display)
    rows = [{"name": n, "type": line.kind, "recipient": line.recipient,
             "fingerprint": line.fingerprint, "added": line.added}
            for n, line in sf.recipients.items()]
    if as_json:
        echo(json.dumps(rows, indent=2))
    elif rows:
        width = max(len("NAME"), *(len(r["name"]) for r in rows))
        echo(f"{'NAME':<{width}}  {'TYPE':<11}  {'FINGERPRINT':<50}  ADDED")
        for r in rows:
            echo(f"{r['name']:<{width}}  {r['type']:<11}  {r['fingerprint']:<50}  "
                       f"{r['added']}")
    if not sf.has_recipients:
        echo(f"note: {display} is a version 1 store, opened by one shared `kgk1_` key; "
                   f"`kortix-guard recipients add NAME RECIPIENT` (or `kortix-guard store "
                   f"upgrade`) converts it", err=True)
    else:
        echo(f"{len(rows)} recipient(s) · generation {sf.generation} · key id {sf.key_id}",
                   err=True)
    return errors.CLEAN


def rm(project: Project, name: str, *, force: bool = False) -> int:

    store, display = _store(project)
    sf = fileformat.read(store, display)
    if not sf.has_recipients:
        raise errors.StoreError(f"{display} is a version 1 store: it has no recipients",
                                hint="to lock someone out of it, `kortix-guard key rotate`")
    if name not in sf.recipients:
        raise errors.InputError(f"{display} has no recipient named {name}",
                                hint="`kortix-guard recipients ls` lists them")

    def remaining(opened) -> dict:
        """Everyone but NAME, decided under the store's lock, with the store opened once."""
        others = {n: Recipient.stored(line.recipient)
                  for n, line in opened.file.recipients.items() if n != name}
        if not force and not others:
            raise errors.InputError(f"{name} is the last recipient: nobody could open {display}",
                                    hint="add the next one first (`kortix-guard recipients "
                                         "add`), or pass --force")
        if not force and opened.found.recipient == name:
            raise errors.InputError(f"{name} is the recipient you opened {display} with "
                                    f"({opened.found.source}): you would lock yourself out",
                                    hint="pass --force if that is what you want")
        return others

    _, after = rekey(store, Key.generate(), display, key_file=project.key_file,
                     recipients=remaining, mark_rotate=True)
    echo(f"✓ removed {name}; {display} re-keyed to generation {after.generation} "
               f"(key id {after.key_id}), wrapped to {len(after.recipients)} recipient(s)")
    if after.entries:
        echo(f"warning: {name} could read {len(after.entries)} value(s), now marked to "
                   f"rotate: {', '.join(after.entries)}. Change each at its provider, then "
                   f"`kortix-guard secrets set NAME=-`", err=True)
    echo(f"next: commit {display}; `git push` so that teammates and CI get it", err=True)
    return errors.CLEAN


def upgrade(project: Project) -> int:
    """Version 1 → 3 (recipients, wrapped to you); version 2 → 3 (signed), which any write
    does too."""
    store, display = _store(project)
    sf = fileformat.read(store, display)
    if sf.version >= fileformat.CURRENT:
        echo(f"{display} is version {sf.version} already; nothing to do", err=True)
        return errors.CLEAN
    if sf.has_recipients:
        with transaction(store, display, key_file=project.key_file) as draft:
            draft.changed = True
    else:
        _upgrade(project, store, display)
    echo(f"✓ {display}: version {fileformat.CURRENT}")
    echo(f"next: commit {display}; teammates need kortix-guard {SIGNED_SINCE} or later"
         + ("" if sf.has_recipients else "; add them with `kortix-guard recipients add NAME "
                                         "RECIPIENT`"), err=True)
    return errors.CLEAN


def trust(project: Project, *, yes: bool = False,
          confirm: Callable[[str], bool] | None = None) -> int:
    """Make this store the one this machine expects for the project: after a reviewed re-key
    that does not chain, or a store the team re-created or moved. Shows what this machine
    trusted until now and what it would trust instead, then asks (or takes --yes)."""
    store, display = _store(project)
    opened = open_store(store, display, key_file=project.key_file, remember=False)
    sf = opened.file
    place = trust_.Place.of(store)
    known = trust_.trusted_ids(place)
    mark = trust_.load_mark(sf.store_id) if sf.has_recipients else None
    echo("this machine trusts, for this project:")
    if not known:
        echo("  nothing yet")
    for store_id, info in sorted(known.items()):
        old_mark = trust_.load_mark(store_id)
        where = f"generation {old_mark.generation}, key id {old_mark.key_id}" if old_mark else "version 1"
        echo(f"  store id {store_id} at {info.get('path', '?')} ({where})")
        for name, fingerprint in _recipients_in_history(place, info.get("path"), store_id):
            echo(f"    recipient {name}: {fingerprint}")
    if mark is not None and sf.store_id in known:
        echo(f"  (this store id at generation {mark.generation}, key id {mark.key_id})")
    echo(f"it would trust instead: store id {sf.store_id} at {display} (version {sf.version}"
         + (f", generation {sf.generation}, key id {sf.key_id})" if sf.has_recipients else ")"))
    for name, line in sf.recipients.items():
        echo(f"    recipient {name}: {line.fingerprint}")
    if not yes and (confirm is None or not confirm("Trust this store from now on?")):
        raise errors.InputError("not trusted; nothing changed",
                                hint="compare the two with your team, then rerun (with --yes "
                                     "where there is no terminal)")
    trust_.trust_store(place, sf, display, replace=True)
    if sf.has_recipients:
        trust_.save_mark(sf.store_id, Mark.of(sf, opened.key))
    echo(f"✓ this machine now expects {display} (store id {sf.store_id}"
         + (f", generation {sf.generation}" if sf.has_recipients else "") + ")")
    return errors.CLEAN


def _recipients_in_history(place, path: str | None, store_id: str) -> list[tuple[str, str]]:
    """The recipients of the newest version of store_id that git holds at path."""
    if place.repo is None or not path:
        return []
    for data in place.repo.file_versions(path):
        try:
            old = fileformat.parse(data.decode("utf-8"), path, canonical=False)
        except (errors.Error, UnicodeDecodeError):
            continue
        if old.store_id == store_id:
            return [(n, line.fingerprint) for n, line in old.recipients.items()]
    return []


def _store(project: Project):
    store = project.store_path()
    display = project.display(store)
    if not store.exists():

        raise errors.StoreError(f"{display}: no store here",
                                hint=missing_store_hint(store, display))
    return store, display

"""`recipients add|ls|rm` and `identity`: who can open a store with recipients."""
from __future__ import annotations

import getpass
import json
import os
import re
from pathlib import Path

from kortix_guard import errors
from kortix_guard._out import echo
from kortix_guard.git import GitError, Repo
from kortix_guard.project import Project
from kortix_guard.store import fileformat, recipients, v1
from kortix_guard.store.core import missing_store_hint, rekey, transaction
from kortix_guard.store.crypto import Key
from kortix_guard.store.fileformat import REVISION_SINCE
from kortix_guard.store.recipients import Recipient
from kortix_guard.store.shapes import RECIPIENT_NAME

UPGRADED = ("upgraded {store} to version {format} (recipients): teammates need kortix-guard "
            "{version} or later, and the old `kgk1_` key no longer opens it (CI too: "
            "`kortix-guard recipients add ci --generate`, then put the identity into "
            "KORTIX_GUARD_KEY)")


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
    store, display = store_of(project)
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
    # One name per key: a keys file with several gets NAME, NAME-2, NAME-3, ... (one person,
    # which version 4 records, so that `recipients rm NAME` removes every one of them).
    chosen = {name if i == 0 else f"{name}-{i + 1}": r for i, r in enumerate(found)}
    for each in chosen:
        recipients.check_name(each)
    sf = fileformat.read(store, display)
    if not sf.has_recipients:
        upgrade_v1(project, extra=chosen, persons={each: name for each in chosen})
    else:
        with transaction(project) as draft:
            for each, recipient in chosen.items():
                _refuse_duplicate({n: line.recipient for n, line in draft.recipients.items()},
                                  each, recipient)
                draft.add_recipient(each, recipient, person=name)
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


def _refuse_duplicate(existing: dict[str, str], name: str, recipient: Recipient) -> None:
    """existing: name → recipient text."""
    if name in existing:
        raise errors.InputError(f"a recipient named {name} exists already",
                                hint="pick another name, or `kortix-guard recipients rm "
                                     f"{name}` first")
    for other, text in existing.items():
        if text == recipient.text:
            raise errors.InputError(f"that key is a recipient already, named {other}",
                                    hint="`kortix-guard recipients ls` lists them")


def upgrade_v1(project: Project, *, extra: dict[str, Recipient] | None = None,
               persons: dict[str, str] | None = None) -> None:
    """Version 1 → the current version: a new data key, wrapped to you (and extra), chained
    from the old key; the old key is retired on this machine."""
    display = project.display(project.store_path())
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
    old, after = rekey(project, Key.generate(), recipients=chosen, persons=persons)
    v1.retire(old.store_id, old.key_id, "`kortix-guard store upgrade`")
    echo(UPGRADED.format(store=display, format=after.version, version=REVISION_SINCE), err=True)


def ls(project: Project, *, as_json: bool = False) -> int:
    """Needs no key: recipients are public."""
    store, display = store_of(project)
    sf = fileformat.read(store, display)
    rows = [{"name": n, "person": sf.person_of(n), "type": line.kind,
             "recipient": line.recipient, "fingerprint": line.fingerprint, "added": line.added}
            for n, line in sf.recipients.items()]
    if as_json:
        echo(json.dumps(rows, indent=2))
    elif rows:
        width = max(len("NAME"), *(len(r["name"]) for r in rows))
        people = max(len("PERSON"), *(len(r["person"]) for r in rows))
        echo(f"{'NAME':<{width}}  {'PERSON':<{people}}  {'TYPE':<11}  {'FINGERPRINT':<50}  ADDED")
        for r in rows:
            echo(f"{r['name']:<{width}}  {r['person']:<{people}}  {r['type']:<11}  "
                 f"{r['fingerprint']:<50}  {r['added']}")
    if not sf.has_recipients:
        echo(f"note: {display} is a version 1 store, opened by one shared `kgk1_` key; "
             f"`kortix-guard recipients add NAME RECIPIENT` (or `kortix-guard store "
             f"upgrade`) converts it", err=True)
    else:
        echo(f"{len(rows)} recipient(s) · generation {sf.generation} · key id {sf.key_id}",
             err=True)
    return errors.CLEAN


def keys_of(sf: fileformat.StoreFile, name: str, *, every: bool) -> list[str]:
    """The recipient lines `recipients rm NAME` removes: in version 4, every key of the
    person NAME (or the one key NAME, when NAME names a key and not a person); before, NAME
    alone, and with `every` its NAME-2, NAME-3, … too (refused without it while they exist:
    nothing records that they are one person)."""
    if sf.has_revision:
        group = [n for n in sf.recipients if sf.person_of(n) == name]
        return group or [name]
    numbered = [n for n in sf.recipients if re.fullmatch(re.escape(name) + r"-[0-9]+", n)]
    if numbered and not every:
        raise errors.InputError(
            f"{name} came with more keys, which this version {sf.version} store does not record "
            f"as the same person: {', '.join(numbered)}; removing {name} alone would leave "
            f"them able to open it",
            hint=f"`kortix-guard recipients rm {name} --all` removes {name} and "
                 f"{', '.join(numbered)}; `kortix-guard store upgrade` records persons "
                 f"from then on")
    return [name, *numbered] if every else [name]


def rm(project: Project, name: str, *, force: bool = False, every: bool = False) -> int:

    store, display = store_of(project)
    sf = fileformat.read(store, display)
    if not sf.has_recipients:
        raise errors.StoreError(f"{display} is a version 1 store: it has no recipients",
                                hint="to lock someone out of it, `kortix-guard key rotate`")
    if name not in sf.recipients and not any(sf.person_of(n) == name for n in sf.recipients):
        raise errors.InputError(f"{display} has no recipient named {name}",
                                hint="`kortix-guard recipients ls` lists them")
    removed = keys_of(sf, name, every=every)

    def remaining(opened) -> dict:
        """Everyone but the removed keys, decided under the store's lock."""
        gone = keys_of(opened.file, name, every=every)
        others = {n: Recipient.stored(line.recipient)
                  for n, line in opened.file.recipients.items() if n not in gone}
        if not force and not others:
            raise errors.InputError(f"{name} is the last recipient: nobody could open {display}",
                                    hint="add the next one first (`kortix-guard recipients "
                                         "add`), or pass --force")
        if not force and opened.found.recipient in gone:
            raise errors.InputError(f"{opened.found.recipient} is the recipient you opened "
                                    f"{display} with ({opened.found.source}): you would lock "
                                    f"yourself out", hint="pass --force if that is what you want")
        return others

    _, after = rekey(project, Key.generate(), recipients=remaining, mark_rotate=True)
    keys = f" and their other key(s) {', '.join(n for n in removed if n != name)}" \
        if len(removed) > 1 else ""
    echo(f"✓ removed {name}{keys}; {display} re-keyed to generation {after.generation} "
         f"(key id {after.key_id}), wrapped to {len(after.recipients)} recipient(s)")
    if after.entries:
        echo(f"warning: {name} could read {len(after.entries)} value(s), now marked to "
             f"rotate: {', '.join(after.entries)}. Change each at its provider, then "
             f"`kortix-guard secrets set NAME=-`", err=True)
    echo(f"next: commit {display}; `git push` so that teammates and CI get it", err=True)
    return errors.CLEAN


def store_of(project: Project) -> tuple[Path, str]:
    store = project.store_path()
    display = project.display(store)
    if not store.exists():
        raise errors.StoreError(f"{display}: no store here",
                                hint=missing_store_hint(store, display))
    return store, display


def identity_new() -> int:
    path, public = recipients.create_personal_identity()
    echo(f"created your identity in {path} (mode 0600); share only the line below", err=True)
    echo(public)
    return errors.CLEAN


def identity_show() -> int:
    echo(recipients.personal_recipient().text)
    return errors.CLEAN

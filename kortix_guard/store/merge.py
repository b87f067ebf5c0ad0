"""The git merge driver: `kortix-guard merge-store %O %A %B`.

Entries merge three-way by name. The same name changed on both sides is a conflict reported by
name (unless both sides hold the same value), never a silent pick. The result is re-sealed
with the key, after all three versions verified, so a merge cannot launder a tampered entry.
"""
from __future__ import annotations

from pathlib import Path

import click

from kortix_guard import errors
from kortix_guard.project import Project


def merge(project: Project, base: Path, ours: Path, theirs: Path) -> int:
    from kortix_guard.store import Draft, open_store
    from kortix_guard.store import file as store_file

    try:
        sides = [open_store(p, label, key_file=project.key_file)
                 for p, label in ((base, "base (%O)"), (ours, "ours (%A)"),
                                  (theirs, "theirs (%B)"))]
    except errors.Error as e:
        return _conflict(ours, theirs, f"a side does not open here ({e.message})")
    o, a, b = sides
    if len({s.file.store_id for s in sides}) > 1 or len({s.file.key_id for s in sides}) > 1:
        return _conflict(ours, theirs, "the sides use different keys (a `key rotate` on one "
                                       "branch)")
    draft = Draft(a)
    conflicts = []
    for name in sorted({*o.file.entries, *a.file.entries, *b.file.entries}):
        base_t, ours_t, theirs_t = (s.file.entries.get(name) for s in sides)
        if ours_t == theirs_t or theirs_t == base_t:
            continue  # ours already holds the result
        if ours_t == base_t:  # only theirs changed it: take theirs (a removal included)
            if theirs_t is None:
                del draft.entries[name]
            else:
                draft.entries[name] = theirs_t
            draft.changed = True
        elif ours_t is not None and theirs_t is not None and a.value(name) == b.value(name):
            continue  # both sides set the same value, sealed with different nonces
        else:
            conflicts.append(name)
    if conflicts:
        for name in conflicts:
            click.echo(f"kortix-guard merge-store: conflict: {name} changed on both sides", err=True)
        return _conflict(ours, theirs, f"{len(conflicts)} name(s) changed on both sides")
    store_file.write(ours, draft.result())
    return errors.CLEAN


def _conflict(ours: Path, theirs: Path, why: str) -> int:
    """Leave a file that every kortix-guard command refuses (conflict markers), never one
    that `git add` would turn into a silent revert of the other side."""
    from kortix_guard._fs import atomic_write

    ours_text, theirs_text = ours.read_bytes(), theirs.read_bytes()
    atomic_write(ours, b"<<<<<<< ours\n" + ours_text + b"=======\n" + theirs_text
                 + b">>>>>>> theirs\n")
    click.echo(f"kortix-guard merge-store: not merged: {why}. The store now holds conflict "
               f"markers, which kortix-guard refuses. Keep one side "
               f"(`git checkout --theirs -- <store>` to take the other branch's, "
               f"`--ours` to keep yours), `git add` it, then set again with "
               f"`kortix-guard secrets set NAME=-` every value the other side changed; across "
               f"a key rotation, import the new key first (`kortix-guard key import`)",
               err=True)
    return errors.PROBLEMS

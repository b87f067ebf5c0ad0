"""The git merge driver: `kortix-guard merge-store %O %A %B`.

Every side is opened and verified first, so a merge cannot launder a tampered entry, and
values are compared by plaintext against the merge base. The same name changed on both sides
is a conflict reported by name (unless both hold the same value), never a silent pick.

Across a re-key (version 2), the newer side is the one whose chain descends from the other's
key, not merely the higher generation. The result is the newer side's store: value changes
from the older side are re-sealed under the newer key, listed, and marked "carried" until set
again (a removed person can still write old-generation stores); recipient changes from the
older side are never carried over, they are a conflict. When the driver cannot merge it leaves
conflict markers, which every command refuses, never a file `git add` turns into a revert.
"""
from __future__ import annotations

from pathlib import Path

from kortix_guard import errors
from kortix_guard._fs import atomic_write
from kortix_guard._out import echo
from kortix_guard.project import Project
from kortix_guard.store import Draft, fileformat, history, open_store
from kortix_guard.store.chain import Mark, descends
from kortix_guard.store.fileformat import EntryMeta
from kortix_guard.store.keys import Keyring


class _Conflict(Exception):
    def __init__(self, why: str) -> None:
        self.why = why


def merge(project: Project, base: Path, ours: Path, theirs: Path) -> int:

    real = project.store_path()
    keyring = Keyring(project.key_file)  # one read of each source for all three sides
    shown = project.display(real)
    try:
        sides = []
        for path, side in ((base, "the merge base's"), (ours, "ours"), (theirs, "theirs")):
            try:
                sides.append(open_store(path, shown, keyring=keyring, history_path=real))
            except errors.Error as e:
                raise _Conflict(f"{side} does not open here: {e.diagnostics()}") from None
        base_side, ours_side, theirs_side = sides
        result, carried = _merge(base_side, ours_side, theirs_side, history(real))
    except _Conflict as c:
        return _conflict(ours, theirs, c.why, shown)
    fileformat.write(ours, result)
    if carried:
        echo(f"kortix-guard merge-store: {len(carried)} value(s) changed on the older "
                   f"generation were re-sealed under the newer key and marked carried: "
                   f"{', '.join(carried)}; check each, then `kortix-guard secrets set NAME=-`",
                   err=True)
    return errors.CLEAN


def _merge(o, a, b, versions):
    """The merged StoreFile and the names carried across a re-key."""
    if len({s.file.store_id for s in (o, a, b)}) > 1:
        raise _Conflict("the sides are different stores (different store ids)")
    same_key = a.file.key_id == b.file.key_id
    if same_key:
        newer, older = a, b
    elif not (a.file.has_recipients or b.file.has_recipients):
        raise _Conflict("the sides use different keys (a `key rotate` on one branch); take the "
                        "rotated side (`git checkout --theirs` or `--ours`) and set again the "
                        "values the other side changed")
    else:
        opener = _opener(o, a, b)
        if descends(Mark.of(a.file, a.key), b.file, versions, opener):
            newer, older = b, a
        elif descends(Mark.of(b.file, b.key), a.file, versions, opener):
            newer, older = a, b
        else:
            raise _Conflict("neither side's key chains from the other's (re-keyed on both "
                            "branches); keep one side and redo the other's change on it")
    draft = Draft(newer)
    _merge_recipients(draft, o, older, same_key)
    carried = _merge_values(draft, o, newer, older, same_key)
    return draft.result(), carried


def _opener(*sides):
    by_id = {(s.file.generation, s.file.key_id): s.key for s in sides}
    return lambda sf: by_id.get((sf.generation, sf.key_id))


def _merge_recipients(draft, o, older, same_key: bool) -> None:
    base, theirs = dict(o.file.recipients), dict(older.file.recipients)
    if not same_key:
        if {n: r.recipient for n, r in theirs.items()} != {n: r.recipient for n, r in base.items()}:
            raise _Conflict("the older side changed the recipients, which are never carried "
                            "across a re-key; take the newer side and add them again "
                            "(`kortix-guard recipients add`)")
        return
    for name in sorted({*base, *draft.recipients, *theirs}):
        mine, other, was = draft.recipients.get(name), theirs.get(name), base.get(name)
        if mine == other or other == was:
            continue
        if mine != was:
            raise _Conflict(f"the recipient {name} changed on both sides")
        if other is None:
            del draft.recipients[name]
        else:
            draft.recipients[name] = other
        draft.changed = True


def _merge_values(draft, o, newer, older, same_key: bool) -> list[str]:
    def plain(side, name):
        return side.value(name).reveal() if name in side.file.entries else None

    carried, conflicts = [], []
    for name in sorted({*o.file.entries, *newer.file.entries, *older.file.entries}):
        was, mine, other = plain(o, name), plain(newer, name), plain(older, name)
        if other == was or mine == other:
            continue
        if mine != was:
            conflicts.append((name, "changed on both sides"))
        elif other is None and not same_key:
            # A removed recipient still writes old-generation stores: a value they drop is
            # never dropped silently.
            conflicts.append((name, "removed on the older generation's side"))
        elif other is None:
            draft.remove(name)
        elif same_key:  # unchanged sealed text and metadata, byte for byte
            draft.entries[name] = older.file.entries[name]
            if name in older.file.meta:
                draft.meta[name] = older.file.meta[name]
            draft.changed = True
        else:
            # Both marks hold: a value set before a removal was readable by the removed
            # person (rotate, as the newer side marked its own), and it came from the older
            # generation (carried).
            meta = older.file.meta.get(name, EntryMeta(""))
            ours = newer.file.meta.get(name, EntryMeta(""))
            marks = meta.with_marks(add=(*ours.marks, "carried")).marks
            draft.set(name, older.value(name), set_at=meta.set_at or None, marks=marks)
            carried.append(name)
    if conflicts:
        for name, why in conflicts:
            echo(f"kortix-guard merge-store: conflict: {name} {why}", err=True)
        raise _Conflict(f"{len(conflicts)} name(s) changed on both sides, or removed across "
                        f"a re-key")
    return carried


def _conflict(ours: Path, theirs: Path, why: str, store: str) -> int:
    """Leave a file that every kortix-guard command refuses (conflict markers), never one
    that `git add` would turn into a silent revert of the other side."""

    ours_text, theirs_text = ours.read_bytes(), theirs.read_bytes()
    atomic_write(ours, b"<<<<<<< ours\n" + ours_text + b"=======\n" + theirs_text
                 + b">>>>>>> theirs\n")
    echo(f"kortix-guard merge-store: not merged: {why}. The store now holds conflict "
         f"markers, which kortix-guard refuses. Keep one side "
         f"(`git checkout --theirs -- {store}` to take the other branch's, "
         f"`--ours` to keep yours), `git add` it, then set again with "
         f"`kortix-guard secrets set NAME=-` every value the other side changed", err=True)
    return errors.PROBLEMS

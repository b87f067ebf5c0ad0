"""Merging two sides of the store by name (the merge driver's logic; the driver itself is
store/commands/merge.py).

Every side is opened and verified first, so a merge cannot launder a tampered entry, and
values are compared by plaintext against the merge base. The same name changed on both sides
is a conflict reported by name (unless both hold the same value), never a silent pick. A side
whose revision is below the merge base's is an older copy of the store brought back (a
rollback): a conflict, never merged.

Across a re-key, the newer side is the one whose chain descends from the other's key, not
merely the higher generation. The result is the newer side's store: value changes from the
older side are re-sealed under the newer key and listed. They are marked "carried" (refused by
`inject` until reviewed) only when the older generation was readable by someone the newer one
excludes, who could have written them; a rotation that removed nobody carries nothing.
Recipient changes from the older side are never carried over: they are a conflict. The result
is at the revision after both sides'.
"""
from __future__ import annotations

from collections.abc import Mapping

from kortix_guard._out import echo
from kortix_guard.store.chain import History, Mark, descends
from kortix_guard.store.core import Draft, OpenedStore
from kortix_guard.store.fileformat import EntryMeta, StoreFile


class Conflict(Exception):
    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def merge_sides(o: OpenedStore, a: OpenedStore, b: OpenedStore, versions: History,
                resolve: Mapping[str, str] | None = None) -> tuple[StoreFile, list[str]]:
    """The merged store (ours is `a`) and the names carried across a re-key; Conflict when
    the sides cannot be merged by name. resolve: a conflicting name's side ("ours" or
    "theirs"), as `secrets resolve` chose it."""
    if len({s.file.store_id for s in (o, a, b)}) > 1:
        raise Conflict("the sides are different stores (different store ids)")
    for side, label in ((a, "ours"), (b, "theirs")):
        if side.file.revision < o.file.revision:
            raise Conflict(f"{label} is revision {side.file.revision}, older than the merge "
                           f"base's revision {o.file.revision}: an older copy of the store "
                           f"brought back (it would undo values changed since)")
    same_key = a.file.key_id == b.file.key_id
    if same_key:
        newer, older = a, b
    elif not (a.file.has_recipients or b.file.has_recipients):
        raise Conflict("the sides use different keys (a `key rotate` on one branch); take the "
                       "rotated side (`git checkout --theirs` or `--ours`) and set again the "
                       "values the other side changed")
    else:
        opener = _opener(o, a, b)
        if descends(Mark.of(a.file, a.key), b.file, versions, opener):
            newer, older = b, a
        elif descends(Mark.of(b.file, b.key), a.file, versions, opener):
            newer, older = a, b
        else:
            raise Conflict("neither side's key chains from the other's (re-keyed on both "
                           "branches); keep one side and redo the other's change on it")
    draft = Draft(newer)
    _merge_recipients(draft, o, older, same_key)
    excluded = sorted({line.recipient for line in older.file.recipients.values()}
                      - {line.recipient for line in newer.file.recipients.values()})
    chosen = {name: (a if side == "ours" else b) for name, side in (resolve or {}).items()}
    carried = _merge_values(draft, o, newer, older, same_key, carry=bool(excluded),
                            chosen=chosen)
    if newer.file.has_revision:
        draft.revision = max(a.file.revision, b.file.revision) + 1
        draft.changed = True
    return draft.result(), carried


def _opener(*sides: OpenedStore):
    by_id = {(s.file.generation, s.file.key_id): s.key for s in sides}
    return lambda sf: by_id.get((sf.generation, sf.key_id))


def _merge_recipients(draft: Draft, o: OpenedStore, older: OpenedStore, same_key: bool) -> None:
    base, theirs = dict(o.file.recipients), dict(older.file.recipients)
    if not same_key:
        if {n: r.recipient for n, r in theirs.items()} != {n: r.recipient for n, r in base.items()}:
            raise Conflict("the older side changed the recipients, which are never carried "
                           "across a re-key; take the newer side and add them again "
                           "(`kortix-guard recipients add`)")
        return
    for name in sorted({*base, *draft.recipients, *theirs}):
        mine, other, was = draft.recipients.get(name), theirs.get(name), base.get(name)
        if mine == other or other == was:
            continue
        if mine != was:
            raise Conflict(f"the recipient {name} changed on both sides")
        if other is None:
            del draft.recipients[name]
        else:
            draft.recipients[name] = other
        draft.changed = True


def _merge_values(draft: Draft, o: OpenedStore, newer: OpenedStore, older: OpenedStore,
                  same_key: bool, *, carry: bool,
                  chosen: Mapping[str, OpenedStore] | None = None) -> list[str]:
    def plain(side: OpenedStore, name: str) -> str | None:
        return side.value(name).reveal() if name in side.file.entries else None

    chosen = chosen or {}
    carried, conflicts = [], []
    for name in sorted({*o.file.entries, *newer.file.entries, *older.file.entries}):
        was, mine, other = plain(o, name), plain(newer, name), plain(older, name)
        if other == was or mine == other:
            continue
        if mine != was and chosen.get(name) is newer:
            continue  # resolved: the newer side's value, already the draft's
        if mine != was and name not in chosen:
            conflicts.append((name, "changed on both sides"))
        elif other is None and not same_key and carry:
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
            # Re-sealed under the newer key. When the newer generation excludes someone who
            # could read (and write) the older one, both marks hold: the value may be theirs
            # (carried), and they could read it (rotate, as the newer side marked its own).
            meta = older.file.meta.get(name, EntryMeta(""))
            ours = newer.file.meta.get(name, EntryMeta(""))
            marks = meta.with_marks(add=(*ours.marks, "carried")).marks if carry else \
                meta.with_marks(drop=("carried",)).marks
            draft.set(name, older.value(name), set_at=meta.set_at or None, marks=marks)
            if carry:
                carried.append(name)
    if conflicts:
        for name, why in conflicts:
            echo(f"kortix-guard merge-store: conflict: {name} {why}", err=True)
        raise Conflict(f"{len(conflicts)} name(s) changed on both sides, or removed across "
                       f"a re-key")
    return carried

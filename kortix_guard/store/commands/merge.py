"""The git merge driver, `kortix-guard merge-store %O %A %B`: the merged store, or conflict
markers that every kortix-guard command refuses (never a file `git add` turns into a silent
revert of the other side). How sides merge is store/merge.py."""
from __future__ import annotations

from pathlib import Path

from kortix_guard import errors
from kortix_guard._fs import atomic_write
from kortix_guard._out import echo
from kortix_guard.project import Project
from kortix_guard.store import fileformat
from kortix_guard.store.core import history, open_store
from kortix_guard.store.keys import Keyring
from kortix_guard.store.merge import Conflict, merge_sides


def merge(project: Project, base: Path, ours: Path, theirs: Path) -> int:
    real = project.store_path()
    keyring = Keyring(project.key_file)  # one read of each source for all three sides
    shown = project.display(real)
    try:
        sides = []
        for path, side in ((base, "the merge base's"), (ours, "ours"), (theirs, "theirs")):
            try:
                sides.append(open_store(path, shown, keyring=keyring))
            except errors.Error as e:
                raise Conflict(f"{side} does not open here: {e.diagnostics()}") from None
        base_side, ours_side, theirs_side = sides
        result, carried = merge_sides(base_side, ours_side, theirs_side, history(real))
    except Conflict as c:
        return _conflict(ours, theirs, c.why, shown)
    fileformat.write(ours, result)
    if carried:
        echo(f"kortix-guard merge-store: {len(carried)} value(s) changed on the older "
             f"generation, which a removed recipient could write, were re-sealed under the "
             f"newer key and marked carried: {', '.join(carried)}; check each, then "
             f"`kortix-guard secrets accept NAME` (or set it again)", err=True)
    return errors.CLEAN


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

"""The git merge driver, `kortix-guard merge-store %O %A %B`: the merged store, or conflict
markers that every kortix-guard command refuses (never a file `git add` turns into a silent
revert of the other side). How sides merge is store/merge.py."""
from __future__ import annotations

from collections.abc import Sequence
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
         f"markers, which kortix-guard refuses. For a secret changed on both sides: "
         f"`kortix-guard secrets resolve --ours NAME` (or `--theirs NAME`), then `git add "
         f"{store}`; else keep one side (`git checkout --theirs -- {store}` or `--ours`), "
         f"`git add` it, and set again what the other side changed", err=True)
    return errors.PROBLEMS


def resolve(project: Project, ours: Sequence[str], theirs: Sequence[str]) -> int:
    """`secrets resolve --ours NAME… --theirs NAME…`: finish a merge the driver could not,
    on the store git left in conflict. The three sides come from git's index (the merge
    base, ours, theirs), each opened and verified; the names given take the side named,
    every other name merges as the driver merges it; the result is written as every write
    is (the next revision, carried marks kept). Then `git add` and commit, as after any
    conflict. (What SOPS users ask of sops: getsops/sops#52.)"""
    from kortix_guard.git import GitError, Repo

    both = sorted(set(ours) & set(theirs))
    if both:
        raise errors.UsageError(f"{', '.join(both)}: both --ours and --theirs",
                                hint="name each conflicting secret once")
    real = project.store_path()
    shown = project.display(real)
    try:
        repo, relative = Repo.holding(real)
        stages = repo.conflict_sides(relative)
    except GitError as e:
        raise errors.StoreError(f"{shown}: {e.message}", hint=e.hint) from None
    if stages is None:
        raise errors.StoreError(f"{shown}: not in conflict (no merge left it unmerged)",
                                hint="`git status` shows what is in conflict; after `git add` "
                                     "of the markers, `git checkout -m -- " + shown + "` "
                                     "brings the conflict back")
    if any(stage is None for stage in stages):
        raise errors.StoreError(f"{shown}: one side of the merge has no store (added or "
                                f"deleted on one branch): there is nothing to merge by name",
                                hint=f"keep one side: `git checkout --ours -- {shown}` or "
                                     f"`--theirs`, then `git add {shown}`")
    import tempfile

    keyring = Keyring(project.key_file)
    with tempfile.TemporaryDirectory(prefix="kortix-guard-resolve-") as folder:
        opened = []
        for name, data in zip(("base", "ours", "theirs"), stages, strict=True):
            path = Path(folder) / name  # sealed values only: no plaintext is written
            assert data is not None
            path.write_bytes(data)
            opened.append(open_store(path, f"{shown} ({name})", keyring=keyring))
    choice = {**{n: "ours" for n in ours}, **{n: "theirs" for n in theirs}}
    try:
        base_side, ours_side, theirs_side = opened
        result, carried = merge_sides(base_side, ours_side, theirs_side, history(real),
                                      resolve=choice)
    except Conflict as c:
        echo(f"kortix-guard: {shown}: still not merged: {c.why}", err=True)
        echo("next: name every conflicting secret above with --ours or --theirs", err=True)
        return errors.PROBLEMS
    fileformat.write(real, result)
    for name in sorted(choice):
        echo(f"✓ {name}: {choice[name]}")
    if carried:
        echo(f"note: {len(carried)} value(s) re-sealed from the older generation and marked "
             f"carried: {', '.join(carried)}; check each, then `kortix-guard secrets accept "
             f"NAME`", err=True)
    echo(f"next: `git add {shown}` and commit the merge", err=True)
    return errors.CLEAN

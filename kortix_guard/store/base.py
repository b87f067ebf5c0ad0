"""CI's comparison of a pull request's store with the base branch's, where no machine
remembers anything: the head's store must be the base's own (where the base's own manifest
puts it), or a verified descendant; most of it needs no key (a fork's pull request has none).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from kortix_guard import errors
from kortix_guard.git import GitError, Repo
from kortix_guard.store import chain, fileformat
from kortix_guard.store.core import history, key_opener
from kortix_guard.store.fileformat import EntryMeta
from kortix_guard.store.keys import Keyring

BASE_MISSING = "the base revision"
# The base commit's store path, repository-relative, as its own manifest says: (repo, base
# revision, the head store's repository-relative path) → path.
BaseStorePath = Callable[[Repo, str, str], str]


class Comparison(NamedTuple):
    problems: list[str]
    warnings: list[str]
    cannot_compare: bool = False  # the base revision is not in this clone


def against_base(store: Path, display: str, base: str, *, keyring: Keyring,
                 base_store_path: BaseStorePath, named: bool) -> Comparison:
    """The problems of the head's store against the base branch's. `named`: the base was
    given with --base (a missing revision fails), not guessed from CI's environment (a
    shallow checkout: a warning with the fix)."""
    try:
        repo, relative = Repo.holding(store)
        repo.resolve(base)
    except GitError:
        problem = (f"{BASE_MISSING} {base} is not in this clone, so the store cannot be "
                   f"compared with the base branch's; fetch it (actions/checkout with "
                   f"`fetch-depth: 0`)")
        if named:
            return Comparison([problem], [], cannot_compare=True)
        return Comparison([], [f"warning: {problem}"])
    base_relative = base_store_path(repo, base, relative)
    data = repo.file_at(base, base_relative)
    if data is None:
        return Comparison([], [])  # no store on the base branch: this change adds the first one
    label = f"{base}:{base_relative}"
    try:
        base_sf = fileformat.parse(data.decode("utf-8"), label, canonical=False)
    except (errors.StoreError, UnicodeDecodeError):
        return Comparison([f"the base branch's store ({label}) is not a readable store"], [])
    if base_relative != relative:
        return Comparison([f"against {base}: the store moved from {base_relative} (base branch) "
                           f"to {relative}: a store at a new path is a new store to review; "
                           f"keep it where the base branch has it"], [])
    if not store.exists():
        return Comparison([f"against {base}: the base branch has a store ({label}) and this "
                           f"change removes it"], [])
    try:
        head = fileformat.read(store, display, canonical=False)
    except errors.StoreError as e:
        return Comparison([e.message], [])
    problems = []
    found = chain.against_base(head, base_sf, history=history(store),
                               open_key=key_opener(keyring, display))
    if found:
        problems.append(f"against {base}: {found}")
    added = sorted(n for n, m in head.meta.items() if "carried" in m.marks
                   and "carried" not in base_sf.meta.get(n, EntryMeta("")).marks)
    if added:
        problems.append(f"against {base}: this change carries {len(added)} value(s) from an "
                        f"older generation (a merge of a branch written before a re-key, e.g. "
                        f"by a removed recipient): {', '.join(added)}; review each, then "
                        f"`kortix-guard secrets accept NAME` or set it again")
    return Comparison(problems, [])

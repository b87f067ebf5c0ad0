"""What this machine remembers about the stores it opened, and what it refuses because of it:
every staleness and replacement policy, side by side.

- the store ids it opened, per project (`projects/<digest>.json`): any other store id for
  the project is refused, wherever that store now lives, until `store trust`; a version 1
  store where it opened version 2 or 3 is stale;
- the newest generation it opened that reached the default branch, per store id (the mark,
  `stores/<store id>.mark`): a generation that does not chain from the mark is refused, an
  older one is stale;
- the version 1 keys a rotation or an upgrade retired (`keys/<store id>.<key id>.retired`):
  a store that needs one is refused.

"Stale" means: `check` fails, every write and `inject`/`run` refuse unless `--allow-stale`.
A project is its repository (the root commits reachable from HEAD, else the normalised
remote URL) and the project's folder in it, so a store that moves keeps its trust and a new
store at any path does not inherit it. Marks hold public values only (a generation, a key id,
a public signing key), never anything that could sign the next generation.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from kortix_guard._dirs import private_folder
from kortix_guard._fs import atomic_write, find_root
from kortix_guard.errors import StoreError
from kortix_guard.git import GitError, Repo
from kortix_guard.store.chain import Mark, OpenKey, descends
from kortix_guard.store.fileformat import StoreFile

STALE = ("generation {gen} is older than generation {mark} that this machine opened: a revert "
         "of a re-key (`recipients rm`, `key rotate`) or a stale branch")
DOWNGRADE = ("a version 1 store, where this machine opened version {version} of this project's "
             "store: a downgrade, or a stale branch")
STALE_HINT = ("get the current store (`git pull`, or `git checkout main -- {store}`); if the "
              "newer generation is a re-key still on its way to the default branch, merge it "
              "first, or accept this one after a review with `kortix-guard store trust`; "
              "values set on the old generation must be set again on the current one")
RETIRED = ("this store was re-keyed since (key id {kid} was retired on this machine by a "
           "rotation or an upgrade): it was reverted or is stale")
RETIRED_HINT = ("get the current store (`git log -- {store}`, `git revert` the revert), or "
                "`git pull` the rotation; values set under the old key must be set again")


# --- Version 1: retired keys -----------------------------------------------------------------

def retired_path(store_id: str, key_id: str) -> Path:
    return private_folder("config", "keys") / f"{store_id}.{key_id}.retired"


def is_retired(store_id: str, key_id: str) -> bool:
    return retired_path(store_id, key_id).exists()


def retire(store_id: str, key_id: str, why: str = "`kortix-guard key rotate`") -> None:
    """Record that this key id no longer opens this store (the caller deletes its material)."""
    atomic_write(retired_path(store_id, key_id), f"retired by {why}\n".encode(), mode=0o600)


# --- Marks ---------------------------------------------------------------------------------

def mark_path(store_id: str) -> Path:
    return private_folder("config", "stores") / f"{store_id}.mark"


_MARK = re.compile(r"v3 ([0-9]+) ([0-9a-f]{16}) ([0-9a-f]{64}) ([23])\n")
_LEGACY_MARK = re.compile(r"([0-9]+) ([0-9a-f]{16}) ([0-9a-f]{64})\n")  # 0.2.0: held a chain key


def load_mark(store_id: str) -> Mark | None:
    path = mark_path(store_id)
    if not path.exists():
        return None
    text = path.read_text("ascii", "replace")
    m = _MARK.fullmatch(text)
    if m is not None:
        return Mark(int(m.group(1)), m.group(2), m.group(3), int(m.group(4)))
    m = _LEGACY_MARK.fullmatch(text)
    if m is not None:
        return Mark(int(m.group(1)), m.group(2), "", 2, bytes.fromhex(m.group(3)))
    raise StoreError(f"{path}: this machine's record of the store is damaged",
                     hint=f"remove it (`rm {path}`); the next store opened is trusted as is")


def save_mark(store_id: str, mark: Mark) -> None:
    """Only the public part: a 0.2.0 mark's chain key is dropped on the first save."""
    atomic_write(mark_path(store_id), f"v3 {mark.generation} {mark.key_id} {mark.signer} "
                                      f"{mark.version}\n".encode(), mode=0o600)


def older(store: StoreFile, mark: Mark | None = None) -> str | None:
    """Why store is older than this machine's mark (read here unless given), or None."""
    mark = mark or load_mark(store.store_id)
    if mark is None or store.generation >= mark.generation:
        return None
    return STALE.format(gen=store.generation, mark=mark.generation)


# --- Projects --------------------------------------------------------------------------------

class Place(NamedTuple):
    """Where a store is, as trust sees it: its project (repository and folder), its path in
    the repository (None outside git), and the names the project had before its first
    commit (its remote, its folder on this disk), read when the first has no record."""

    project: str
    repo: Repo | None
    relative: str | None
    aliases: tuple[str, ...]

    @classmethod
    def of(cls, store: Path) -> Place:
        folder = (find_root(store.parent) or store.parent).resolve()
        try:
            repo, relative = Repo.holding(store)
            in_repo = folder.relative_to(repo.root).as_posix()
        except (GitError, ValueError):
            return cls(f"path:{folder}", None, None, ())
        names = [f"{i}|{in_repo}" for i in (repo.identity(), repo.remote_identity()) if i]
        names = list(dict.fromkeys([*names, f"path:{folder}"]))
        return cls(names[0], repo, relative, tuple(names[1:]))

    def record_path(self, project: str | None = None) -> Path:
        digest = hashlib.sha256((project or self.project).encode()).hexdigest()[:32]
        return private_folder("config", "projects") / f"{digest}.json"

    def load(self) -> dict:
        """The project's record; a store trusted before the repository's first commit was
        recorded under the folder's path: that record is adopted."""
        for project in (self.project, *self.aliases):
            record = self._read(project)
            if record:
                return record
        return {}

    def _read(self, project: str) -> dict:
        path = self.record_path(project)
        try:
            record = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            raise StoreError(f"{path}: this machine's record of the project is damaged",
                             hint=f"remove it (`rm {path}`); the store opened next is trusted "
                                  f"as it is") from None
        return record if isinstance(record, dict) and record.get("project") == project else {}

    def save(self, record: dict) -> None:
        record = {**record, "project": self.project}
        atomic_write(self.record_path(), (json.dumps(record, indent=1, sort_keys=True) + "\n")
                     .encode(), mode=0o600)


def trust_store(place: Place, store: StoreFile, display: str, *, replace: bool = False) -> None:
    """Record store as this project's (with `replace`, instead of the ones recorded)."""
    record = place.load()
    stores = {} if replace else dict(record.get("stores", {}))
    stores[store.store_id] = {"path": place.relative or display, "version": store.version}
    place.save({**record, "stores": stores,
                "version": max(store.version, 0 if replace else record.get("version", 0))})


def trusted_ids(place: Place) -> dict[str, dict]:
    return dict(place.load().get("stores", {}))


# --- The policy ------------------------------------------------------------------------------

class Verdict(NamedTuple):
    stale: str | None  # why this store is older than what this machine opened
    pending: str | None  # a newer generation that has not reached the default branch


History = Callable[[], Iterable[StoreFile]]


def judge(store_path: Path, store: StoreFile, key, display: str, *, history: History,
          open_key: OpenKey) -> Verdict:
    """Compare the opened store (its MAC and signature verified) with what this machine
    remembers, record what it now trusts, and say whether it is stale. StoreError when it
    is not the project's store, or does not chain from the mark."""
    place = Place.of(store_path)
    record = place.load()
    known = record.get("stores", {})
    if not known:
        _adopt(place, store, display, history)
    elif store.store_id not in known:
        _refuse_other_store(store, display, known)
    if not store.has_recipients:
        version = record.get("version", 1)
        return Verdict(DOWNGRADE.format(version=version) if version >= 2 else None, None)
    return _against_mark(place, store, key, display, history, open_key)


def _adopt(place: Place, store: StoreFile, display: str, history: History) -> None:
    """The first time this machine opens this project's store (or the first time since
    0.2.0, which kept no project record): trusted as it is, unless git shows at its path a
    store of another id that this machine did open (a replacement)."""
    if load_mark(store.store_id) is None:
        replaced = next((v.store_id for v in history()
                         if v.store_id != store.store_id and load_mark(v.store_id) is not None),
                        None)
        if replaced is not None:
            _refuse_other_store(store, display, {replaced: {"path": display}})
    trust_store(place, store, display)


def _refuse_other_store(store: StoreFile, display: str, known: dict[str, dict]) -> None:
    listed = ", ".join(f"{sid} (at {info.get('path', '?')})" for sid, info in sorted(known.items()))
    raise StoreError(f"{display}: store id {store.store_id} is not the store this machine "
                     f"opened for this project ({listed}): a new store made by someone who "
                     f"could not re-key the old one, or the store re-created or moved on "
                     f"purpose",
                     hint="compare with the main branch (`git log -p -- kortix.toml "
                          f"{display}`); if the team made it, `kortix-guard store trust` "
                          f"shows both and accepts it")


def _against_mark(place: Place, store: StoreFile, key, display: str, history: History,
                  open_key: OpenKey) -> Verdict:
    mark = load_mark(store.store_id)
    here = Mark.of(store, key)
    if mark is None:
        save_mark(store.store_id, here)  # trusted on first use: docs/store.md says what remains
        return Verdict(None, None)
    if store.generation == mark.generation and store.key_id == mark.key_id:
        if mark.chain_key or mark.version < store.version:
            save_mark(store.store_id, here)  # drop a 0.2.0 chain key; note the upgrade
        return Verdict(None, None)
    if store.generation < mark.generation:
        return Verdict(older(store, mark), None)
    if not descends(mark, store, history, open_key):
        raise StoreError(f"{display}: generation {store.generation} (key id {store.key_id}) does "
                         f"not chain from generation {mark.generation} (key id {mark.key_id}), "
                         f"which this machine opened: re-keyed by someone without the previous "
                         f"key, or on two branches at once",
                         hint=f"compare with the main branch (`git log -p -- {display}`); if you "
                              f"trust this store, `kortix-guard store trust` makes it the one "
                              f"this machine expects")
    return advance(place, store, here, mark)


def advance(place: Place, store: StoreFile, here: Mark, mark: Mark | None) -> Verdict:
    """Move the mark to a newer generation only once it has reached the default branch (or
    its upstream); a re-key only on this branch is pending, never a reason to refuse the
    default branch's store. With no remote, or on the default branch, it moves."""
    refs = place.repo.default_branch_refs() if place.repo is not None and place.relative else None
    if refs is None:
        save_mark(store.store_id, here)
        return Verdict(None, None)
    reached = 0
    for ref in refs:
        try:
            data = place.repo.file_at(ref, place.relative)  # type: ignore[union-attr,arg-type]
        except GitError:
            continue
        m = re.search(rb'\ngeneration = ([0-9]+)\n', data or b"")
        if data and f'store_id = "{store.store_id}"'.encode() in data and m:
            reached = max(reached, int(m.group(1)))
    if reached >= store.generation:
        save_mark(store.store_id, here)
        return Verdict(None, None)
    return Verdict(None, f"generation {store.generation} exists on this branch only (the default "
                         f"branch has {reached or 'no'} generation{'' if reached else 's'}): "
                         f"this machine keeps expecting "
                         f"{mark.generation if mark else 'it'} elsewhere until it is merged")


def record_write(store_path: Path, store: StoreFile, key, display: str) -> None:
    """After this machine wrote store (a new store, a re-key, an upgrade): the project trusts
    its id, and the mark follows as `advance` says."""
    place = Place.of(store_path)
    trust_store(place, store, display)
    if store.has_recipients:
        advance(place, store, Mark.of(store, key), load_mark(store.store_id))

"""What this machine remembers about the stores it opened, and what it refuses because of it.

The rule, in one sentence: **a project that has opened a store keeps opening that store, and
no commit can change which project it is.**

A project is named only by what no commit can change: the clone, and the folder of the
manifest that named the store (found by the CLI from where it runs, never upwards from the
store). The clone is named twice, and either name matches: by `origin`'s URL as git uses it
(after `insteadOf`), normalised, so that a fresh clone of the same remote shares the record;
and by its git common directory (worktrees share it), so that a clone whose remote changed
keeps it. Outside git, by the project folder's path.

For a project with a record, another store id, a store at another path, or no store at all
is refused until `kortix-guard store trust`. A project folder the clone has no record of,
in a clone that has records, is refused too (a writer can commit `sub/kortix.toml` and a
store of their own beside it). Only a clone of a remote this machine never saw trusts its
store on first use, and says which (store id, recipients) so that a person can compare.

Freshness is kept per clone (its git common directory alone: a scratch clone never makes
another stale): the highest generation and revision opened that reached the default branch
(the mark). A lower one is stale: `check` fails, and every write and `inject`/`run`/`get`
refuse unless `--allow-stale`. A generation above the mark must chain from it.

Records written by kortix-guard 0.3 (projects named by their root commits, marks per store
id for the whole machine) are adopted where they name this project, not trusted anew.
Records hold public values only: store ids, paths, generations, key ids, public signing keys.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from kortix_guard._dirs import private_folder
from kortix_guard._fs import atomic_write
from kortix_guard.errors import StoreError
from kortix_guard.git import GitError, Repo
from kortix_guard.store.chain import Mark, OpenKey, descends
from kortix_guard.store.fileformat import StoreFile

STALE = ("generation {gen} is older than generation {mark} that this clone opened: a revert "
         "of a re-key (`recipients rm`, `key rotate`) or a stale branch")
STALE_REVISION = ("revision {rev} is older than revision {mark} that this clone opened on the "
                  "default branch: an older copy of the store (a revert, `git checkout REV -- "
                  "STORE`) would bring back values the team changed since, or a stale branch")
DOWNGRADE = ("a version 1 store, where this machine opened version {version} of this project's "
             "store: a downgrade, or a stale branch")
STALE_HINT = ("get the current store (`git pull`, or `git checkout {branch} -- {store}`); if "
              "the newer one is a change still on its way to the default branch, merge it "
              "first, or accept this one after a review with `kortix-guard store trust`; "
              "values set on the old one must be set again on the current one")
RETIRED = ("this store was re-keyed since (key id {kid} was retired on this machine by a "
           "rotation or an upgrade): it was reverted or is stale")
RETIRED_HINT = ("get the current store (`git log -- {store}`, `git revert` the revert), or "
                "`git pull` the rotation; values set under the old key must be set again")
TRUST_HINT = ("compare with your team (`git log -p -- {manifest} {store}`); if the team made "
              "the change, `kortix-guard store trust` shows both stores and accepts this one")
RECORD_FORMAT = 1


# --- Version 1: retired keys -----------------------------------------------------------------

def retired_path(store_id: str, key_id: str) -> Path:
    return private_folder("config", "keys") / f"{store_id}.{key_id}.retired"


def is_retired(store_id: str, key_id: str) -> bool:
    return retired_path(store_id, key_id).exists()


def retire(store_id: str, key_id: str, why: str = "`kortix-guard key rotate`") -> None:
    """Record that this key id no longer opens this store (the caller deletes its material)."""
    atomic_write(retired_path(store_id, key_id), f"retired by {why}\n".encode(), mode=0o600)


# --- Where a store is, as trust sees it -------------------------------------------------------

class Place(NamedTuple):
    """A project and its store, named by what no commit can change.

    keys: the clone's names (`remote:…`, `clone:…`; `path:…` outside git); local: the one
    freshness is kept under; folder: the manifest's folder in the clone ("." at its root);
    store: the store's path in the clone; legacy: what kortix-guard 0.3 named the project."""

    keys: tuple[str, ...]
    local: str
    folder: str
    store: str
    repo: Repo | None
    project_root: Path

    @classmethod
    def of(cls, project_root: Path, store: Path) -> Place:
        project_root = project_root.resolve()
        try:
            repo = Repo(project_root)
            folder = project_root.relative_to(repo.root).as_posix()
            relative = store.resolve().relative_to(repo.root).as_posix()
        except (GitError, ValueError):
            local = f"path:{project_root}"
            return cls((local,), local, ".", str(store.absolute()), None, project_root)
        local = f"clone:{repo.common_dir()}"
        keys = tuple(k for k in (repo.remote_identity(), local) if k)
        return cls(keys, local, folder, relative, repo, project_root)

    def legacy_names(self) -> list[str]:
        """The names 0.3 gave this project: its root commits or remote, and the folder."""
        if self.repo is None:
            return [f"path:{self.project_root}"]
        names = [f"{i}|{self.folder}" for i in (self.repo.identity(),
                                                self.repo.remote_identity()) if i]
        return [*names, f"path:{self.project_root}"]


def _record_path(key: str) -> Path:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return private_folder("config", "trust") / f"{digest}.json"


def _read(path: Path, key: str | None) -> dict:
    try:
        record = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        raise StoreError(f"{path}: this machine's record of a project is damaged",
                         hint=f"remove it (`rm {path}`); the store opened next is then trusted "
                              f"as on a new machine") from None
    if not isinstance(record, dict) or key is not None and record.get("key") != key:
        return {}
    return record


def _save(key: str, record: dict) -> None:
    record = {**record, "key": key, "format": RECORD_FORMAT}
    atomic_write(_record_path(key), (json.dumps(record, indent=1, sort_keys=True) + "\n")
                 .encode(), mode=0o600)


class Records:
    """The records of one clone, by key, read once for one judgement."""

    def __init__(self, place: Place) -> None:
        self.place = place
        self.by_key = {key: _read(_record_path(key), key) for key in place.keys}

    @property
    def any_project(self) -> bool:
        return any(r.get("projects") for r in self.by_key.values())

    def project(self) -> dict | None:
        """This project's stores (id → {path, version}), over every key of the clone."""
        stores: dict[str, dict] = {}
        for record in self.by_key.values():
            found = record.get("projects", {}).get(self.place.folder)
            if isinstance(found, dict):
                stores.update(found.get("stores", {}))
        return stores or None

    def legacy_project(self) -> dict | None:
        """A record 0.3 kept for this project, adopted (its store ids, not its paths: 0.3
        let a store move)."""
        for name in self.place.legacy_names():
            digest = hashlib.sha256(name.encode()).hexdigest()[:32]
            path = private_folder("config", "projects") / f"{digest}.json"
            record = _read(path, None)
            if record.get("project") == name and record.get("stores"):
                return {sid: {**info, "path": None} for sid, info in record["stores"].items()
                        if isinstance(info, dict)}
        return None

    def mark(self, store_id: str) -> Mark | None:
        found = self.by_key.get(self.place.local, {}).get("marks", {}).get(store_id)
        if isinstance(found, dict):
            try:
                return Mark(int(found["generation"]), str(found["key_id"]),
                            str(found["signer"]), int(found["version"]),
                            revision=int(found.get("revision", 0)))
            except (KeyError, TypeError, ValueError):
                raise StoreError(f"{_record_path(self.place.local)}: this machine's record of "
                                 f"the clone is damaged", hint="remove it; the store opened "
                                 "next is then trusted as on a new machine") from None
        return _legacy_mark(store_id)

    def save_project(self, store: StoreFile, *, replace: bool = True) -> None:
        """Record store as this project's, under every name of the clone."""
        for key in self.place.keys:
            record = dict(self.by_key.get(key) or {})
            projects = dict(record.get("projects", {}))
            previous = {} if replace else dict(projects.get(self.place.folder, {}).get("stores", {}))
            previous[store.store_id] = {"path": self.place.store, "version": store.version}
            projects[self.place.folder] = {"stores": previous}
            record["projects"] = projects
            _save(key, record)
            self.by_key[key] = record

    def save_mark(self, store_id: str, mark: Mark) -> None:
        key = self.place.local
        record = dict(self.by_key.get(key) or {})
        record["marks"] = {**record.get("marks", {}), store_id: {
            "generation": mark.generation, "key_id": mark.key_id, "signer": mark.signer,
            "version": mark.version, "revision": mark.revision}}
        _save(key, record)
        self.by_key[key] = record

    def forget(self) -> list[str]:
        """Remove this project (and the freshness of its stores in this clone); the store
        ids it held."""
        forgotten: list[str] = []
        for key, record in self.by_key.items():
            project = record.get("projects", {}).pop(self.place.folder, None)
            if project is None:
                continue
            forgotten += [sid for sid in project.get("stores", {}) if sid not in forgotten]
            for sid in forgotten:
                record.get("marks", {}).pop(sid, None)
            _save(key, record)
        return forgotten


def _legacy_mark(store_id: str) -> Mark | None:
    """The mark 0.3 kept for the whole machine (`stores/<id>.mark`), adopted by each clone
    that has none of its own."""
    path = private_folder("config", "stores") / f"{store_id}.mark"
    try:
        text = path.read_text("ascii", "replace")
    except FileNotFoundError:
        return None
    m = re.fullmatch(r"v3 ([0-9]+) ([0-9a-f]{16}) ([0-9a-f]{64}) ([23])\n", text)
    if m is not None:
        return Mark(int(m.group(1)), m.group(2), m.group(3), int(m.group(4)))
    m = re.fullmatch(r"([0-9]+) ([0-9a-f]{16}) ([0-9a-f]{64})\n", text)  # 0.2.0: a chain key
    if m is not None:
        return Mark(int(m.group(1)), m.group(2), "", 2, bytes.fromhex(m.group(3)))
    raise StoreError(f"{path}: this machine's record of the store is damaged",
                     hint=f"remove it (`rm {path}`); the next store opened is trusted as is")


def every_record() -> Iterator[dict]:
    """Every record this machine keeps (`store trust --list`)."""
    folder = private_folder("config", "trust")
    for path in sorted(folder.glob("*.json")):
        record = _read(path, None)
        if record.get("key"):
            yield record


# --- The judgement ----------------------------------------------------------------------------

class Judged(NamedTuple):
    """What this machine says of a verified store. `refused`: why it does not trust it (with
    `hint`); `stale`: why it is older than this clone saw; `pending`: a re-key on this branch
    only; `first_use`: trusted because this clone has no record at all (the message names
    it); `adopt`: a 0.3 record to keep under the new names."""

    refused: str | None = None
    hint: str | None = None
    stale: str | None = None
    pending: str | None = None
    first_use: str | None = None
    adopt: bool = False
    advance: Mark | None = None  # the mark to save once the store is accepted


History = Callable[[], Iterable[StoreFile]]


def judge(place: Place, store: StoreFile, key, display: str, manifest: str, *,
          history: History, open_key: OpenKey, records: Records | None = None) -> Judged:
    """Compare a verified store with what this machine remembers. Writes nothing."""
    records = records or Records(place)
    project = records.project()
    adopt = False
    if project is None:
        project = records.legacy_project()
        adopt = project is not None
    hint = TRUST_HINT.format(manifest=manifest, store=display)
    first_use = None
    if project is None:
        if records.any_project:
            return Judged(
                refused=(f"{display}: this clone has records of other projects, but none of "
                         f"the project in {place.folder!r}: a store in a project folder this "
                         f"machine never opened is not trusted on first use (anyone who can "
                         f"push can add a folder with a manifest and a store)"),
                hint="if this is your team's project, `kortix-guard store trust` shows the store "
                     "and accepts it")
        first_use = (f"first use of {display} on this machine: trusting store id "
                     f"{store.store_id}" + (f" wrapped to {_recipients(store)}"
                                            if store.has_recipients else "")
                     + "; compare them with your team's (`kortix-guard recipients ls`)")
    elif store.store_id not in project:
        listed = ", ".join(f"{sid} (at {info.get('path') or 'a path 0.3 did not record'})"
                           for sid, info in sorted(project.items()))
        return Judged(refused=(f"{display}: store id {store.store_id} is not the store this "
                               f"machine opened for this project ({listed}): a new store made "
                               f"by someone who could not re-key the old one, or the store "
                               f"re-created on purpose"), hint=hint)
    elif not adopt and project[store.store_id].get("path") != place.store:
        return Judged(refused=(f"{display}: this machine opened this project's store at "
                               f"{project[store.store_id].get('path')}; a store that moves is "
                               f"refused until reviewed"), hint=hint)
    if not store.has_recipients:
        version = max((info.get("version", 1) for info in (project or {}).values()), default=1)
        stale = DOWNGRADE.format(version=version) if version >= 2 else None
        return Judged(stale=stale, first_use=first_use, adopt=adopt)
    fresh = _freshness(place, store, key, display, records.mark(store.store_id),
                       history, open_key)
    return fresh._replace(first_use=first_use, adopt=adopt)


def _recipients(store: StoreFile) -> str:
    return ", ".join(f"{name} ({line.fingerprint})" for name, line in store.recipients.items())


def _freshness(place: Place, store: StoreFile, key, display: str, mark: Mark | None,
               history: History, open_key: OpenKey) -> Judged:
    here = Mark.of(store, key)
    if mark is None:
        return Judged(advance=here)
    if store.generation < mark.generation:
        return Judged(stale=STALE.format(gen=store.generation, mark=mark.generation))
    if store.generation == mark.generation:
        if store.key_id != mark.key_id:
            return Judged(refused=_not_chained(store, mark, display), hint=_CHAIN_HINT)
        if store.revision < mark.revision:
            return Judged(stale=STALE_REVISION.format(rev=store.revision, mark=mark.revision))
        return _advance(place, store, here)
    if not descends(mark, store, history, open_key):
        return Judged(refused=_not_chained(store, mark, display), hint=_CHAIN_HINT)
    return _advance(place, store, here, mark)


_CHAIN_HINT = ("compare with the main branch (`git log -p -- STORE`); if you trust this store, "
               "`kortix-guard store trust` makes it the one this machine expects")


def _not_chained(store: StoreFile, mark: Mark, display: str) -> str:
    return (f"{display}: generation {store.generation} (key id {store.key_id}) does not chain "
            f"from generation {mark.generation} (key id {mark.key_id}), which this clone "
            f"opened: re-keyed by someone without the previous key, or on two branches at once")


def _advance(place: Place, store: StoreFile, here: Mark, mark: Mark | None = None) -> Judged:
    """The mark moves to a store only once the default branch (or its upstream) holds it, or
    a later one: a re-key or a write on a feature branch never makes the default branch
    stale. With no remote, or on the default branch, it moves."""
    refs = place.repo.default_branch_refs() if place.repo is not None else None
    if refs is None:
        return Judged(advance=here)
    reached = (0, 0)
    for ref in refs:
        try:
            data = place.repo.file_at(ref, place.store)  # type: ignore[union-attr]
        except GitError:
            continue
        found = _public_point(data, store.store_id)
        if found is not None:
            reached = max(reached, found)
    if reached >= (store.generation, store.revision):
        return Judged(advance=here)
    if store.generation > reached[0] and mark is not None:
        return Judged(pending=(f"generation {store.generation} exists on this branch only (the "
                               f"default branch has {reached[0] or 'no'} generation"
                               f"{'' if reached[0] else 's'}): this clone keeps expecting "
                               f"generation {mark.generation} elsewhere until it is merged"))
    return Judged()


def _public_point(data: bytes | None, store_id: str) -> tuple[int, int] | None:
    """(generation, revision) of a store in another branch, when its own signature verifies
    (a version 2 store cannot be verified without its key, and is taken as it says)."""
    if not data or f'store_id = "{store_id}"'.encode() not in data:
        return None
    from kortix_guard.store.fileformat import parse

    try:
        other = parse(data.decode("utf-8"), "the default branch's store", canonical=False)
    except (StoreError, UnicodeDecodeError):
        return None
    if other.is_signed and Mark.public(other) is None:
        return None
    return other.generation, other.revision


def remember(place: Place, store: StoreFile, judged: Judged, *,
             records: Records | None = None) -> None:
    """Record what this clone accepted: a project on first use or adopted from 0.3, its
    store's format version, and the mark when it moves."""
    if judged.refused:
        return
    records = records or Records(place)
    project = records.project()
    if judged.first_use or judged.adopt or project is None:
        records.save_project(store)
    elif project.get(store.store_id, {}).get("version", 0) < store.version:
        records.save_project(store, replace=False)
    if judged.advance is not None and store.has_recipients:
        current = records.mark(store.store_id)
        if current is None or current.point != judged.advance.point or current.chain_key:
            records.save_mark(store.store_id, judged.advance._replace(chain_key=b""))


def record_write(place: Place, store: StoreFile, key) -> None:
    """After this machine wrote store (a new store, a re-key, an upgrade, a write): the
    project expects it, and the mark follows as `_advance` says."""
    records = Records(place)
    records.save_project(store)
    if store.has_recipients:
        judged = _advance(place, store, Mark.of(store, key))
        if judged.advance is not None:
            records.save_mark(store.store_id, judged.advance._replace(chain_key=b""))


def trust_store(place: Place, store: StoreFile, key) -> None:
    """`store trust`: this project expects store from now on, at its generation and revision."""
    records = Records(place)
    records.save_project(store)
    if store.has_recipients:
        records.save_mark(store.store_id, Mark.of(store, key)._replace(chain_key=b""))


def described(place: Place) -> tuple[dict | None, Records]:
    """This project's record as `store trust` shows it (adopted 0.3 records too)."""
    records = Records(place)
    return records.project() or records.legacy_project(), records

"""`store upgrade` and `store trust [--list | --forget]`: the store's format, and this
machine's trust in it (store/trust.py holds the rule)."""
from __future__ import annotations

from collections.abc import Callable

from kortix_guard import errors
from kortix_guard._out import echo
from kortix_guard.project import Project
from kortix_guard.store import fileformat, trust
from kortix_guard.store.commands.recipients import store_of, upgrade_v1
from kortix_guard.store.core import open_store, transaction
from kortix_guard.store.fileformat import REVISION_SINCE


def upgrade(project: Project) -> int:
    """Version 1 → 4 (recipients, wrapped to you); versions 2 and 3 → 4 (a revision, and
    persons inferred from the names a keys file gave), which teammates and CI need 0.4.0 to
    read: nothing upgrades a store without this command."""
    store, display = store_of(project)
    sf = fileformat.read(store, display)
    if sf.version >= fileformat.CURRENT:
        echo(f"{display} is version {sf.version} already; nothing to do", err=True)
        return errors.CLEAN
    if sf.has_recipients:
        with transaction(project) as draft:
            draft.version = fileformat.CURRENT
            draft.changed = True
        persons = fileformat.infer_persons(sf.recipients)
        grouped = {p for n, p in persons.items() if p != n}
        for person in sorted(grouped):
            keys = [n for n, p in persons.items() if p == person]
            echo(f"note: {', '.join(keys)} are recorded as one person, {person}: "
                 f"`kortix-guard recipients rm {person}` removes them together", err=True)
    else:
        upgrade_v1(project)
    echo(f"✓ {display}: version {fileformat.CURRENT}")
    echo(f"next: commit {display}; teammates and CI need kortix-guard {REVISION_SINCE} or later "
         f"(an older one refuses it with \"upgrade kortix-guard\")"
         + ("" if sf.has_recipients else "; add them with `kortix-guard recipients add NAME "
                                         "RECIPIENT`"), err=True)
    return errors.CLEAN


def trust_cmd(project: Project, *, yes: bool = False, listing: bool = False,
              forget: bool = False, confirm: Callable[[str], bool] | None = None) -> int:
    if listing:
        return _list()
    if forget:
        return _forget(project)
    return _trust(project, yes=yes, confirm=confirm)


def _trust(project: Project, *, yes: bool, confirm: Callable[[str], bool] | None) -> int:
    """Make this store the one this machine expects for the project: after a reviewed re-key
    that does not chain, or a store the team re-created or moved. Shows what this machine
    trusted until now and what it would trust instead, then asks (or takes --yes)."""
    store, display = store_of(project)
    opened = open_store(store, display, key_file=project.key_file)
    sf = opened.file
    place = trust.Place.of(project.manifest_path.parent, store)
    known, records = trust.described(place)
    echo(f"this machine trusts, for the project in {place.folder!r} of this clone:")
    if not known:
        echo("  nothing yet")
    for store_id, info in sorted((known or {}).items()):
        mark = records.mark(store_id)
        where = (f"generation {mark.generation}, revision {mark.revision}, key id {mark.key_id}"
                 if mark else "no generation seen")
        echo(f"  store id {store_id} at {info.get('path') or '?'} ({where})")
        for name, fingerprint in _recipients_in_history(place, info.get("path"), store_id):
            echo(f"    recipient {name}: {fingerprint}")
    echo(f"it would trust instead: store id {sf.store_id} at {place.store} (version "
         f"{sf.version}" + (f", generation {sf.generation}, revision {sf.revision}, key id "
                            f"{sf.key_id})" if sf.has_recipients else ")"))
    for name, line in sf.recipients.items():
        echo(f"    recipient {name}: {line.fingerprint}")
    if not yes and (confirm is None or not confirm("Trust this store from now on?")):
        raise errors.InputError("not trusted; nothing changed",
                                hint="compare the two with your team, then rerun (with --yes "
                                     "where there is no terminal)")
    trust.trust_store(place, sf, opened.key)
    echo(f"✓ this machine now expects {display} (store id {sf.store_id}"
         + (f", generation {sf.generation}, revision {sf.revision}" if sf.has_recipients else "")
         + ")")
    return errors.CLEAN


def _list() -> int:
    """Every record this machine keeps: the clone or remote it names, each project folder's
    store, and the freshness kept per clone."""
    records = list(trust.every_record())
    for record in records:
        echo(record["key"])
        for folder, project in sorted(record.get("projects", {}).items()):
            for store_id, info in sorted(project.get("stores", {}).items()):
                echo(f"  project {folder!r}: store id {store_id} at {info.get('path')} "
                     f"(version {info.get('version')})")
        for store_id, mark in sorted(record.get("marks", {}).items()):
            echo(f"  freshness of {store_id}: generation {mark.get('generation')}, revision "
                 f"{mark.get('revision')}, key id {mark.get('key_id')}")
    echo(f"{len(records)} record(s); `kortix-guard store trust --forget` (in a project) forgets "
         f"that project's", err=True)
    return errors.CLEAN


def _forget(project: Project) -> int:
    store = project.store_path()
    place = trust.Place.of(project.manifest_path.parent, store)
    forgotten = trust.Records(place).forget()
    if not forgotten:
        echo(f"this machine keeps no record of the project in {place.folder!r} of this clone; "
             f"nothing changed", err=True)
        return errors.CLEAN
    echo(f"✓ forgot the project in {place.folder!r} (store id {', '.join(forgotten)}): the "
         f"store it opens next is judged as the first one")
    return errors.CLEAN


def _recipients_in_history(place: trust.Place, path: str | None,
                           store_id: str) -> list[tuple[str, str]]:
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

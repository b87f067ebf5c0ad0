"""`secrets set|ls|rm|reseal` and `key new|export|import|rotate`: Kortix's CLI is the model
(its `✓ NAME` lines, `k/n` summaries, columns and exit codes)."""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import BinaryIO

from kortix_guard import errors, names
from kortix_guard._fs import read_stdin
from kortix_guard._out import echo
from kortix_guard.git import GitError, Repo
from kortix_guard.project import Project
from kortix_guard.rules import Severity
from kortix_guard.secret import SecretValue
from kortix_guard.store import fileformat
from kortix_guard.store.core import Allow, missing_store_hint, open_trusted, tracked, transaction
from kortix_guard.store.fileformat import parse_time
from kortix_guard.store.keys import Keyring

STDIN = "-"


def name_errors(name: str, allow: frozenset[str] = frozenset()) -> list[str]:
    """The manifest's name rules, as one-line messages; warnings go to stderr here. A name
    that is not a valid name is shown only as a masked preview (`names.shown`). allow: the
    project's `[guard] allow_env`."""
    messages = []
    for issue in names.check(name, allow):
        if issue.rule.severity is Severity.ERROR:
            message = issue.message if names.is_valid(name) else (
                f"{names.shown(name)} is not a valid name ({issue.rule.summary.rstrip('.')})")
            messages.append(f"{issue.rule.code} {message}")
        else:
            echo(f"warning: {issue.rule.code} {issue.message}", err=True)
    return messages


def set_secrets(project: Project, assignments: Sequence[str], *, stdin: BinaryIO,
                prompt: Callable[[str], str] | None, allow_empty: bool = False) -> int:
    manifest = project.load_manifest()
    values: dict[str, SecretValue] = {}
    failed: list[tuple[str, str]] = []
    used_stdin = on_command_line = False
    for assignment in assignments:
        name, sep, raw = assignment.partition("=")
        if sep and raw == STDIN:
            if used_stdin:
                raise errors.UsageError("only one NAME=- per call: stdin holds one value",
                                        hint="run `kortix-guard secrets set` once per value "
                                             "read from stdin")
            used_stdin = True
            raw = read_stdin(stdin)
        elif not sep:
            if prompt is None:
                shown = names.shown(name)
                raise errors.UsageError(f"{shown} has no value",
                                        hint="use NAME=- to read it from stdin, or NAME alone "
                                             "on a terminal (a prompt)")
            raw = prompt(name)
        else:
            on_command_line = True
        problems = name_errors(name, manifest.guard.allow_env)
        if "\0" in raw:
            problems.append("the value holds a NUL byte, which no environment can carry")
        if problems:
            failed.append((name, "; ".join(problems)))
            continue
        if name not in manifest.declared:
            echo(f"warning: {manifest.undeclared(name)}", err=True)
        if raw.endswith("\r"):
            # A value pasted from a Windows file or an editor's CRLF line: kept byte for byte
            # (a value may end in \r on purpose), and said so.
            echo(f"warning: the value of {names.shown(name)} ends with a carriage return "
                 f"(\\r, a CRLF line ending), kept as given; to drop it, set it again from "
                 f"`tr -d '\\r'`", err=True)
        values[name] = SecretValue(raw)
    empty = [name for name, value in values.items() if not value.reveal()]
    if empty and not allow_empty:
        # `printf %s "$DB_URL" | … NAME=-` with DB_URL unset: nothing is written at all.
        raise errors.UsageError(f"empty value for {', '.join(empty)}: refused, the store is "
                                f"unchanged (an unset variable piped in?)",
                                hint="give the value, or `kortix-guard secrets set "
                                     "--allow-empty` if the project wants an empty one")
    if on_command_line:
        echo("warning: values given on the command line land in your shell history; "
                   "prefer NAME=- (stdin) or NAME alone (a prompt)", err=True)
    outcome: dict[str, str] = {}
    if values:
        with transaction(project, manifest) as draft:
            for name, value in values.items():
                outcome[name] = draft.set(name, value)
    for name in values:
        said = outcome[name]
        echo(f"✓ {name}" + ("" if said == "set" else f" (same value as before{said[4:]})"))
    for name, message in failed:
        echo(f"✗ {names.shown(name)}: {message}", err=True)
    echo(f"{len(values)}/{len(values) + len(failed)} set")
    if failed:
        echo("next: fix the names above (docs/manifest.md lists the rules) and run "
                   "`kortix-guard secrets set` again for them", err=True)
    return errors.PROBLEMS if failed else errors.CLEAN


def accept_secrets(project: Project, accepted: Sequence[str]) -> int:
    """`secrets accept NAME...`: a current holder vouches for carried values."""
    display = project.display(project.store_path())
    with transaction(project) as draft:
        unknown = [n for n in accepted if n not in draft.entries]
        if unknown:
            raise errors.InputError(f"{display} holds no {', '.join(map(names.shown, unknown))}",
                                    hint="`kortix-guard secrets ls` lists the names")
        cleared = [n for n in accepted if draft.accept(n)]
    for name in accepted:
        echo(f"✓ {name}" + ("" if name in cleared else " (nothing to accept: not carried)"))
    echo(f"{len(cleared)}/{len(accepted)} accepted")
    if cleared:
        echo(f"next: commit {display}", err=True)
    return errors.CLEAN


def list_secrets(project: Project, *, as_json: bool = False, strict: bool = False) -> int:
    """`secrets ls`: needs no key, never a value. A version 2 store adds each value's age and
    its mark (to rotate, carried by a merge)."""

    manifest = project.load_manifest()
    sf = _listed_store(project, manifest)
    present = set(sf.entries) if sf else set()
    meta = sf.meta if sf else {}
    undeclared = sorted(present - set(manifest.declared))
    rows = [(n, "set" if n in present else "missing", manifest.spec(n))
            for n in (*manifest.required, *manifest.optional, *undeclared)]
    missing = [n for n, status, spec in rows if spec == "required" and status == "missing"]
    if as_json:
        echo(json.dumps([{"name": n, "status": s, "spec": sp, **_meta_json(meta.get(n))}
                               for n, s, sp in rows], indent=2))
    else:
        _table(rows, meta, now=datetime.now(timezone.utc))
        n_set = sum(status == "set" for _, status, _ in rows)
        echo(f"{n_set} set · {len(manifest.required)} required · "
                   f"{len(manifest.optional)} optional")
    for note in manifest.undeclared_notes(undeclared):
        echo(f"note: {note}", err=True)
    marked = {mark: [n for n, m in meta.items() if mark in m.marks] for mark in fileformat.MARKS}
    if marked["rotate"]:
        echo(f"warning: {len(marked['rotate'])} value(s) to rotate (a removed recipient "
                   f"could read them): change each at its provider, then `kortix-guard secrets "
                   f"set NAME=-`", err=True)
    if marked["carried"]:
        echo(f"warning: {len(marked['carried'])} value(s) carried by a merge from an older "
                   f"generation: check each, then `kortix-guard secrets accept NAME` (or set it "
                   f"again); until then `inject` and `run` refuse them", err=True)
    if missing:
        echo(f"warning: {len(missing)} required secret(s) missing: {', '.join(missing)}; "
                   f"set them with `kortix-guard secrets set NAME=-`", err=True)
    return errors.PROBLEMS if strict and missing else errors.CLEAN


def _listed_store(project: Project, manifest) -> fileformat.StoreFile | None:
    """The store `secrets ls` lists: verified when a key here opens it (a tampered or
    refused store fails as it does for `inject`); its names as the file says them, with a
    note, when no key is at hand; None when there is none yet (a tracked store that is
    missing is an error, as everywhere)."""
    store = project.store_path(manifest)
    display = project.display(store)
    if not store.exists():
        if tracked(store):
            raise errors.StoreError(f"{display}: no store here",
                                    hint=missing_store_hint(store, display))
        return None
    try:
        opened, _ = open_trusted(project, manifest, keyring=Keyring(project.key_file),
                                 allow=Allow(stale=True), nothing="nothing listed")
    except errors.NoKey:
        echo(f"note: the names below are as {display} says them, unverified: no key here "
             f"opens it to check its MAC", err=True)
        return fileformat.read(store, display)
    except errors.StoreError:
        sides = _conflict_sides(store)
        if sides is None:
            raise
        # A merge left it in conflict: both sides' names, so that a person sees what to
        # resolve; nothing is verified (every command that reads values refuses it).
        ours, theirs = (fileformat.parse(text, display, canonical=False) for text in sides)
        echo(f"note: {display} is in conflict (a merge): the names of both sides, unverified; "
             f"`kortix-guard secrets resolve --ours NAME` (or `--theirs NAME`) settles a "
             f"secret both sides changed", err=True)
        return ours._replace(entries={**theirs.entries, **ours.entries},
                             meta={**theirs.meta, **ours.meta})
    return opened.file


def _conflict_sides(store) -> tuple[str, str] | None:
    try:
        text = store.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return fileformat.driver_sides(text)


def _meta_json(meta) -> dict:
    if meta is None:
        return {}
    return {"set_at": meta.set_at, "rotate": "rotate" in meta.marks,
            "carried": "carried" in meta.marks}


def age(set_at: str, now: datetime) -> str:
    """How long ago a value was set, as `secrets ls` shows it: 40m, 5h, 12d."""
    seconds = (now - parse_time(set_at)).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return "now"


def _table(rows: list[tuple[str, str, str]], meta, *, now: datetime) -> None:
    width = max([len("NAME"), *(len(n) for n, _, _ in rows)])
    ages = bool(meta)
    shown_marks = {n: " · ".join(m.marks) for n, m in meta.items() if m.marks}
    status_width = max([9, *(len(f"set · {marks}") + 2 for marks in shown_marks.values())])
    header = f"{'NAME':<{width}}  {'STATUS':<{status_width}}  "
    lines = [header + (f"{'SPEC':<10}  AGE" if ages else "SPEC")]
    for name, status, spec in rows:
        marker = "●" if status == "set" else "○"
        entry = meta.get(name)
        shown = f"{status} · {shown_marks[name]}" if name in shown_marks else status
        line = f"{name:<{width}}  {marker} {shown:<{status_width - 2}}  "
        if ages:
            line += f"{spec:<10}  {age(entry.set_at, now) if entry else '-'}"
        else:
            line += spec
        lines.append(line)
    echo("\n".join(lines))  # one write: 10,000 rows are not 10,000 calls


def remove_secrets(project: Project, to_remove: Sequence[str], *, missing_ok: bool = False) -> int:

    with transaction(project) as draft:
        absent = [n for n in to_remove if n not in draft.entries]
        if absent and not missing_ok:
            for name in absent:
                echo(f"✗ {names.shown(name)}: not in the store", err=True)
            echo(f"0/{len(to_remove)} removed (nothing changed; --missing-ok skips "
                       f"absent names)")
            return errors.PROBLEMS
        removed = [n for n in dict.fromkeys(to_remove) if n in draft.entries]
        for name in removed:
            draft.remove(name)
    for name in removed:
        echo(f"✓ {name}")
    echo(f"{len(removed)}/{len(to_remove)} removed")
    return errors.CLEAN


def reseal(project: Project, *, yes: bool = False,
           confirm: Callable[[str], bool] | None = None) -> int:
    """Recompute the MAC of a hand-merged store, after every entry opens with the key.

    Every sealed value that differs from HEAD's store is listed first and needs a yes: a
    sealed line pasted back from an old commit (a rollback of one value) opens with the key
    too, so only a person can tell it from a merge."""

    store = project.store_path()
    display = project.display(store)
    with transaction(project, force_write=True) as draft:
        for name in draft.entries:
            draft.opened.value(name)  # raises StoreError naming the entry that does not open
        changed = _changed_since_head(project, store, dict(draft.entries),
                                      dict(draft.recipients))
        if changed and not yes:
            question = (f"{len(changed)} sealed value(s) differ from HEAD's {display}: "
                        f"{', '.join(changed)}. Reseal them?")
            if confirm is None or not confirm(question):
                echo(f"kortix-guard: not resealed: {', '.join(changed)} differ from "
                           f"HEAD; check them (`git diff -- {display}`), then rerun with "
                           f"--yes", err=True)
                raise _Declined(hint=f"check them (`git diff -- {display}`), then rerun with "
                                     f"--yes")
    echo(f"resealed {display}: {len(draft.entries)} entries open with the key")
    return errors.CLEAN


class _Declined(errors.Error):
    """The user did not confirm: nothing written (exit 1)."""
    exit_code = errors.PROBLEMS

    def __init__(self, *, hint: str) -> None:
        super().__init__("reseal declined; nothing was written", hint=hint)


def _changed_since_head(project: Project, store, entries: dict[str, str],
                        recipients: dict) -> list[str]:
    """Names whose sealed value, and (version 2) recipients whose line, differ from HEAD's."""
    everything = sorted(entries) + [f"recipient {n}" for n in sorted(recipients)]
    try:
        repo, relative = Repo.holding(store)
    except GitError:
        return everything
    head = repo.head_file(relative)
    if head is None:
        return everything
    try:
        before = fileformat.parse(head.decode("utf-8"), f"HEAD:{relative}", canonical=False)
    except (errors.Error, UnicodeDecodeError):
        return everything
    return (sorted(n for n, token in entries.items() if before.entries.get(n) != token)
            + [f"recipient {n}" for n, line in sorted(recipients.items())
               if before.recipients.get(n) != line])

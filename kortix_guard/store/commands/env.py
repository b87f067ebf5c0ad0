"""`env push --from .env` and `env pull`: dotenv files in and names-only skeletons out."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from kortix_guard import _dotenv, errors, names
from kortix_guard._fs import read_text, write_output
from kortix_guard._out import echo
from kortix_guard.project import Project
from kortix_guard.secret import SecretValue
from kortix_guard.store.commands.secrets import name_errors
from kortix_guard.store.core import read_names, transaction


def checked(text: str, allow: frozenset[str]
            ) -> Iterator[tuple[int, str | None, SecretValue, list[str]]]:
    """Each `NAME=value` line of a dotenv text (env push, secrets edit) with what is wrong
    with it: (line, name or None when it does not parse, value, problems)."""
    for entry in _dotenv.entries(text):
        if entry.error or entry.name is None:
            yield entry.line, None, entry.value, ["cannot be parsed as NAME=value"]
            continue
        problems = name_errors(entry.name, allow)
        if "\0" in entry.value.reveal():
            problems.append("the value holds a NUL byte")
        yield entry.line, entry.name, entry.value, problems


def bad_line(line: int, name: str | None, problems: list[str]) -> tuple[int, str]:
    """A valid name is shown before its problems; name_errors shows any other itself."""
    prefix = f"{name}: " if name is not None and names.is_valid(name) else ""
    return line, prefix + "; ".join(problems)


def _parse(text: str, allow: frozenset[str], wanted: Callable[[str], bool] | None = None
           ) -> tuple[dict[str, tuple[int, SecretValue]], list[tuple[int, str]], list[str]]:
    """Pairs by name (the last one wins, as in python-dotenv), bad lines by number, and with
    `wanted` (a predicate on names) the lines it leaves out, by name or line."""
    pairs: dict[str, tuple[int, SecretValue]] = {}
    bad: list[tuple[int, str]] = []
    skipped: list[str] = []
    for line, name, value, problems in checked(text, allow):
        if wanted is not None and (name is None or not wanted(name)):
            skipped.append(name if name is not None and names.is_valid(name) else f"line {line}")
            continue
        if problems or name is None:
            bad.append(bad_line(line, name, problems))
        else:
            pairs[name] = (line, value)
    return pairs, bad, skipped


def push(project: Project, source: Path, *, dry_run: bool = False,
         only: tuple[str, ...] = (), declared: bool = False) -> int:
    """Every NAME=value of a .env file into the store, all names checked first. `only`:
    these names alone; `declared`: the manifest's names alone (a real .env also holds
    `PORT=` and `NODE_ENV=`); the other lines are listed as skipped, not refused."""
    manifest = project.load_manifest()
    display = project.display(project.cwd / source)
    wanted: Callable[[str], bool] | None = None
    if only:
        chosen = frozenset(only)
        wanted = chosen.__contains__
    elif declared:
        wanted = manifest.is_declared
    pairs, bad, skipped = _parse(read_text(project.cwd / source, what=".env file",
                                           display=display, allow_pipe=True),
                                 manifest.guard.allow_env, wanted)
    if skipped:
        echo(f"skipped {len(skipped)} line(s) {'not named by --only' if only else 'not declared'}"
             f": {', '.join(skipped[:20])}{', …' if len(skipped) > 20 else ''}", err=True)
    missing = [n for n in only if n not in pairs]
    if missing:
        raise errors.InputError(f"{display}: no line for {', '.join(missing)} (--only); "
                                f"nothing was written",
                                hint=f"check the names, or add them to {display}")
    if bad:
        for line, message in bad:
            echo(f"{display}:{line}: {message}", err=True)
        echo(f"0/{len(pairs) + len(bad)} pushed from {display}: fix the lines above; "
                   f"nothing was written", err=True)
        return errors.PROBLEMS
    empty = [name for name, (_, value) in pairs.items() if not len(value)]
    to_push = {name: value for name, (_, value) in pairs.items() if len(value)}
    for name in empty:
        echo(f"skipped {name}: empty value", err=True)
    for note in manifest.undeclared_notes([n for n in to_push if n not in manifest.declared]):
        echo(f"warning: {note}", err=True)
    said: dict[str, str] = {}
    if to_push and not dry_run:
        # A value equal to the stored one is left as it is, byte for byte (its line, its age,
        # its marks), and a push that changes nothing rewrites nothing.
        with transaction(project, manifest) as draft:
            for name, value in to_push.items():
                said[name] = draft.set(name, value)
    for name in to_push:
        same = said.get(name, "set") != "set"
        echo(f"{'would push' if dry_run else '✓'} {name}" + (" (unchanged)" if same else ""))
    verb = "would be pushed" if dry_run else "pushed"
    echo(f"{len(to_push)}/{len(pairs)} {verb} from {display}")
    return errors.CLEAN


def pull(project: Project, out: Path | None, *, force: bool = False) -> int:
    """A names-only skeleton: never a value."""
    manifest = project.load_manifest()
    store = project.store_path(manifest)
    in_store = [n for n in read_names(store, project.display(store)) if n not in manifest.declared]
    sections = [("required", manifest.required), ("optional", manifest.optional),
                ("set in store", in_store)]
    text = "\n".join(f"# {title}\n" + "".join(f"{n}=\n" for n in group)
                     for title, group in sections if group)
    if out is None:
        echo(text, nl=False)
        return errors.CLEAN
    path = project.cwd / out
    write_output(path, text.encode("utf-8"), display=project.display(path), force=force)
    echo(f"wrote {project.display(path)} (names only)", err=True)
    return errors.CLEAN

"""`secrets edit`: the store's values in $EDITOR, as `sops FILE` edits a SOPS file.

The values go to a file in a private folder (0700 under $XDG_RUNTIME_DIR, which is memory on
most Linux systems, else a 0700 `mkdtemp`), 0600, removed afterwards whatever happens: also
when the terminal closes or the process is told to stop (SIGHUP, SIGTERM; SIGBREAK on
Windows), and a folder left by a process killed outright (SIGKILL, a crash) is removed by the
next `secrets edit`, which says so. What the editor leaves is applied all or nothing: every
line must parse, every name pass the name rules, no value be empty (unless --allow-empty).
Only what the user changed is applied, to the store as it is then: a name someone else
changed meanwhile is a conflict, nothing is written.
"""
from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kortix_guard import errors
from kortix_guard._out import echo
from kortix_guard.project import Project
from kortix_guard.secret import SecretValue
from kortix_guard.store.commands.env import bad_line, checked
from kortix_guard.store.core import open_trusted, transaction

PREFIX = "kortix-guard-edit-"

HEADER = ("# kortix-guard secrets edit: one NAME=value a line (dotenv quoting). Delete a line\n"
          "# to remove that secret. Save and quit to apply all of it, or quit without saving.\n")


def edit(project: Project, *, allow_empty: bool = False) -> int:
    manifest = project.load_manifest()
    store = project.store_path(manifest)
    display = project.display(store)
    opened, _ = open_trusted(project, manifest, writing=True)
    before = {name: value.reveal() for name, value in opened.values().items()}
    with _private_file() as path:
        text = HEADER + "".join(f"{n}={quote(v)}\n" for n, v in before.items())
        path.write_text(text, encoding="utf-8")
        _run_editor(path)
        edited = path.read_text(encoding="utf-8")
    if edited == text:
        echo("no change; the store is untouched")
        return errors.CLEAN
    after, bad = _parse(edited, manifest.guard.allow_env, allow_empty)
    if bad:
        for line, message in bad:
            echo(f"line {line}: {message}", err=True)
        echo("nothing was written: fix those lines and run `kortix-guard secrets edit` again",
             err=True)
        return errors.PROBLEMS
    changes = {n: after.get(n) for n in {*before, *after} if before.get(n) != after.get(n)}
    if not changes:
        echo("no change; the store is untouched")
        return errors.CLEAN
    with transaction(project, manifest) as draft:
        now = {n: draft.opened.value(n).reveal() for n in changes if n in draft.entries}
        moved = sorted(n for n in changes if now.get(n) != before.get(n))
        if moved:
            raise errors.StoreError(f"{', '.join(moved)} changed in {display} while you edited; "
                                    f"nothing was written",
                                    hint="run `kortix-guard secrets edit` again")
        for name, value in sorted(changes.items()):
            if value is None:
                draft.remove(name)
            else:
                draft.set(name, SecretValue(value))
    for name, value in sorted(changes.items()):
        echo(f"{'removed' if value is None else '✓'} {name}")
    for name in sorted(n for n in after if n not in manifest.declared and n in changes):
        echo(f"warning: {manifest.undeclared(name)}", err=True)
    echo(f"{len(changes)} change(s) written to {display}")
    return errors.CLEAN


def quote(value: str) -> str:
    """A value as python-dotenv reads it back unchanged: bare when it is plain, else in double
    quotes with `\\`, `"` and line ends escaped."""
    if value and all(c.isalnum() or c in "-_./:@+,=%" for c in value):
        return value
    escaped = (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\r", "\\r").replace("\t", "\\t"))
    return f'"{escaped}"'


def _parse(text: str, allow: frozenset[str], allow_empty: bool
           ) -> tuple[dict[str, str], list[tuple[int, str]]]:
    values: dict[str, str] = {}
    bad: list[tuple[int, str]] = []
    for line, name, secret, problems in checked(text, allow):
        if name is not None:
            value = secret.reveal()
            if not value and not allow_empty:
                problems.append("empty value (delete the line to remove the secret, or "
                                "--allow-empty)")
            if name in values:
                problems.append("given twice")
            values[name] = value
        if problems:
            bad.append(bad_line(line, name, problems))
    return values, bad


def _parent() -> str | None:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return runtime if runtime and os.path.isdir(runtime) else None


def _clear_leftovers() -> None:
    """Folders an earlier `secrets edit` of this user left when it was killed outright."""
    parent = Path(_parent() or tempfile.gettempdir())
    left = []
    for folder in parent.glob(PREFIX + "*"):
        try:
            info = folder.lstat()
        except OSError:
            continue
        if folder.is_dir() and not folder.is_symlink() and (
                sys.platform == "win32" or info.st_uid == os.getuid()):
            shutil.rmtree(folder, ignore_errors=True)
            left.append(folder)
    if left:
        echo(f"kortix-guard: removed {len(left)} folder(s) an earlier `secrets edit` left with "
             f"values in clear when it was killed: {', '.join(map(str, left))}", err=True)


_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGHUP", "SIGTERM", "SIGBREAK")
                      if hasattr(signal, name))


@contextmanager
def _private_file() -> Iterator[Path]:
    _clear_leftovers()
    folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=_parent()))  # 0700
    path = folder / "secrets.env"

    def stop(signum: int, _frame: object) -> None:
        # A closed terminal or a dropped SSH session: the values never outlive the process.
        shutil.rmtree(folder, ignore_errors=True)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    previous = {signum: signal.signal(signum, stop) for signum in _STOP_SIGNALS}
    try:
        path.touch(mode=0o600)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _run_editor(path: Path) -> None:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        argv = [*shlex.split(editor), str(path)]
        code = subprocess.call(argv)
    except (OSError, ValueError) as e:
        raise errors.UsageError(f"cannot start the editor {editor!r} ({type(e).__name__}); "
                                f"nothing was written",
                                hint="set EDITOR (e.g. `export EDITOR=nano`)") from None
    if code != 0:
        raise errors.InputError(f"the editor {editor!r} exited with {code}; nothing was written",
                                hint="run `kortix-guard secrets edit` again")
